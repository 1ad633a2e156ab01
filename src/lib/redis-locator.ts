import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, delimiter } from 'node:path';
import { access, constants } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { RedisUnavailableError } from './errors.ts';

export interface LocatedRedis {
  url: string;
  /** How it was found: the given URL, the local default, or a server started for this run. */
  source: 'url' | 'local' | 'started';
  /** Stops the server when this run started it; otherwise does nothing. */
  stop(): Promise<void>;
}

export interface LocateRedisOptions {
  /** An explicit URL (REDIS_URL). When given it must answer; nothing else is tried. */
  url?: string | undefined;
  /** The search path for `redis-server`; default PATH of the caller. */
  path?: string | undefined;
  /** Tried when no URL is given; default redis://127.0.0.1:6379. */
  localUrl?: string;
}

export const HOW_TO_GET_REDIS =
  'Redis is needed: install it (apt-get install redis-server, or brew install redis) so that redis-server is on the PATH, ' +
  'run `docker compose up -d redis`, or set REDIS_URL to a running Redis.';

/** True when a Redis at `url` answers PING within `timeoutMs`. */
export async function pingRedis(url: string, timeoutMs = 1_000): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function findExecutable(name: string, searchPath: string | undefined): Promise<string | null> {
  for (const dir of (searchPath ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export interface StartedRedis {
  url: string;
  port: number;
  dir: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface StartRedisOptions {
  binary: string;
  port?: number;
  /** Extra server arguments, e.g. ['--appendonly', 'yes']. */
  args?: readonly string[];
  /** Data directory; a fresh temporary one by default (removed on stop). */
  dir?: string;
  timeoutMs?: number;
}

/** Starts a private redis-server and waits until it answers. */
export async function startRedisServer(options: StartRedisOptions): Promise<StartedRedis> {
  const port = options.port ?? (await freePort());
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'aiq-sync-redis-')));
  const child = spawn(
    options.binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...(options.args ?? [])],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  while (!(await pingRedis(url, 500))) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new RedisUnavailableError(`redis-server did not start on port ${port}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  let stopping: Promise<void> | undefined;
  return {
    url,
    port,
    dir,
    process: child,
    stop: () =>
      (stopping ??= (async () => {
        if (!exited) {
          const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
          await gone;
          clearTimeout(timer);
        }
        if (ownDir) await rm(dir, { recursive: true, force: true });
      })()),
  };
}

/**
 * Finds a Redis the way the demo and the tests do: the given URL if any (it must answer), else
 * 127.0.0.1:6379 if it answers, else a redis-server from the PATH on a free port for this run,
 * else a RedisUnavailableError whose message says how to get Redis.
 */
export async function locateRedis(options: LocateRedisOptions = {}): Promise<LocatedRedis> {
  const none = async () => undefined;
  if (options.url !== undefined && options.url !== '') {
    if (await pingRedis(options.url, 2_000)) return { url: options.url, source: 'url', stop: none };
    throw new RedisUnavailableError(`Redis at REDIS_URL (${redactUrl(options.url)}) does not answer. ${HOW_TO_GET_REDIS}`);
  }
  const localUrl = options.localUrl ?? 'redis://127.0.0.1:6379';
  if (await pingRedis(localUrl)) return { url: localUrl, source: 'local', stop: none };
  const binary = await findExecutable('redis-server', options.path);
  if (binary === null) throw new RedisUnavailableError(`No Redis answers at ${localUrl} and redis-server is not on the PATH. ${HOW_TO_GET_REDIS}`);
  const started = await startRedisServer({ binary });
  return { url: started.url, source: 'started', stop: started.stop };
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}
