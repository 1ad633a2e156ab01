import type { Command } from 'commander';
import type { ResultEvent } from '../lib/events.ts';
import { RedisUnavailableError } from '../lib/errors.ts';
import { writeLine, type CliContext } from './context.ts';
import { loadCliConfig, reportFailure } from './runtime.ts';

interface TailOptions {
  from?: string;
  kind?: string;
  queue?: string;
  follow: boolean;
}

export function matchesEvent(e: ResultEvent, opts: Pick<TailOptions, 'kind' | 'queue'>): boolean {
  return (opts.kind === undefined || e.kind === opts.kind) && (opts.queue === undefined || e.queue === opts.queue);
}

export function registerEvents(program: Command, ctx: CliContext): void {
  const events = program.command('events').description('the result-event stream (${SYNC_PREFIX}:events)');
  events
    .command('tail')
    .description('print result events as JSON lines: new ones by default, or from --from; follows until interrupted')
    .option('--from <id>', "stream entry ID to start after ('0' = from the beginning)")
    .option('--kind <kind>', 'only this kind, e.g. points.applied or job.dead')
    .option('--queue <queue>', 'only this queue')
    .option('--no-follow', 'print what is there and exit')
    .action(async (opts: TailOptions) => {
      const config = loadCliConfig(ctx, 'events tail');
      if (!config) return;
      const [{ createEventStream }, { createKeys }, { createRedis, quitRedis, waitForReady }] = await Promise.all([import('../lib/events.ts'), import('../lib/keys.ts'), import('../lib/redis.ts')]);
      const redis = createRedis(config.redis, { role: 'worker', connectionName: 'aiq-sync:events-tail' });
      redis.on('error', () => undefined);
      const keys = createKeys(config.redis.prefix);
      const stream = createEventStream({ redis, keys });
      const print = (e: ResultEvent) => {
        if (matchesEvent(e, opts)) writeLine(ctx.stdout, JSON.stringify(e));
      };
      const controller = new AbortController();
      const off = ctx.onSignal(() => controller.abort());
      try {
        await waitForReady(redis, 5_000).catch((err: unknown) => {
          throw new RedisUnavailableError('Redis is not reachable', { cause: err });
        });
        let from = opts.from ?? (opts.follow ? '$' : '0');
        if (from === '$' && !opts.follow) from = '0';
        if (!opts.follow || from !== '$') {
          for (;;) {
            const page = await stream.read(from, 1000);
            page.forEach(print);
            if (page.length < 1000) break;
            from = page[page.length - 1]!.streamId!;
          }
        }
        if (opts.follow) {
          if (from === '$') from = (await redis.xrevrange(keys.events(), '+', '-', 'COUNT', 1))[0]?.[0] ?? '0';
          await stream.follow(from, print, controller.signal);
        }
      } catch (err) {
        if (!controller.signal.aborted) reportFailure(ctx, 'events tail', err);
      } finally {
        off();
        await quitRedis(redis);
      }
    });
}
