import { loadConfig, type Config, type ConfigRole } from '../lib/config.ts';
import { ConfigError, RedisUnavailableError } from '../lib/errors.ts';
import { createLogger, type Logger } from '../lib/logger.ts';
import { writeLine, type CliContext } from './context.ts';

/** Exit codes of every command. */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** Loads the configuration; on errors writes one line naming every problem and returns null (exit 2). */
export function loadCliConfig(ctx: CliContext, command: string, roles: readonly ConfigRole[] = []): Readonly<Config> | null {
  try {
    return loadConfig(ctx.env, { roles });
  } catch (err) {
    if (err instanceof ConfigError) {
      writeLine(ctx.stderr, `aiq-sync ${command}: ${err.message}`);
      ctx.setExitCode(EXIT.usage);
      return null;
    }
    throw err;
  }
}

/** Every credential the process knows, so the logger can scrub them wherever they appear. */
export function secretsOf(config: Readonly<Config>): string[] {
  const list = [
    ...Object.values(config.aiq.accounts).map((a) => a.apiKey),
    ...config.ingress.tokens,
    config.ingress.adminToken,
    config.ingress.webhookSecret,
    config.ingress.shopifySecret,
    config.ingress.woocommerceSecret,
  ];
  return list.filter((s): s is string => typeof s === 'string' && s.length > 0);
}

/** The process's root logger: JSON lines, pretty on a terminal, secrets scrubbed. Logs go to stderr for commands whose stdout is data. */
export function createCliLogger(ctx: CliContext, config: Readonly<Config>, options: { toStderr?: boolean } = {}): Logger {
  if (options.toStderr) return createLogger({ level: config.logLevel, secrets: secretsOf(config), destination: ctx.stderr });
  return createLogger({ level: config.logLevel, pretty: ctx.isTTY, secrets: secretsOf(config) });
}

/** One clear line for the errors a command expects (Redis down, bad input); rethrows the rest. */
export function reportFailure(ctx: CliContext, command: string, err: unknown): void {
  if (err instanceof RedisUnavailableError || err instanceof ConfigError) {
    writeLine(ctx.stderr, `aiq-sync ${command}: ${err.message}`);
    ctx.setExitCode(err instanceof ConfigError ? EXIT.usage : EXIT.failed);
    return;
  }
  writeLine(ctx.stderr, `aiq-sync ${command}: ${err instanceof Error ? err.message : String(err)}`);
  ctx.setExitCode(EXIT.failed);
}

/**
 * Resolves when the first SIGINT/SIGTERM arrives; `onForce` runs on the second one.
 */
export function waitForSignal(ctx: CliContext, onForce: () => void): Promise<void> {
  return new Promise((resolve) => {
    let first = true;
    ctx.onSignal((force) => {
      if (first && !force) {
        first = false;
        resolve();
      } else {
        onForce();
      }
    });
  });
}
