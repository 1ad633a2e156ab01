import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { optInSchema, parseWith, type OptInRequest } from '../schemas.ts';
import { assertRedisReady, type IngressApp, type IngressDeps } from './deps.ts';
import { sendInvalid, sendUnauthorized, sendUnsupportedMediaType } from './errors.ts';
import { parseJsonBody } from './json.ts';
import { decideShopify } from './shopify.ts';
import { headerValue, verifyBase64Hmac, verifyTimestampedSignature } from './signatures.ts';
import type { WebhookDecision } from './webhook-decision.ts';
import { decideWooCommerce, WOOCOMMERCE_PING } from './woocommerce.ts';

/** A webhook body as received: signatures are computed over these exact bytes. */
interface RawBody {
  mediaType: 'json' | 'form';
  raw: Buffer;
}

const EMPTY: RawBody = { mediaType: 'json', raw: Buffer.alloc(0) };

function isRawBody(value: unknown): value is RawBody {
  return value !== null && typeof value === 'object' && Buffer.isBuffer((value as { raw?: unknown }).raw);
}

/** A request without a body (no Content-Type, no length) reaches the handler with none: an empty one. */
function rawOf(body: unknown): RawBody {
  return isRawBody(body) ? body : EMPTY;
}

/**
 * Webhook scopes keep the raw bytes instead of parsed JSON: the signature is checked first,
 * and the body is parsed only once it is known to come from the vendor.
 */
function keepRawBodies(scope: IngressApp, options: { form: boolean }): void {
  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
    done(null, { mediaType: 'json', raw: body as Buffer } satisfies RawBody);
  });
  if (options.form) {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, (_request, body, done) => {
      done(null, { mediaType: 'form', raw: body as Buffer } satisfies RawBody);
    });
  }
}

function refuse(request: FastifyRequest, reply: FastifyReply, reason: string): FastifyReply {
  request.log.info({ route: request.routeOptions.url, reason }, 'webhook refused: signature');
  return sendUnauthorized(reply);
}

async function enqueueOptIn(deps: IngressDeps, reply: FastifyReply, optIn: OptInRequest): Promise<FastifyReply> {
  assertRedisReady(deps.redis);
  const { idempotencyKey, jobId, status } = await deps.producer.enqueueOptIn(optIn);
  return reply.code(202).send({ idempotencyKey, jobId, status });
}

async function answer(deps: IngressDeps, reply: FastifyReply, log: FastifyBaseLogger, decision: WebhookDecision): Promise<FastifyReply> {
  switch (decision.kind) {
    case 'invalid':
      return sendInvalid(reply, decision.issues);
    case 'ignored':
      log.debug({ reason: decision.reason }, 'webhook ignored: nothing to opt in');
      return reply.code(200).send({ status: 'ignored', reason: decision.reason });
    case 'optin':
      return enqueueOptIn(deps, reply, decision.optIn);
  }
}

/** `POST /v1/webhooks/shopify`: `X-Shopify-Hmac-Sha256` over the raw body. */
function registerShopify(scope: IngressApp, deps: IngressDeps, secret: string): void {
  keepRawBodies(scope, { form: false });
  scope.post('/v1/webhooks/shopify', async (request, reply) => {
    const { raw } = rawOf(request.body);
    if (!verifyBase64Hmac(secret, raw, headerValue(request.headers['x-shopify-hmac-sha256']))) return refuse(request, reply, 'bad or missing X-Shopify-Hmac-Sha256');
    const json = parseJsonBody(raw);
    if (!json.ok) return sendInvalid(reply, [{ path: '', message: json.message }]);
    const decision = decideShopify(
      { topic: headerValue(request.headers['x-shopify-topic']), webhookId: headerValue(request.headers['x-shopify-webhook-id']), body: json.value },
      { singleOptInDouble: deps.config.ingress.shopifySingleOptInDouble },
    );
    return answer(deps, reply, request.log, decision);
  });
}

/** `POST /v1/webhooks/woocommerce`: `X-WC-Webhook-Signature` over the raw body; the creation ping is answered 200. */
function registerWooCommerce(scope: IngressApp, deps: IngressDeps, secret: string): void {
  keepRawBodies(scope, { form: true });
  scope.post('/v1/webhooks/woocommerce', async (request, reply) => {
    const body = rawOf(request.body);
    if (body.mediaType === 'form') {
      // WooCommerce pings a new webhook with an unsigned `webhook_id=N`; it only needs a 2xx.
      if (WOOCOMMERCE_PING.test(body.raw.toString('latin1').trim())) return reply.code(200).send({ status: 'ignored', reason: 'ping' });
      return sendUnsupportedMediaType(reply);
    }
    if (!verifyBase64Hmac(secret, body.raw, headerValue(request.headers['x-wc-webhook-signature']))) return refuse(request, reply, 'bad or missing X-WC-Webhook-Signature');
    const json = parseJsonBody(body.raw);
    if (!json.ok) return sendInvalid(reply, [{ path: '', message: json.message }]);
    const decision = decideWooCommerce(
      { topic: headerValue(request.headers['x-wc-webhook-topic']), deliveryId: headerValue(request.headers['x-wc-webhook-delivery-id']), body: json.value },
      { consentField: deps.config.ingress.woocommerceConsentField, doubleOptIn: deps.config.ingress.woocommerceDoubleOptIn },
    );
    return answer(deps, reply, request.log, decision);
  });
}

/** `POST /v1/webhooks/optin`: `X-Timestamp` (±5 min) and `X-Signature: sha256=<hex>` over `timestamp.body`. */
function registerGenericOptIn(scope: IngressApp, deps: IngressDeps, secret: string): void {
  keepRawBodies(scope, { form: false });
  scope.post('/v1/webhooks/optin', async (request, reply) => {
    const { raw } = rawOf(request.body);
    const check = verifyTimestampedSignature({
      secret,
      raw,
      timestamp: headerValue(request.headers['x-timestamp']),
      signature: headerValue(request.headers['x-signature']),
    });
    if (!check.ok) return refuse(request, reply, check.reason);
    const json = parseJsonBody(raw);
    if (!json.ok) return sendInvalid(reply, [{ path: '', message: json.message }]);
    const parsed = parseWith(optInSchema, json.value);
    if (!parsed.ok) return sendInvalid(reply, parsed.issues);
    return enqueueOptIn(deps, reply, parsed.value);
  });
}

/**
 * The signed webhooks, each in its own scope (raw-body parsers). A webhook whose secret is not
 * configured is not registered at all, so it answers 404 like any unknown route.
 */
export function registerWebhookRoutes(app: IngressApp, deps: IngressDeps): void {
  const { shopifySecret, woocommerceSecret, webhookSecret } = deps.config.ingress;
  if (shopifySecret !== undefined) app.register(async (scope) => registerShopify(scope, deps, shopifySecret));
  if (woocommerceSecret !== undefined) app.register(async (scope) => registerWooCommerce(scope, deps, woocommerceSecret));
  if (webhookSecret !== undefined) app.register(async (scope) => registerGenericOptIn(scope, deps, webhookSecret));
}
