import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/lib/logger.ts';
import { AiqOutcomeUnknownError } from '../../src/lib/errors.ts';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, stream };
}

describe('createLogger', () => {
  it('keeps an error’s code and message, scrubbed of phones, emails and secrets', () => {
    const { lines, stream } = capture();
    const log = createLogger({ level: 'info', destination: stream, secrets: ['sk-very-secret'] });
    const err = new AiqOutcomeUnknownError('PUT /api/v1.1/optin/1234/4155550100/true timed out for jane@example.com with key sk-very-secret');
    log.error({ err, phone: '4155550100', note: 'call 415-555-0100' }, 'failed for jane@example.com');
    const line = lines.join('');
    expect(line).toContain('AIQ_ERR_OUTCOME_UNKNOWN');
    expect(line).toContain('timed out');
    expect(line).toContain('"stack"');
    expect(line).not.toMatch(/4155550100|415-555-0100|jane@|sk-very-secret/);
  });

  it('redacts credentials by field name', () => {
    const { lines, stream } = capture();
    const log = createLogger({ level: 'info', destination: stream });
    log.info({ headers: { 'x-apikey': 'abc123', authorization: 'Bearer t0ken' }, apiKey: 'k' }, 'request');
    expect(lines.join('')).not.toMatch(/abc123|t0ken|"apiKey":"k"/);
  });
});
