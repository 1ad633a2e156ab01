import { CommanderError, type Command } from 'commander';
import type { CliContext } from './context.ts';

/** `aiq-sync backfill <file>`: exit 0 when done (rejects included), 1 on error, 2 on bad flags or configuration, 130 when interrupted. */
export function registerBackfill(program: Command, ctx: CliContext): Command {
  return program
    .command('backfill')
    .description('stream a CSV or NDJSON export into attribute-sync jobs (resumable; prints "read N, enqueued N, unchanged N, rejected N")')
    .argument('<file>', 'the export: .csv (header row) or .ndjson/.jsonl')
    .option('--format <format>', 'csv or ndjson (default: from the extension)')
    .option('--map <pairs>', 'identifier columns by another name, e.g. phone=Mobile,email=EmailAddress')
    .option('--version-column <column>', "column with each row's version (updated-at or a number); default: the file's mtime")
    .option('--account <name>', 'account the jobs name (default: the default account)')
    .option('--rejects <path>', 'where rejected rows go (default: <file>.rejects.ndjson)')
    .option('--restart', 'ignore the checkpoint and read the file from the start')
    .option('--checkpoint-every <n>', 'rows between checkpoints', '1000')
    .exitOverride((err) => {
      // Bad flags exit 2, like bad values; help and version keep their own code.
      throw err.exitCode === 0 ? err : new CommanderError(2, err.code, err.message);
    })
    .action(async (file: string, opts: Record<string, unknown>) => (await import('./backfill.ts')).runBackfillCommand(ctx, file, opts));
}
