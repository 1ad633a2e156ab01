import { describe, expect, it } from 'vitest';
import { parseJsonBody } from '../../src/producers/ingress/json.ts';

const parse = (text: string) => parseJsonBody(Buffer.from(text, 'utf8'));

describe('parseJsonBody', () => {
  it('parses JSON, keeping keys named like built-ins that cannot pollute', () => {
    expect(parse('{"a":[1,{"b":null}]}')).toEqual({ ok: true, value: { a: [1, { b: null }] } });
    expect(parse('{"constructor":"x","toString":1}')).toEqual({ ok: true, value: { constructor: 'x', toString: 1 } });
    expect(parse('{"constructor":{"name":"x"}}')).toEqual({ ok: true, value: { constructor: { name: 'x' } } });
    expect(parse('"just a string"')).toEqual({ ok: true, value: 'just a string' });
  });

  it('refuses __proto__ anywhere, also when escaped, and says where', () => {
    expect(parse('{"__proto__":{"polluted":true}}')).toEqual({ ok: false, message: 'malformed JSON: forbidden key "__proto__" (prototype pollution)' });
    expect(parse('{"a":[{"b":{"\\u005f_proto__":{}}}]}')).toEqual({ ok: false, message: 'malformed JSON: forbidden key "a.0.b.__proto__" (prototype pollution)' });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses constructor.prototype', () => {
    expect(parse('{"x":{"constructor":{"prototype":{"polluted":true}}}}')).toEqual({ ok: false, message: 'malformed JSON: forbidden key "x.constructor.prototype" (prototype pollution)' });
  });

  it('explains syntax errors, empty bodies and invalid UTF-8', () => {
    const bad = parse('{"a":1,}');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.message).toMatch(/^malformed JSON: .+/);
    expect(parse('  ')).toEqual({ ok: false, message: 'malformed JSON: the body is empty' });
    expect(parseJsonBody(Buffer.from([0x22, 0xff, 0x22]))).toEqual({ ok: false, message: 'malformed JSON: the body is not valid UTF-8' });
  });

  it('walks very deep nesting without overflowing the stack', () => {
    const depth = 200_000;
    const deep = `${'['.repeat(depth)}{"__proto__":1}${']'.repeat(depth)}`;
    const r = parse(deep);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toMatch(/^malformed JSON: forbidden key "….*\.0\.__proto__" \(prototype pollution\)$/);
    expect(!r.ok && r.message.length).toBeLessThan(300);
    expect(parse(`${'['.repeat(depth)}${']'.repeat(depth)}`).ok).toBe(true);
  });
});
