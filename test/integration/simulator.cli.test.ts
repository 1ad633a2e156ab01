import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { waitFor } from '../helpers/wait-for.ts';

const children = new Set<ChildProcessWithoutNullStreams>();
afterEach(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
});

function run(args: string[]): { child: ChildProcessWithoutNullStreams; out: () => string; err: () => string } {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn' };
  delete env.AIQ_API_KEY;
  delete env.AIQ_UID;
  const child = spawn(process.execPath, ['bin/aiq-sync.js', 'simulator', ...args], { cwd: process.cwd(), env });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  return { child, out: () => out, err: () => err };
}

async function exitOf(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

describe('aiq-sync simulator (CLI)', () => {
  it('prints its URL, answers the API with the given key, limits and seed, and stops on SIGTERM', async () => {
    const p = run(['--port', '0', '--api-key', 'cli-key', '--uid', '4321', '--seed', '7', '--limits', '2/m', '--no-retry-after']);
    const url = await waitFor(() => /listening on (http:\/\/\S+)/.exec(p.out())?.[1], { timeoutMs: 30_000, message: 'the simulator printed its URL' });
    expect(p.out().trim().split('\n')).toHaveLength(1);
    const list = async () => {
      const res = await request(`${url}/api/v1.1/piis/4321`, { headers: { 'x-apikey': 'cli-key' } });
      return { status: res.statusCode, retryAfter: res.headers['retry-after'], body: (await res.body.json()) as { data?: { total?: number } } };
    };
    const first = await list();
    expect(first.status).toBe(200);
    expect(first.body.data?.total).toBeGreaterThan(5);
    expect((await list()).status).toBe(200);
    expect(await list()).toMatchObject({ status: 429, retryAfter: undefined });
    p.child.kill('SIGTERM');
    expect(await exitOf(p.child)).toBe(0);
    await expect(request(`${url}/_sim/stats`)).rejects.toThrow();
  });

  it('applies --fault rules', async () => {
    const p = run(['--port', '0', '--seed', '3', '--fault', 'listPersonas:error5xx:1:502']);
    const url = await waitFor(() => /listening on (http:\/\/\S+)/.exec(p.out())?.[1], { timeoutMs: 30_000 });
    const res = await request(`${url}/api/v1.1/piis/1234`, { headers: { 'x-apikey': 'sim-key' } });
    await res.body.dump();
    expect(res.statusCode).toBe(502);
    p.child.kill('SIGINT');
    expect(await exitOf(p.child)).toBe(0);
  });

  it('refuses bad flags with exit code 2, naming every problem', async () => {
    const p = run(['--port', '70000', '--limits', 'lots', '--fault', 'adjustPoints:explode:0.5', '--uid', 'abc']);
    expect(await exitOf(p.child)).toBe(2);
    const err = p.err();
    expect(err).toMatch(/--port must be a whole number/);
    expect(err).toMatch(/--limits: "lots" is not a window/);
    expect(err).toMatch(/--fault "adjustPoints:explode:0.5": kind/);
    expect(err).toMatch(/--uid must be the numeric user ID/);
    expect(p.out()).toBe('');
  });
});
