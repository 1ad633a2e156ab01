import { Command } from 'commander';
import { envHelpText } from '../lib/env-docs.ts';
import { registerBackfill } from './backfill-command.ts';
import type { CliContext } from './context.ts';
import { registerSimulator } from './simulator-command.ts';
import { registerIngress } from './ingress.ts';
import { registerWorker } from './worker.ts';
import { registerEnqueue } from './enqueue.ts';
import { registerDlq } from './dlq.ts';
import { registerEvents } from './events.ts';
import { registerDemo } from './demo.ts';

/** Builds the `aiq-sync` program: one file per command under src/cli. */
export function createProgram(ctx: CliContext): Command {
  const program = new Command('aiq-sync')
    .description(
      'Keeps AIQ loyalty in step with POS systems, e-commerce webhooks and nightly exports.',
    )
    .showHelpAfterError()
    .addHelpText('after', `\nEnvironment (defaults in brackets):\n${envHelpText()}\n`)
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
    })
    .exitOverride();

  registerWorker(program, ctx);
  registerIngress(program, ctx);
  registerSimulator(program, ctx);
  registerEnqueue(program, ctx);
  registerDemo(program, ctx);
  registerBackfill(program, ctx);
  registerDlq(program, ctx);
  registerEvents(program, ctx);
  return program;
}
