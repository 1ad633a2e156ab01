import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../lib/logger.ts';
import { createRouter, type ApiResult, type RouteMatch } from './api.ts';
import { handleControl } from './control-http.ts';
import type { SimulatorCore } from './core.ts';
import { SimulatorError } from './errors.ts';
import { drawFaults } from './faults.ts';
import { errorBody, parseJson, readBody, sendJson, splitUrl } from './http.ts';
import { retryAfterSeconds } from './rate-limit.ts';
import { API_ROUTES } from './routes.ts';
import type { AccountState } from './state.ts';
import type { SimulatorControl } from './types.ts';

export const INVALID_KEY_MESSAGE = 'Please provide a valid API key';

export interface StartServerOptions {
  core: SimulatorCore;
  control: SimulatorControl;
  host: string;
  port: number;
  logger: Logger | undefined;
}

export interface RunningServer {
  port: number;
  close(): Promise<void>;
}

function isControlPath(path: string): boolean {
  return path === '/_sim' || path.startsWith('/_sim/');
}

/**
 * The HTTP side: node:http directly, so a dropped connection is exactly a destroyed socket.
 * Order for an API request: route match, API key (403), rate windows (429), unknown route (404),
 * uid of the path (403), body, faults, handler, ledger.
 */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const { core, control, logger } = options;
  const route = createRouter(API_ROUTES);
  const sockets = new Set<Socket>();
  const sleepers = new Set<() => void>();
  let closing = false;

  /** A delay that close() cuts short, so no timer outlives the server. */
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (closing) return resolve();
      const wake = (): void => {
        clearTimeout(timer);
        sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      sleepers.add(wake);
    });

  const answer = (res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void => {
    core.answered(status);
    sendJson(res, status, body, headers);
  };

  const failure = (err: unknown): { status: number; body: unknown } => {
    if (err instanceof SimulatorError) return { status: err.status, body: errorBody(err.message) };
    logger?.error({ err }, 'simulator: unexpected error');
    return { status: 500, body: errorBody('internal error') };
  };

  const execute = (match: RouteMatch, account: AccountState, method: string, query: URLSearchParams, text: string): ApiResult => {
    const body = method === 'GET' ? undefined : parseJson(text);
    const result = match.def.handler({ account, params: match.params, query, body, method, now: core.clock() });
    if (result.applied && result.status < 300) {
      core.record({ uid: account.uid, route: match.def.name, method, ...result.applied });
    }
    return result;
  };

  const onControl = async (req: IncomingMessage, res: ServerResponse, method: string, path: string, query: URLSearchParams): Promise<void> => {
    try {
      const body = parseJson(await readBody(req));
      const out = handleControl(control, method, path, query, body);
      sendJson(res, out.status, { success: true, data: out.data });
    } catch (err) {
      const f = failure(err);
      sendJson(res, f.status, f.body);
    }
  };

  const onApi = async (req: IncomingMessage, res: ServerResponse, method: string, path: string, query: URLSearchParams): Promise<void> => {
    let match: RouteMatch | undefined;
    let matchError: unknown;
    try {
      match = route(method, path);
    } catch (err) {
      matchError = err;
    }
    const routeName = match?.def.name ?? 'unknown';
    core.arrived(routeName);
    const key = req.headers['x-apikey'];
    const account = core.accountByKey(typeof key === 'string' ? key : undefined);
    if (!account) return answer(res, 403, errorBody(INVALID_KEY_MESSAGE));
    const decision = core.limiterOf(account)?.tryAcquire(core.clock()) ?? { allowed: true };
    if (!decision.allowed) {
      const headers: Record<string, string> = core.retryAfter ? { 'retry-after': String(retryAfterSeconds(decision.retryAfterMs)) } : {};
      return answer(res, 429, errorBody('Too many requests'), headers);
    }
    if (matchError !== undefined) {
      const f = failure(matchError);
      return answer(res, f.status, f.body);
    }
    if (!match) return answer(res, 404, errorBody(`no route ${method} ${path}`));
    const uid = match.params.uid;
    if (uid !== undefined && uid !== account.uid) return answer(res, 403, errorBody(`the API key does not belong to user ${uid}`));
    let text: string;
    try {
      text = await readBody(req);
    } catch (err) {
      if (err instanceof SimulatorError) return answer(res, err.status, errorBody(err.message));
      return; // the client went away before sending its body: nothing to apply
    }
    const plan = drawFaults(core.faults, core.faultRng, routeName, method);
    if (plan.delayMs > 0) {
      logger?.debug({ route: routeName, delayMs: plan.delayMs }, 'simulator fault: latency');
      await sleep(plan.delayMs);
    }
    if (closing) return void req.socket.destroy();
    const outcome = plan.outcome;
    if (outcome?.kind === 'error5xx') {
      logger?.debug({ route: routeName, status: outcome.status }, 'simulator fault: 5xx before applying');
      return answer(res, outcome.status, errorBody('Service temporarily unavailable (simulated)'));
    }
    let status: number;
    let body: unknown;
    try {
      const result = execute(match, account, method, query, text);
      status = result.status;
      body = { success: true, data: result.data };
    } catch (err) {
      ({ status, body } = failure(err));
    }
    if (outcome?.kind === 'applyThenDrop') {
      logger?.debug({ route: routeName }, 'simulator fault: applied, dropping the connection');
      core.answered('dropped');
      return void req.socket.destroy();
    }
    if (outcome?.kind === 'applyThenLate') {
      logger?.debug({ route: routeName, delayMs: outcome.delayMs }, 'simulator fault: applied, answering late');
      await sleep(outcome.delayMs);
      if (closing) return void req.socket.destroy();
    }
    answer(res, status, body);
  };

  const server = createServer((req, res) => {
    const method = (req.method ?? 'GET').toUpperCase();
    const { path, query } = splitUrl(req.url ?? '/');
    const handled = isControlPath(path) ? onControl(req, res, method, path, query) : onApi(req, res, method, path, query);
    handled.catch((err: unknown) => {
      logger?.error({ err }, 'simulator: request failed');
      if (!res.headersSent) sendJson(res, 500, errorBody('internal error'));
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;

  let closed: Promise<void> | undefined;
  return {
    port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing = true;
        server.close(() => resolve());
        for (const wake of [...sleepers]) wake();
        for (const socket of sockets) socket.destroy();
      });
      return closed;
    },
  };
}
