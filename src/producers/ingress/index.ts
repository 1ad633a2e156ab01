export { createIngress, startIngress, type CreateIngressOptions, type RunningIngress, type StartIngressOptions } from './server.ts';
export type { IngressApp } from './deps.ts';
export { createBearerAuth, type AuthHook } from './auth.ts';
export { base64Hmac, timestampedSignature, TIMESTAMP_TOLERANCE_S } from './signatures.ts';
export { BODY_LIMIT_BYTES, type ErrorBody } from './errors.ts';
