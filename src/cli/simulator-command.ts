import type { Command } from 'commander';
import type { CliContext } from './context.ts';

/** Default port of `aiq-sync simulator` (the library's default is 0, a free port). */
export const SIMULATOR_DEFAULT_PORT = 4010;

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `aiq-sync simulator`: runs the AIQ stand-in until SIGINT or SIGTERM. */
export function registerSimulator(program: Command, ctx: CliContext): Command {
  return program
    .command('simulator')
    .description('run the AIQ stand-in (prints its URL, runs until SIGINT/SIGTERM)')
    .option('--port <n>', 'TCP port; 0 picks a free one', String(SIMULATOR_DEFAULT_PORT))
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--api-key <key>', 'API key of the simulated account (default: AIQ_API_KEY, else sim-key)')
    .option('--uid <uid>', 'numeric user ID of the account (default: AIQ_UID, else 1234)')
    .option('--seed <n>', 'realistic personas to seed at start', '0')
    .option('--random-seed <n>', 'seed of the data and fault draws', '1')
    .option('--limits <spec>', 'rate windows per API key, e.g. 5/s,120/m (default: unlimited)')
    .option('--no-retry-after', 'answer 429 without a Retry-After header')
    .option('--fault <spec>', 'route:kind:probability[:ms|status], repeatable; kinds latency, error5xx, applyThenDrop, applyThenLate', collect, [])
    .action(async (opts: Record<string, unknown>) => (await import('./simulator.ts')).runSimulator(ctx, opts));
}
