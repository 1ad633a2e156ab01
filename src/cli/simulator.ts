import { formatRateLimits, parseRateLimits, type RateWindow } from '../lib/config.ts';
import { createLogger } from '../lib/logger.ts';
import { createSimulator, parseFaultSpec, type FaultRule, type SimulatorOptions } from '../simulator/index.ts';
import { writeLine, type CliContext } from './context.ts';

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

function wholeNumber(raw: unknown, flag: string, min: number, max: number, problems: string[]): number {
  const text = typeof raw === 'string' ? raw.trim() : String(raw);
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    problems.push(`${flag} must be a whole number from ${min} to ${max} (got "${text}")`);
    return min;
  }
  return n;
}

/** Reads the flags into simulator options; every problem is reported, not just the first. */
export function simulatorOptionsFromFlags(
  opts: Readonly<Record<string, unknown>>,
  env: CliContext['env'] = {},
): { options: SimulatorOptions; problems: string[] } {
  const problems: string[] = [];
  const port = wholeNumber(opts.port, '--port', 0, 65_535, problems);
  const seed = wholeNumber(opts.seed, '--seed', 0, 1_000_000, problems);
  const randomSeed = wholeNumber(opts.randomSeed, '--random-seed', 0, 4_294_967_295, problems);
  const host = typeof opts.host === 'string' && opts.host.length > 0 ? opts.host : '127.0.0.1';
  // Defaults from the environment are resolved here, not given to commander, so --help never shows a key.
  const apiKey = typeof opts.apiKey === 'string' ? opts.apiKey : (env.AIQ_API_KEY ?? 'sim-key');
  if (apiKey.trim().length === 0) problems.push('--api-key must not be empty');
  const uid = typeof opts.uid === 'string' ? opts.uid : (env.AIQ_UID ?? '1234');
  if (!/^\d{1,20}$/.test(uid)) problems.push(`--uid must be the numeric user ID (got "${uid}")`);
  let limits: RateWindow[] | undefined;
  if (typeof opts.limits === 'string') {
    try {
      limits = parseRateLimits(opts.limits);
    } catch (err) {
      problems.push(`--limits: ${(err as Error).message}`);
    }
  }
  const faults: FaultRule[] = [];
  for (const spec of Array.isArray(opts.fault) ? opts.fault : []) {
    try {
      faults.push(parseFaultSpec(String(spec)));
    } catch (err) {
      problems.push(`--fault ${(err as Error).message}`);
    }
  }
  const options: SimulatorOptions = { port, host, apiKey, uid, seed, randomSeed, retryAfter: opts.retryAfter !== false, faults };
  if (limits) options.limits = limits;
  return { options, problems };
}

export async function runSimulator(ctx: CliContext, opts: Readonly<Record<string, unknown>>): Promise<void> {
  const { options, problems } = simulatorOptionsFromFlags(opts, ctx.env);
  if (problems.length > 0) {
    for (const p of problems) writeLine(ctx.stderr, `aiq-sync simulator: ${p}`);
    ctx.setExitCode(2);
    return;
  }
  const level = ctx.env.LOG_LEVEL !== undefined && LOG_LEVELS.has(ctx.env.LOG_LEVEL) ? ctx.env.LOG_LEVEL : 'info';
  const logger = createLogger({ level, destination: ctx.stderr, secrets: [options.apiKey ?? ''] });
  let sim;
  try {
    sim = await createSimulator({ ...options, logger });
  } catch (err) {
    writeLine(ctx.stderr, `aiq-sync simulator: cannot start: ${(err as Error).message}`);
    ctx.setExitCode(1);
    return;
  }
  const limits = options.limits ? formatRateLimits(options.limits) : 'unlimited';
  writeLine(
    ctx.stdout,
    `aiq-sync simulator listening on ${sim.url} (uid ${options.uid ?? ''}, ${options.seed ?? 0} personas, limits ${limits}, ${options.faults?.length ?? 0} fault rules)`,
  );
  // Unregistered only after closing: while a handler is registered, a signal does not exit the process.
  let off: (() => void) | undefined;
  await new Promise<void>((resolve) => {
    off = ctx.onSignal(() => resolve());
  });
  await sim.close();
  off?.();
  logger.info('simulator stopped');
}
