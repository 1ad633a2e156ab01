import { describe, expect, it } from 'vitest';
import { PayloadInvalidError } from '../../src/lib/errors.ts';
import { assertUsableHeader, createCsvRowMapper, createNdjsonMapper, parseColumnMap, type RowSettings } from '../../src/producers/backfill-rows.ts';
import { formatFromPath } from '../../src/producers/backfill-source.ts';
import { formatSummary } from '../../src/producers/backfill.ts';

const settings = (over: Partial<RowSettings> = {}): RowSettings => ({
  columnMap: {},
  versionColumn: undefined,
  defaultVersion: '2026-11-28T03:00:00.000Z',
  account: undefined,
  ...over,
});

function headerIssues(header: string[], s: Partial<RowSettings> = {}): string[] {
  try {
    assertUsableHeader(header, settings(s));
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(PayloadInvalidError);
    return (err as PayloadInvalidError).issues.map((i) => `${i.path}: ${i.message}`);
  }
}

describe('backfill column map', () => {
  it('reads identifier=column pairs', () => {
    expect(parseColumnMap('phone=Mobile, email = EmailAddress')).toEqual({ phone: 'Mobile', email: 'EmailAddress' });
  });

  it('refuses unknown identifiers, missing columns and a column mapped twice', () => {
    expect(() => parseColumnMap('mobile=Mobile')).toThrow(/not an identifier/);
    expect(() => parseColumnMap('phone=')).toThrow(/identifier=column/);
    expect(() => parseColumnMap('phone')).toThrow(/identifier=column/);
    expect(() => parseColumnMap('phone=A,phone=B')).toThrow(/mapped twice/);
    expect(() => parseColumnMap('phone=A,email=A')).toThrow(/mapped twice/);
  });

  it('chooses the format from the extension', () => {
    expect(formatFromPath('/x/export.CSV')).toBe('csv');
    expect(formatFromPath('export.ndjson')).toBe('ndjson');
    expect(formatFromPath('export.jsonl')).toBe('ndjson');
    expect(formatFromPath('export.txt')).toBeUndefined();
  });
});

describe('backfill header check', () => {
  it('accepts identifier and attribute columns', () => {
    expect(headerIssues(['phone', 'email', 'tier', 'last visit'])).toEqual([]);
  });

  it('names every problem at once: duplicates, unnamed and unusable columns, no identifier', () => {
    const issues = headerIssues(['tier', 'tier', '', 'bad/name']);
    expect(issues).toEqual(
      expect.arrayContaining([
        'tier: appears twice in the header',
        'column 3: has no name',
        expect.stringMatching(/^bad\/name: not usable as an attribute name/),
        expect.stringMatching(/^header: no identifier column/),
      ]),
    );
  });

  it('refuses a mapped or version column that is not in the header, and a column --map moved away', () => {
    expect(headerIssues(['phone', 'tier'], { columnMap: { email: 'EmailAddress' } })).toEqual(['EmailAddress: not in the header (--map email=EmailAddress)']);
    expect(headerIssues(['phone', 'tier'], { versionColumn: 'updated_at' })).toEqual(['updated_at: not in the header (--version-column)']);
    expect(headerIssues(['Mobile', 'phone'], { columnMap: { phone: 'Mobile' } })).toEqual([expect.stringMatching(/^phone: is mapped to column "Mobile"/)]);
  });
});

describe('backfill rows', () => {
  const header = ['phone', 'email', 'tier', 'visits'];

  it('makes identifiers from their columns and every other column an attribute, leaving empty cells out', () => {
    const map = createCsvRowMapper(header, settings());
    expect(map([' (415) 555-0101 ', '', 'gold', ''], 2)).toEqual({
      ok: true,
      line: 2,
      update: { customer: { phone: '4155550101' }, attributes: { tier: 'gold' }, version: '2026-11-28T03:00:00.000Z' },
    });
  });

  it('reads identifiers from mapped columns and versions from the version column', () => {
    const map = createCsvRowMapper(['Mobile', 'updated_at', 'tier'], settings({ columnMap: { phone: 'Mobile' }, versionColumn: 'updated_at', account: 'west' }));
    expect(map(['4155550101', '2026-11-27T10:00:00Z', 'gold'], 5)).toMatchObject({ ok: true, update: { customer: { phone: '4155550101' }, attributes: { tier: 'gold' }, version: '2026-11-27T10:00:00Z', account: 'west' } });
    expect(map(['4155550101', '1732700000', 'gold'], 6)).toMatchObject({ ok: true, update: { version: 1732700000 } });
    // A blank version takes the file's.
    expect(map(['4155550101', '', 'gold'], 7)).toMatchObject({ ok: true, update: { version: '2026-11-28T03:00:00.000Z' } });
  });

  it('rejects a row with issues named by the file\'s columns', () => {
    const map = createCsvRowMapper(['Mobile', 'updated_at', 'tier'], settings({ columnMap: { phone: 'Mobile' }, versionColumn: 'updated_at' }));
    expect(map(['12345', 'yesterday', 'gold'], 9)).toEqual({
      ok: false,
      line: 9,
      error: 'invalid row',
      issues: [
        { path: 'Mobile', message: 'expected a 10-digit US phone number' },
        { path: 'updated_at', message: expect.stringMatching(/ISO-8601/) },
      ],
    });
    expect(map(['', '', 'gold'], 10)).toMatchObject({ ok: false, issues: [{ path: '', message: 'at least one of contactID, srcID, phone, email is required' }] });
    expect(map(['4155550101', ''], 11)).toMatchObject({ ok: false, issues: [{ message: 'expected 3 fields as in the header, found 2' }] });
  });

  it('reads NDJSON flat records and the HTTP shape, keeping JSON types and null as a clear', () => {
    const map = createNdjsonMapper(settings({ account: 'west' }));
    expect(map('{"phone":"4155550101","visits":3,"vip":true,"note":null,"empty":""}', 1)).toEqual({
      ok: true,
      line: 1,
      update: { customer: { phone: '4155550101' }, attributes: { visits: 3, vip: true, note: null }, version: '2026-11-28T03:00:00.000Z', account: 'west' },
    });
    expect(map('{"customer":{"email":"A@Example.com"},"attributes":{"tier":"x"},"version":7,"account":"east"}', 2)).toEqual({
      ok: true,
      line: 2,
      update: { customer: { email: 'a@example.com' }, attributes: { tier: 'x' }, version: 7, account: 'east' },
    });
    expect(map('{"phone":', 3)).toMatchObject({ ok: false, line: 3, error: 'invalid JSON' });
    expect(map('[1,2]', 4)).toMatchObject({ ok: false, issues: [{ message: 'expected a JSON object' }] });
    expect(map('{"phone":"4155550101","nested":{"a":1}}', 5)).toMatchObject({ ok: false, issues: [{ path: 'nested' }] });
  });
});

describe('backfill summary', () => {
  it('prints the contract\'s four counts, then duplicates only when there are some', () => {
    expect(formatSummary({ read: 10, enqueued: 6, unchanged: 3, rejected: 1, duplicate: 0 })).toBe('read 10, enqueued 6, unchanged 3, rejected 1');
    expect(formatSummary({ read: 10, enqueued: 4, unchanged: 3, rejected: 1, duplicate: 2 })).toBe('read 10, enqueued 4, unchanged 3, rejected 1, duplicate 2');
  });
});
