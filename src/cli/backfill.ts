import { stat } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import cliProgress from 'cli-progress';
import { createApp, type App } from '../app.ts';
import { loadConfig, type Config } from '../lib/config.ts';
import { ConfigError } from '../lib/errors.ts';
import { createLogger } from '../lib/logger.ts';
import {
  BACKFILL_FORMATS,
  formatFromPath,
  formatSummary,
  parseColumnMap,
  runBackfill,
  type BackfillFormat,
  type BackfillProgress,
  type BackfillStart,
  type RunBackfillOptions,
} from '../producers/backfill.ts';
import { accountName } from '../producers/schemas.ts';
import { writeLine, type CliContext } from './context.ts';

type FlagOptions = Omit<RunBackfillOptions, 'producer' | 'redis' | 'keys' | 'signal' | 'onStart' | 'onProgress'>;

/** Reads the flags; every problem is reported, not just the first. */
export function backfillOptionsFromFlags(file: string, opts: Readonly<Record<string, unknown>>): { options: FlagOptions; problems: string[] } {
  const problems: string[] = [];
  const options: FlagOptions = { file };
  if (opts.format !== undefined) {
    if (BACKFILL_FORMATS.includes(opts.format as BackfillFormat)) options.format = opts.format as BackfillFormat;
    else problems.push(`--format must be csv or ndjson (got "${String(opts.format)}")`);
  } else if (formatFromPath(file) === undefined) {
    problems.push(`cannot tell the format of ${file} from its extension (.csv, .ndjson, .jsonl): give --format csv|ndjson`);
  }
  if (typeof opts.map === 'string') {
    try {
      options.columnMap = parseColumnMap(opts.map);
    } catch (err) {
      problems.push(`--map: ${(err as Error).message}`);
    }
  }
  if (typeof opts.versionColumn === 'string') {
    if (opts.versionColumn.trim().length === 0) problems.push('--version-column must not be empty');
    else options.versionColumn = opts.versionColumn.trim();
  }
  if (typeof opts.account === 'string') {
    if (accountName.safeParse(opts.account).success) options.account = opts.account;
    else problems.push(`--account must be an account name (a-z, 0-9, _ and -, at most 32; got "${opts.account}")`);
  }
  if (typeof opts.rejects === 'string') {
    if (opts.rejects.length === 0) problems.push('--rejects must not be empty');
    else options.rejectsPath = opts.rejects;
  }
  if (opts.checkpointEvery !== undefined) {
    const text = String(opts.checkpointEvery).trim();
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < 1 || n > 10_000_000) problems.push(`--checkpoint-every must be a whole number from 1 to 10000000 (got "${text}")`);
    else options.checkpointEvery = n;
  }
  if (opts.restart === true) options.restart = true;
  return { options, problems };
}

interface ProgressView {
  start(info: BackfillStart): void;
  update(p: BackfillProgress): void;
  stop(): void;
}

const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;

/** A bar on a terminal; otherwise a progress line about every 2 s (logs and CI stay readable). */
function createProgressView(stderr: Writable, tty: boolean): ProgressView {
  const started = Date.now();
  let lastLine = 0;
  let bar: cliProgress.SingleBar | undefined;
  const rate = (p: BackfillProgress) => Math.round(p.rowsThisRun / Math.max(0.001, (Date.now() - started) / 1000));
  return {
    start(info) {
      if (info.resumedRows > 0) writeLine(stderr, `backfill: resuming after ${info.resumedRows} rows (checkpoint of ${info.file.path})`);
      if (info.startedOver === 'settings changed') writeLine(stderr, 'backfill: the checkpoint was made with other settings: starting over');
      if (!tty) return;
      bar = new cliProgress.SingleBar(
        { stream: stderr, format: 'backfill |{bar}| {percentage}% | {rows} rows | {rate} rows/s | ETA {eta_formatted}', hideCursor: true, etaBuffer: 50, fps: 5 },
        cliProgress.Presets.shades_classic,
      );
      bar.start(Math.max(1, info.file.size), 0, { rows: info.resumedRows, rate: 0 });
    },
    update(p) {
      if (bar) {
        bar.update(p.bytesRead, { rows: p.counts.read, rate: rate(p) });
        return;
      }
      if (Date.now() - lastLine < 2_000) return;
      lastLine = Date.now();
      const pct = p.totalBytes === 0 ? 100 : Math.floor((p.bytesRead / p.totalBytes) * 100);
      const what = p.phase === 'skipping' ? 'skipping to the checkpoint' : `${p.counts.read} rows, ${rate(p)} rows/s`;
      writeLine(stderr, `backfill: ${pct}% of ${mb(p.totalBytes)}, ${what} (${formatSummary(p.counts)})`);
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}

export async function runBackfillCommand(ctx: CliContext, file: string, opts: Readonly<Record<string, unknown>>): Promise<void> {
  const fail = (code: number, message: string) => {
    writeLine(ctx.stderr, `aiq-sync backfill: ${message}`);
    ctx.setExitCode(code);
  };
  const { options, problems } = backfillOptionsFromFlags(file, opts);
  if (problems.length > 0) {
    for (const p of problems) writeLine(ctx.stderr, `aiq-sync backfill: ${p}`);
    ctx.setExitCode(2);
    return;
  }
  let config: Readonly<Config>;
  try {
    config = loadConfig(ctx.env);
  } catch (err) {
    if (err instanceof ConfigError) return fail(2, err.message);
    throw err;
  }
  try {
    if (!(await stat(file)).isFile()) return fail(1, `${file} is not a file`);
  } catch (err) {
    return fail(1, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }

  const logger = createLogger({ level: config.logLevel, destination: ctx.stderr });
  const stop = new AbortController();
  const off = ctx.onSignal(() => stop.abort());
  const view = createProgressView(ctx.stderr, (ctx.stderr as Writable & { isTTY?: boolean }).isTTY === true);
  let app: App | undefined;
  try {
    app = createApp({ config, logger });
    await app.start();
    const result = await runBackfill({
      ...options,
      producer: app.producer,
      redis: app.redis,
      keys: app.keys,
      signal: stop.signal,
      onStart: (info) => view.start(info),
      onProgress: (p) => view.update(p),
    });
    view.stop();
    if (result.status === 'interrupted') {
      fail(130, `interrupted; checkpoint saved after ${result.counts.read} rows (${formatSummary(result.counts)}); run again to resume`);
    } else {
      if (result.counts.rejected > 0) writeLine(ctx.stderr, `backfill: ${result.counts.rejected} rejected rows in ${result.rejectsPath}`);
      writeLine(ctx.stdout, formatSummary(result.counts));
      ctx.setExitCode(0);
    }
  } catch (err) {
    view.stop();
    fail(stop.signal.aborted ? 130 : 1, err instanceof Error ? err.message : String(err));
  } finally {
    await app?.close();
    off();
  }
}
