import type { CliContext } from './context.ts';
import { writeLine } from './context.ts';

/** Action of a command of the contract that is not built yet. */
export function notYetAvailable(ctx: CliContext, name: string): () => void {
  return () => {
    writeLine(ctx.stderr, `aiq-sync ${name}: not yet available in this version`);
    ctx.setExitCode(2);
  };
}
