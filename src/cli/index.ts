import { Command } from 'commander';
import type { CliContext } from './context.ts';
import { notYetAvailable } from './not-yet.ts';

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

  program.command('worker').description('run the workers of every queue').option('--queues <list>', 'comma-separated queues (points,optin,attributes,contacts,backfill)').action(notYetAvailable(ctx, 'worker'));
  program.command('ingress').description('run the HTTP ingress, /metrics, health and the dashboard').action(notYetAvailable(ctx, 'ingress'));
  program.command('simulator').description('run the AIQ stand-in').action(notYetAvailable(ctx, 'simulator'));
  program.command('enqueue').description('enqueue NDJSON from stdin: pos | optin | attributes').argument('<kind>').action(notYetAvailable(ctx, 'enqueue'));
  program.command('demo').description('run the whole system against the simulator with sample traffic').action(notYetAvailable(ctx, 'demo'));
  program.command('backfill').description('stream a CSV or NDJSON export into attribute-sync jobs').argument('<file>').action(notYetAvailable(ctx, 'backfill'));
  const dlq = program.command('dlq').description('inspect and redrive dead-lettered jobs');
  dlq.command('list').description('list dead-lettered jobs').action(notYetAvailable(ctx, 'dlq list'));
  dlq.command('replay').description('replay dead-lettered jobs').action(notYetAvailable(ctx, 'dlq replay'));
  dlq.command('purge').description('remove dead-lettered jobs').action(notYetAvailable(ctx, 'dlq purge'));
  const events = program.command('events').description('the result-event stream');
  events.command('tail').description('follow the result-event stream').action(notYetAvailable(ctx, 'events tail'));
  return program;
}
