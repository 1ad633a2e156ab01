// The only module that touches `process`: argv, env, standard streams, signals and the exit code.
import { CommanderError } from 'commander';
import { createProgram } from './cli/index.ts';
import type { CliContext } from './cli/context.ts';

const handlers = new Set<(force: boolean) => void>();
let signals = 0;
const onProcessSignal = () => {
  signals += 1;
  for (const h of [...handlers]) h(signals > 1);
  if (handlers.size === 0 || signals > 2) process.exit(130);
};
process.on('SIGINT', onProcessSignal);
process.on('SIGTERM', onProcessSignal);

const ctx: CliContext = {
  env: process.env,
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  isTTY: Boolean(process.stdout.isTTY),
  onSignal(handler) {
    handlers.add(handler);
    return () => handlers.delete(handler);
  },
  setExitCode(code) {
    process.exitCode = code;
  },
};

try {
  await createProgram(ctx).parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`aiq-sync: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
