import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest, SimulatorError } from './errors.ts';

/** Largest request body accepted; bigger ones get 413. */
export const MAX_BODY_BYTES = 1024 * 1024;

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed || res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

/** AIQ's error envelope. */
export function errorBody(message: string): { success: false; errors: Array<{ message: string }>; message: string } {
  return { success: false, errors: [{ message }], message };
}

/**
 * The whole body as text. Rejects with SIM_TOO_LARGE beyond `maxBytes` (after draining it, so a
 * kept-alive connection stays usable) and with an Error when the client goes away first.
 */
export function readBody(req: IncomingMessage, maxBytes = MAX_BODY_BYTES): Promise<string> {
  const length = req.headers['content-length'];
  if (length === '0' || (length === undefined && req.headers['transfer-encoding'] === undefined)) {
    req.resume();
    return Promise.resolve('');
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let ended = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
    });
    req.on('end', () => {
      ended = true;
      if (size > maxBytes) reject(new SimulatorError('SIM_TOO_LARGE', `the body is over ${maxBytes} bytes`));
      else resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
    req.on('close', () => {
      if (!ended) reject(new Error('the client closed the connection before the body ended'));
    });
  });
}

/** Parses a JSON body; undefined for an empty one, SIM_BAD_REQUEST for malformed JSON. */
export function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw badRequest('the body is not valid JSON');
  }
}

/** Splits `req.url` into path and query without building a URL object. */
export function splitUrl(url: string): { path: string; query: URLSearchParams } {
  const q = url.indexOf('?');
  return q === -1 ? { path: url, query: new URLSearchParams() } : { path: url.slice(0, q), query: new URLSearchParams(url.slice(q + 1)) };
}
