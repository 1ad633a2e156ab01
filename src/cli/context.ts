import type { Readable, Writable } from 'node:stream';

/** What a command may touch of the process; only src/main.ts builds it. */
export interface CliContext {
  env: Readonly<Record<string, string | undefined>>;
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  /** True when stdout is a terminal (progress bars, pretty logs). */
  isTTY: boolean;
  /**
   * Registers a shutdown handler. The first SIGINT/SIGTERM calls it with `force = false`,
   * a second one with `force = true`. Returns a function that unregisters it.
   */
  onSignal(handler: (force: boolean) => void): () => void;
  /** Sets the process exit code once the command's promise settles. */
  setExitCode(code: number): void;
}

/** Writes one line to a stream. */
export function writeLine(stream: Writable, line: string): void {
  stream.write(`${line}\n`);
}
