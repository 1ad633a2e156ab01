import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** `bin/aiq-sync.js`: the command as a deployment runs it. */
export const AIQ_SYNC_BIN = fileURLToPath(new URL('../../bin/aiq-sync.js', import.meta.url));

/**
 * One `aiq-sync` process of a scenario: output kept as a short tail (a long run must not grow
 * without bound), chosen patterns counted line by line, and an exit we did not ask for noticed.
 */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** Exit code, or the signal's name. */
  readonly exited: Promise<number | string>;
  /** True when it ended without being stopped by `stop`. */
  crashed(): boolean;
  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs` for a gentler signal). */
  stop(signal: NodeJS.Signals, graceMs?: number): Promise<number | string>;
  /** The last lines of its output (stdout and stderr). */
  tail(lines?: number): string;
  /** How many output lines matched each watched pattern so far. */
  matches(): Record<string, number>;
}

export interface SpawnOptions {
  /** Patterns counted in its output, by name. */
  watch?: Record<string, RegExp>;
  /** Lines of output kept; default 300. */
  keepLines?: number;
}

/** Runs `aiq-sync <args>` with exactly `env` (plus PATH and HOME). */
export function spawnAiqSync(name: string, args: readonly string[], env: Record<string, string>, options: SpawnOptions = {}): ManagedProcess {
  const child = spawn(process.execPath, [AIQ_SYNC_BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = options.keepLines ?? 300;
  const lines: string[] = [];
  const counts: Record<string, number> = Object.fromEntries(Object.keys(options.watch ?? {}).map((k) => [k, 0]));
  const onData = (stream: 'out' | 'err') => {
    let partial = '';
    return (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        for (const [k, re] of Object.entries(options.watch ?? {})) if (re.test(line)) counts[k] = (counts[k] ?? 0) + 1;
        lines.push(`${stream}| ${line}`);
        if (lines.length > keep) lines.shift();
      }
    };
  };
  child.stdout.setEncoding('utf8').on('data', onData('out'));
  child.stderr.setEncoding('utf8').on('data', onData('err'));
  let asked = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    name,
    pid: child.pid ?? -1,
    exited,
    crashed: () => !asked && !running(),
    async stop(signal, graceMs = 10_000) {
      asked = true;
      if (!running()) return exited;
      child.kill(signal);
      if (signal === 'SIGKILL') return exited;
      const timer = setTimeout(() => {
        if (running()) child.kill('SIGKILL');
      }, graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    tail: (n = 40) => lines.slice(-n).join('\n'),
    matches: () => ({ ...counts }),
  };
}

/** Resident set size of a process in KiB (VmRSS of /proc/<pid>/status); undefined when it is gone. */
export async function rssKiB(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
