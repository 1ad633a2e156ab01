import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type HostRequest =
  | { id: number; type: 'call'; module: string; fn: string; args: unknown }
  | { id: number; type: 'release'; handle: number };

type HostRequestBody = HostRequest extends infer R ? (R extends HostRequest ? Omit<R, 'id'> : never) : never;

export type HostReply = { id: number; ok: true; value: unknown; handle?: number } | { id: number; ok: false; error: string };

/** A child process that runs benchmark functions (host-main.ts) on request. */
export interface Host {
  readonly pid: number;
  /** Runs `fn` of the module at `module` (an absolute path) in the child, with JSON `args`. */
  call<T>(module: string, fn: string, args: unknown): Promise<T>;
  /** The same, for a function that returns `{value, close}`: `release()` runs its close in the child. */
  hold<T>(module: string, fn: string, args: unknown): Promise<{ value: T; release(): Promise<void> }>;
  close(): Promise<void>;
}

const MAIN = fileURLToPath(new URL('./host-main.ts', import.meta.url));

/** Starts a child on the same Node with tsx; `env` replaces the child's environment. */
export function startHost(options: { env?: Record<string, string>; execArgv?: string[] } = {}): Host {
  const child: ChildProcess = fork(MAIN, [], {
    execArgv: ['--import', 'tsx', ...(options.execArgv ?? [])],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve(r: HostReply): void }>();
  let nextId = 1;
  let exited = false;
  const gone = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      for (const p of pending.values()) p.resolve({ id: 0, ok: false, error: `benchmark child exited (${code ?? signal})` });
      pending.clear();
      resolve();
    });
  });
  child.on('message', (reply: HostReply) => {
    pending.get(reply.id)?.resolve(reply);
    pending.delete(reply.id);
  });

  function request(req: HostRequestBody): Promise<HostReply> {
    if (exited) return Promise.reject(new Error('benchmark child has exited'));
    const id = nextId++;
    return new Promise((resolve) => {
      pending.set(id, { resolve });
      child.send({ ...req, id });
    });
  }

  async function run(module: string, fn: string, args: unknown): Promise<{ value: unknown; handle?: number }> {
    const reply = await request({ type: 'call', module, fn, args });
    if (!reply.ok) throw new Error(`${fn} failed in the benchmark child: ${reply.error}`);
    return reply.handle === undefined ? { value: reply.value } : { value: reply.value, handle: reply.handle };
  }

  return {
    pid: child.pid ?? -1,
    async call<T>(module: string, fn: string, args: unknown) {
      return (await run(module, fn, args)).value as T;
    },
    async hold<T>(module: string, fn: string, args: unknown) {
      const { value, handle } = await run(module, fn, args);
      return {
        value: value as T,
        release: async () => {
          if (handle !== undefined) await request({ type: 'release', handle });
        },
      };
    },
    async close() {
      if (exited) return;
      child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    },
  };
}
