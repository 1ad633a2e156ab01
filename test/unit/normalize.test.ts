import { describe, expect, it } from 'vitest';
import { maskEmail, maskPhone, normalizeEmail, normalizePhone, scrubText } from '../../src/lib/normalize.ts';

describe('normalizePhone', () => {
  it.each([
    ['+1 (555) 555-0100', '5555550100'],
    ['+1 (415) 555-0100', '4155550100'],
    ['415.555.0100', '4155550100'],
    ['14155550100', '4155550100'],
    ['4155550100', '4155550100'],
  ])('reads %s as %s', (input, expected) => {
    expect(normalizePhone(input)).toBe(expected);
  });
  it.each(['415555010', '24155550100', '415-555-01000', 'call me', '4155550100x12', '0155550100'])('refuses %s', (input) => {
    expect(normalizePhone(input)).toBeNull();
  });
});

describe('normalizeEmail', () => {
  it('lower-cases and trims', () => {
    expect(normalizeEmail('  Jane.Doe@Example.COM ')).toBe('jane.doe@example.com');
  });
  it('refuses addresses that are not plausible or too long', () => {
    expect(normalizeEmail('jane@')).toBeNull();
    expect(normalizeEmail('a b@example.com')).toBeNull();
    expect(normalizeEmail(`${'a'.repeat(250)}@example.com`)).toBeNull();
  });
});

describe('masking', () => {
  it('keeps only what tells records apart', () => {
    expect(maskPhone('4155550100')).toBe('******0100');
    expect(maskEmail('jane@example.com')).toBe('j***@example.com');
  });
  it('scrubs phones and emails out of text and URLs but leaves contact IDs and timestamps in ms', () => {
    const text =
      'PUT /api/v1.1/optin/1234/4155550100/true failed for jane%40example.com; ' +
      'lookup /api/v2/loyalty/lookup/jane@example.com, call +1 415-555-0100; contact 0a1b2c3d4e5f60718293a4b5c6d7e8f9 at 1764324000123';
    const out = scrubText(text);
    expect(out).not.toMatch(/4155550100|415-555-0100|jane/);
    expect(out).toContain('0a1b2c3d4e5f60718293a4b5c6d7e8f9');
    expect(out).toContain('1764324000123');
    expect(out).toContain('******0100');
  });
});
