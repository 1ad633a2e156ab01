import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/lib/errors.ts';
import { loadConfig, parseRateLimits, formatRateLimits } from '../../src/lib/config.ts';

function issuesOf(fn: () => unknown): Array<{ path: string; message: string }> {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies the documented defaults to an empty environment', () => {
    const config = loadConfig({});
    expect(config.redis).toEqual({ url: 'redis://127.0.0.1:6379', cluster: false, prefix: '{aiq}', waitReplicas: 0, waitTimeoutMs: 1_000 });
    expect(config.aiq.baseUrl).toBe('https://lab.alpineiq.com');
    expect(config.aiq.accounts).toEqual({});
    expect(config.ingress.port).toBe(8080);
    expect(config.worker.concurrency).toBe(16);
    expect(config.points.perDollar).toBe(1);
    expect(formatRateLimits(loadConfig({ AIQ_API_KEY: 'k', AIQ_UID: '1' }).aiq.accounts.default!.rateLimits)).toBe('5/s,120/m,2000/h');
  });

  it('lists every bad or missing variable in one error', () => {
    const issues = issuesOf(() =>
      loadConfig(
        { REDIS_URL: 'not a url', AIQ_RATE_LIMITS: '5/fortnight', WORKER_CONCURRENCY: 'many', AIQ_UIDD: '12', REDIS_WAIT_REPLICAS: '-1' },
        { roles: ['worker', 'ingress'] },
      ),
    );
    const paths = issues.map((i) => i.path).sort();
    expect(paths).toEqual(['AIQ_API_KEY', 'AIQ_RATE_LIMITS', 'AIQ_UID', 'AIQ_UIDD', 'INGRESS_TOKENS', 'REDIS_URL', 'REDIS_WAIT_REPLICAS', 'WORKER_CONCURRENCY'].sort());
  });

  it('requires credentials only for the roles that need them', () => {
    expect(() => loadConfig({})).not.toThrow();
    expect(issuesOf(() => loadConfig({}, { roles: ['worker'] })).map((i) => i.path)).toEqual(['AIQ_API_KEY', 'AIQ_UID']);
  });

  it('returns a frozen object', () => {
    const config = loadConfig({ INGRESS_TOKENS: 'a,b' }, { roles: ['ingress'] });
    expect(config.ingress.tokens).toEqual(['a', 'b']);
    expect(Object.isFrozen(config.ingress)).toBe(true);
    expect(() => {
      (config.ingress.tokens as string[]).push('c');
    }).toThrow();
  });

  it('reads several accounts from AIQ_ACCOUNTS_FILE and reports bad entries by index', () => {
    const good = JSON.stringify([{ name: 'north', apiKey: 'kn', uid: 11, rateLimits: '2/s' }, { name: 'south', apiKey: 'ks', uid: '12' }]);
    const config = loadConfig({ AIQ_ACCOUNTS_FILE: '/x.json' }, { roles: ['worker'], readFile: () => good });
    expect(Object.keys(config.aiq.accounts).sort()).toEqual(['north', 'south']);
    expect(config.aiq.accounts.north!.rateLimits).toEqual([{ limit: 2, windowMs: 1000 }]);
    expect(config.aiq.accounts.south!.uid).toBe('12');
    const bad = JSON.stringify([{ name: 'North!', apiKey: '', uid: 'x' }]);
    const paths = issuesOf(() => loadConfig({ AIQ_ACCOUNTS_FILE: '/x.json' }, { readFile: () => bad })).map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['AIQ_ACCOUNTS_FILE[0.name]', 'AIQ_ACCOUNTS_FILE[0.apiKey]', 'AIQ_ACCOUNTS_FILE[0.uid]']));
  });

  it('accepts route overrides by known name and refuses unknown names', () => {
    const config = loadConfig({ AIQ_ROUTES: '{"adjustPoints":"/api/v2/adjust/{uid}/{contactID}"}' });
    expect(config.aiq.routes.adjustPoints).toBe('/api/v2/adjust/{uid}/{contactID}');
    expect(issuesOf(() => loadConfig({ AIQ_ROUTES: '{"adjust":"/x"}' }))[0]!.message).toMatch(/unknown route names adjust/);
  });
});

describe('parseRateLimits', () => {
  it('reads several windows', () => {
    expect(parseRateLimits('5/s, 120/m,2000/h,10/2s')).toEqual([
      { limit: 5, windowMs: 1000 },
      { limit: 120, windowMs: 60_000 },
      { limit: 2000, windowMs: 3_600_000 },
      { limit: 10, windowMs: 2000 },
    ]);
  });
  it('says what is wrong with a bad window', () => {
    expect(() => parseRateLimits('5/s,x')).toThrow(/"x" is not a window/);
    expect(() => parseRateLimits('0/s')).toThrow(/at least 1/);
  });
});
