/**
 * JSON request bodies, parsed the way fastify's secure-json-parse does with
 * `onProtoPoisoning: 'error'` and `onConstructorPoisoning: 'error'`, but with messages that say
 * what is wrong, so a client gets a useful 400 instead of a generic one.
 */

export type JsonParseResult = { ok: true; value: unknown } | { ok: false; message: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The first key that could pollute a prototype when the value is later merged, or null. */
function findPoisonedKey(root: unknown): string | null {
  // Iterative on purpose: JSON.parse accepts nesting deep enough to overflow a recursive walk.
  const stack: Array<{ value: unknown; path: string }> = [{ value: root, path: '' }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (Array.isArray(value)) {
      value.forEach((v, i) => stack.push({ value: v, path: path === '' ? String(i) : `${path}.${i}` }));
      continue;
    }
    const record = value as Record<string, unknown>;
    const at = (key: string) => (path === '' ? key : `${path}.${key}`);
    if (Object.hasOwn(record, '__proto__')) return at('__proto__');
    const ctor = record.constructor;
    if (Object.hasOwn(record, 'constructor') && ctor !== null && typeof ctor === 'object' && Object.hasOwn(ctor, 'prototype')) {
      return at('constructor.prototype');
    }
    for (const [k, v] of Object.entries(record)) stack.push({ value: v, path: at(k) });
  }
  return null;
}

/** Decodes UTF-8 strictly and parses; refuses `__proto__` and `constructor.prototype` keys. */
export function parseJsonBody(raw: Buffer | string): JsonParseResult {
  let text: string;
  if (typeof raw === 'string') {
    text = raw;
  } else {
    try {
      text = utf8.decode(raw);
    } catch {
      return { ok: false, message: 'malformed JSON: the body is not valid UTF-8' };
    }
  }
  if (text.trim().length === 0) return { ok: false, message: 'malformed JSON: the body is empty' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, message: `malformed JSON: ${(err as Error).message}` };
  }
  // Without an escape sequence every key appears in the text as it is: a text that holds
  // neither name cannot hold either key, and the walk is skipped.
  const mayBePoisoned = text.includes('\\') || text.includes('__proto__') || text.includes('constructor');
  const poisoned = mayBePoisoned ? findPoisonedKey(value) : null;
  if (poisoned !== null) {
    const where = poisoned.length > 200 ? `…${poisoned.slice(-200)}` : poisoned;
    return { ok: false, message: `malformed JSON: forbidden key "${where}" (prototype pollution)` };
  }
  return { ok: true, value };
}
