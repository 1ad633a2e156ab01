import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Config } from '../../lib/config.ts';
import { PayloadInvalidError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import type { RedisClient } from '../../lib/redis.ts';
import type { Producer } from '../producer.ts';
import { registerApiRoutes } from './api-routes.ts';
import type { IngressApp, IngressDeps } from './deps.ts';
import { BODY_LIMIT_BYTES, handleError, handleNotFound, sendInvalid, sendTooLarge, sendUnavailable } from './errors.ts';
import { registerHealthRoutes } from './health-routes.ts';
import { parseJsonBody } from './json.ts';
import { registerWebhookRoutes } from './webhook-routes.ts';

export interface CreateIngressOptions {
  producer: Producer;
  /** The producer-role Redis connection (fails fast): /readyz pings it, and a request is answered 503 at once while it is down. */
  redis: RedisClient;
  /** Uses `config.ingress` (tokens, secrets, address). */
  config: Readonly<Config>;
  logger: Logger;
  /**
   * Adds routes and hooks in the root scope, before the contract's routes (/metrics, the
   * dashboard, the admin DLQ routes), so a hook it adds sees every request.
   */
  registerExtra?: (app: IngressApp) => void | Promise<void>;
  /** Time to receive a whole request, ms; default 30 000 (Node's own default is 5 minutes). */
  requestTimeoutMs?: number;
  /** How long /readyz waits for Redis to answer PING, ms; default 1 000. */
  readyTimeoutMs?: number;
}

/** Fastify's marker (what fastify-plugin sets): the plugin shares its parent's scope. */
function inParentScope<T extends object>(plugin: T): T {
  return Object.assign(plugin, { [Symbol.for('skip-override')]: true });
}

/** 413 from Content-Length alone, before a byte of the body is read. */
async function refuseOversized(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
  const length = request.headers['content-length'];
  if (length !== undefined && Number(length) > BODY_LIMIT_BYTES) return sendTooLarge(reply);
  return undefined;
}

async function logResponse(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  // Route template and status only: never the URL's query, headers or body.
  request.log.debug({ method: request.method, route: request.routeOptions.url ?? null, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
}

/**
 * The HTTP ingress (design.md, "HTTP ingress"), built but not listening. JSON bodies only, at
 * most 1 MiB; prototype-polluting keys are refused; every error has the contract's body.
 */
export function createIngress(options: CreateIngressOptions): IngressApp {
  // The logger type is widened to fastify's own, so every scope has the same instance type.
  const app: IngressApp = Fastify<Server, IncomingMessage, ServerResponse, FastifyBaseLogger>({
    loggerInstance: options.logger,
    // Fastify's own per-request lines are replaced by logResponse (route template, no URL).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT_BYTES,
    // For fastify's own JSON parser, should a scope add it back; ours (json.ts) applies the same rules.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    // Requests arriving while closing are answered by refuseWhileClosing, with the contract's body.
    return503OnClosing: false,
    frameworkErrors: (err, request, reply) => {
      if (err.code === 'FST_ERR_BAD_URL') return sendInvalid(reply, [{ path: '', message: 'malformed URL' }]);
      return handleError(err, request, reply);
    },
  });
  const deps: IngressDeps = {
    producer: options.producer,
    redis: options.redis,
    config: options.config,
    readyTimeoutMs: options.readyTimeoutMs ?? 1_000,
  };

  app.setErrorHandler(handleError);
  app.setNotFoundHandler(handleNotFound);
  // JSON only: any other content type (text/plain included) is a 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
    const parsed = parseJsonBody(body as Buffer);
    if (parsed.ok) done(null, parsed.value);
    else done(new PayloadInvalidError([{ path: '', message: parsed.message }]), undefined);
  });
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  // A request on a kept-alive connection while closing: 503 with the contract's body.
  const refuseWhileClosing = async (_request: FastifyRequest, reply: FastifyReply) => (closing ? sendUnavailable(reply.header('connection', 'close')) : undefined);
  app.addHook('onRequest', refuseWhileClosing);
  app.addHook('onRequest', refuseOversized);
  app.addHook('onResponse', logResponse);

  const extra = options.registerExtra;
  if (extra) app.register(inParentScope(async (root: IngressApp) => extra(root)));
  app.register(async (scope) => registerHealthRoutes(scope, deps));
  app.register(async (scope) => registerApiRoutes(scope, deps));
  registerWebhookRoutes(app, deps);
  return app;
}

export interface StartIngressOptions extends CreateIngressOptions {
  /** Default `config.ingress.host`. */
  host?: string;
  /** Default `config.ingress.port`; 0 picks a free port. */
  port?: number;
}

export interface RunningIngress {
  /** `http://host:port` it listens on. */
  url: string;
  app: IngressApp;
  /** Stops listening and waits for in-flight requests; `force` also drops open connections. Idempotent. */
  close(options?: { force?: boolean }): Promise<void>;
}

/** Builds the ingress and listens on `config.ingress.host`/`port` (or the given ones). */
export async function startIngress(options: StartIngressOptions): Promise<RunningIngress> {
  const app = createIngress(options);
  let url: string;
  try {
    url = await app.listen({ host: options.host ?? options.config.ingress.host, port: options.port ?? options.config.ingress.port });
  } catch (err) {
    await app.close();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    url,
    app,
    close(closeOptions = {}) {
      if (closeOptions.force) app.server.closeAllConnections();
      closing ??= app.close();
      return closing;
    },
  };
}
