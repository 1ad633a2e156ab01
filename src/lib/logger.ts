import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';
import { scrubText } from './normalize.ts';

export type { Logger } from 'pino';

/** Paths pino removes outright: credentials and personal data by field name. */
export const REDACT_PATHS = [
  'apiKey',
  '*.apiKey',
  '*.*.apiKey',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'headers["x-apikey"]',
  'headers.authorization',
  '*.headers["x-apikey"]',
  '*.headers.authorization',
  'req.headers["x-apikey"]',
  'req.headers.authorization',
  'req.headers["x-shopify-hmac-sha256"]',
  'req.headers["x-wc-webhook-signature"]',
  'req.headers["x-signature"]',
  'phone',
  '*.phone',
  '*.*.phone',
  'mobilePhone',
  '*.mobilePhone',
  '*.*.mobilePhone',
  'email',
  '*.email',
  '*.*.email',
];

export interface CreateLoggerOptions {
  /** pino level; default `info`. */
  level?: string;
  /** Pretty output for a terminal; default false (JSON lines). */
  pretty?: boolean;
  /** Where lines go; default stdout. Tests pass a stream to capture every line. */
  destination?: DestinationStream;
  /** Values that must never appear (API keys, tokens, secrets): replaced wherever they occur. */
  secrets?: readonly string[];
}

const MAX_DEPTH = 6;

function scrubValue(value: unknown, secrets: readonly string[], depth: number): unknown {
  // Errors have no enumerable fields: serialize them first so message and stack survive.
  if (value instanceof Error) return scrubValue(pino.stdSerializers.err(value), secrets, depth);
  if (typeof value === 'string') {
    let out = value;
    for (const s of secrets) if (s.length >= 4 && out.includes(s)) out = out.split(s).join('[secret]');
    return scrubText(out);
  }
  if (depth >= MAX_DEPTH || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, secrets, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubValue(v, secrets, depth + 1);
  return out;
}

/**
 * The one root logger of a process. Besides pino's path redaction, every string in a log line
 * (messages, error messages, URLs) is scrubbed of phones, emails and the configured secrets.
 */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const secrets = (options.secrets ?? []).filter((s) => s.length > 0);
  const pinoOptions: LoggerOptions = {
    level: options.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      err: (err: unknown) => scrubValue(pino.stdSerializers.err(err as Error), secrets, 0),
    },
    formatters: {
      log: (obj) => scrubValue(obj, secrets, 0) as Record<string, unknown>,
    },
    hooks: {
      logMethod(args, method) {
        const scrubbed = args.map((a) => (typeof a === 'string' ? (scrubValue(a, secrets, 0) as string) : a));
        method.apply(this, scrubbed as Parameters<typeof method>);
      },
    },
  };
  if (options.destination) return pino(pinoOptions, options.destination);
  if (options.pretty) {
    return pino({ ...pinoOptions, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  return pino(pinoOptions);
}
