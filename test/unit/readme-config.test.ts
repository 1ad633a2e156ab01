import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgram } from '../../src/cli/index.ts';
import type { CliContext } from '../../src/cli/context.ts';
import { ENV_SCHEMA, loadConfig } from '../../src/lib/config.ts';
import { ENV_DOCS, envTableMarkdown } from '../../src/lib/env-docs.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('the configuration table', () => {
  it('in the README is the one generated from the schema’s documentation', () => {
    const block = /<!-- config:start -->\n([\s\S]*?)\n<!-- config:end -->/.exec(readme)?.[1];
    expect(block).toBe(envTableMarkdown());
  });

  it('documents every variable of the schema, and nothing else', () => {
    expect(Object.keys(ENV_DOCS).sort()).toEqual(Object.keys(ENV_SCHEMA).sort());
  });

  it('states the defaults the schema applies', () => {
    const documented = Object.fromEntries(Object.entries(ENV_DOCS).filter(([, d]) => d.default !== '').map(([k, d]) => [k, d.default]));
    expect(loadConfig(documented)).toEqual(loadConfig({}));
    // And a different value does change the configuration, so the comparison above means something.
    expect(loadConfig({ ...documented, WORKER_CONCURRENCY: '3' })).not.toEqual(loadConfig({}));
  });

  it('is listed by --help', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const ctx: CliContext = { env: {}, stdin: new PassThrough(), stdout: out, stderr: new PassThrough(), isTTY: false, onSignal: () => () => undefined, setExitCode: () => undefined };
    await createProgram(ctx).parseAsync(['node', 'aiq-sync', '--help']).catch(() => undefined);
    for (const name of Object.keys(ENV_SCHEMA)) expect(text).toContain(name);
  });
});
