import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ENV_SCHEMA, loadConfig } from '../../src/lib/config.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string) => readFileSync(`${root}${file}`, 'utf8');

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string | string[];
  env_file?: string | string[];
  ports?: Array<string | { target: number; published: number | string }>;
  volumes?: string[];
  healthcheck?: { test?: string | string[] };
  deploy?: { replicas?: number };
  depends_on?: Record<string, { condition?: string }> | string[];
}
interface Compose {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const compose = parse(read('docker-compose.yml')) as Compose;
const service = (name: string): ComposeService => {
  const s = compose.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service "${name}"`);
  return s;
};
const words = (value: string | string[] | undefined): string => (Array.isArray(value) ? value.join(' ') : (value ?? ''));
const list = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** `KEY=value` lines of an env file; `commented` also reads `# KEY=value`. */
function envLines(text: string, options: { commented: boolean }): Map<string, string> {
  const out = new Map<string, string>();
  const pattern = options.commented ? /^(?:#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/ : /^([A-Z][A-Z0-9_]*)=(.*)$/;
  for (const line of text.split('\n')) {
    const m = pattern.exec(line.trim());
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

describe('docker-compose.yml', () => {
  it('runs Redis 7 with AOF fsynced on every write, no eviction, a ping healthcheck and a volume', () => {
    const redis = service('redis');
    expect(redis.image).toMatch(/^redis:7(\b|$)/);
    const command = words(redis.command);
    expect(command).toContain('--appendonly yes');
    expect(command).toContain('--appendfsync always');
    expect(command).toContain('--maxmemory-policy noeviction');
    expect(words(redis.healthcheck?.test)).toMatch(/redis-cli.*ping/);
    const dataVolume = (redis.volumes ?? []).find((v) => v.endsWith(':/data'));
    expect(dataVolume).toBeDefined();
    expect(Object.keys(compose.volumes ?? {})).toContain(dataVolume!.split(':')[0]);
  });

  it('runs the simulator with 500 personas and the 5/s,120/m budget on port 4010', () => {
    const command = words(service('simulator').command);
    expect(command).toMatch(/^simulator\b/);
    expect(command).toContain('--port 4010');
    expect(command).toContain('--seed 500');
    expect(command).toContain('--limits 5/s,120/m');
  });

  it('runs two worker replicas and the ingress on port 8080, configured from .env.example', () => {
    const worker = service('worker');
    expect(words(worker.command)).toBe('worker');
    expect(worker.deploy?.replicas).toBe(2);
    const ingress = service('ingress');
    expect(words(ingress.command)).toBe('ingress');
    const ports = (ingress.ports ?? []).map((p) => (typeof p === 'string' ? p : `${p.published}:${p.target}`));
    expect(ports).toContain('8080:8080');
    for (const name of ['simulator', 'worker', 'ingress']) expect(list(service(name).env_file), name).toContain('.env.example');
  });

  it('starts every other service only once Redis is healthy', () => {
    for (const name of ['simulator', 'worker', 'ingress']) {
      const dependsOn = service(name).depends_on;
      expect(Array.isArray(dependsOn), `${name}: depends_on needs the long form with a condition`).toBe(false);
      expect((dependsOn as Record<string, { condition?: string }>).redis?.condition, name).toBe('service_healthy');
    }
  });
});

describe('Dockerfile', () => {
  const text = read('Dockerfile');
  const stages = text.split(/^FROM\s+/m).slice(1);
  const final = stages.at(-1) ?? '';

  it('builds from node:20-slim in stages: npm ci and the build first, then production dependencies only', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage).toMatch(/^node:20-slim\b/);
    expect(stages[0]).toMatch(/^RUN npm ci\b(?!.*--omit=dev)/m);
    expect(stages[0]).toMatch(/^RUN npm run build\b/m);
    expect(final).toMatch(/^RUN npm ci\b.*--omit=dev/m);
    expect(final).not.toMatch(/^RUN npm ci\b(?!.*--omit=dev)/m);
    expect(final).toMatch(/^COPY --from=\S+ \S*dist\b/m);
  });

  it('runs the compiled entry point as a non-root user', () => {
    const users = [...final.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    expect(final).toMatch(/^ENTRYPOINT \["node", "dist\/main\.js"\]$/m);
  });

  it('has a .dockerignore that keeps node_modules, dist and local env files out of the context', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim());
    for (const entry of ['node_modules', 'dist', '.env', '.git']) expect(ignored).toContain(entry);
  });
});

describe('.env.example', () => {
  const text = read('.env.example');

  it('names every variable aiq-sync reads, and no other', () => {
    const named = envLines(text, { commented: true });
    const known = Object.keys(ENV_SCHEMA);
    expect(known.filter((k) => !named.has(k))).toEqual([]);
    expect([...named.keys()].filter((k) => !known.includes(k))).toEqual([]);
  });

  it('explains each variable in a comment above it', () => {
    const lines = text.split('\n');
    for (const key of Object.keys(ENV_SCHEMA)) {
      const at = lines.findIndex((l) => new RegExp(`^(#\\s*)?${key}=`).test(l.trim()));
      const above = lines.slice(0, at).reverse();
      // The nearest line above that is not another variable of the same group is a comment.
      const explanation = above.find((l) => !/^(#\s*)?[A-Z][A-Z0-9_]*=/.test(l.trim()));
      expect(explanation?.trim().startsWith('#'), key).toBe(true);
    }
  });

  it('holds values the worker and the ingress accept as they are', () => {
    const env = Object.fromEntries(envLines(text, { commented: false }));
    const config = loadConfig(env, { roles: ['worker', 'ingress'], readFile: () => '[]' });
    expect(config.redis.url).toBe('redis://redis:6379');
    expect(config.ingress.host).toBe('0.0.0.0');
    expect(config.aiq.accounts.default).toMatchObject({ baseUrl: 'http://simulator:4010' });
  });
});
