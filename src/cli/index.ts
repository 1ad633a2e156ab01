import { Command } from 'commander';
import type { CliContext } from './context.ts';
import { notYetAvailable } from './not-yet.ts';
import { registerSimulator } from './simulator.ts';
import { registerWorker } from './worker.ts';
import { registerEnqueue } from './enqueue.ts';
import { registerDlq } from './dlq.ts';
import { registerEvents } from './events.ts';

/** Builds the `aiq-sync` program: one file per command under src/cli. */
export function createProgram(ctx: CliContext): Command {
  const program = new Command('aiq-sync')
    .description(
      'Keeps AIQ loyalty in step with POS systems, e-commerce webhooks and nightly exports.\n' +
        'Environment variables are listed in the README (configuration table).',
    )
    .showHelpAfterError()
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
    })
    .exitOverride();

  registerWorker(program, ctx);
  program.command('ingress').description('run the HTTP ingress, /metrics, health and the dashboard').action(notYetAvailable(ctx, 'ingress'));
  registerSimulator(program, ctx);
  registerEnqueue(program, ctx);
  program.command('demo').description('run the whole system against the simulator with sample traffic').action(notYetAvailable(ctx, 'demo'));
  program.command('backfill').description('stream a CSV or NDJSON export into attribute-sync jobs').argument('<file>').action(notYetAvailable(ctx, 'backfill'));
  registerDlq(program, ctx);
  registerEvents(program, ctx);
  return program;
}
