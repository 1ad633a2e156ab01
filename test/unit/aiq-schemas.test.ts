import { describe, expect, it } from 'vitest';
import {
  adjustmentsDataSchema,
  customAttributesDataSchema,
  loyaltyStatusSchema,
  personaPageDataSchema,
  personaSchema,
  readEnvelope,
  timelineDataSchema,
} from '../../src/lib/aiq/schemas.ts';

const CID = '0123456789abcdef0123456789abcdef';

describe('readEnvelope', () => {
  it.each([
    ['{success, data}', { success: true, data: { a: 1 } }],
    ['{success, code, data}', { success: true, code: 200, data: { a: 1 } }],
    ['{success, code as text, data}', { success: true, code: 'OK', data: { a: 1 } }],
    ['only {data}', { data: { a: 1 } }],
    ['extra fields', { success: true, data: { a: 1 }, requestId: 'r-1' }],
  ])('accepts %s', (_name, body) => {
    expect(readEnvelope(body)).toEqual({ kind: 'ok', data: { a: 1 } });
  });

  it('reads data null and a missing data as null', () => {
    expect(readEnvelope({ success: true, data: null })).toEqual({ kind: 'ok', data: null });
    expect(readEnvelope({ success: true })).toEqual({ kind: 'ok', data: null });
  });

  it('treats success:false as a refusal with AIQ message, whatever data says', () => {
    expect(readEnvelope({ success: false, errors: [{ message: 'bad phone' }, { message: 'bad loyalty' }], data: {} })).toEqual({
      kind: 'refused',
      message: 'bad phone; bad loyalty',
    });
    expect(readEnvelope({ success: false, message: 'Please provide a valid API key' })).toEqual({
      kind: 'refused',
      message: 'Please provide a valid API key',
    });
    expect(readEnvelope({ success: false })).toEqual({ kind: 'refused', message: 'success: false' });
  });

  it.each([
    ['an array', [1, 2]],
    ['a string', 'ok'],
    ['null', null],
    ['an object without success or data', { results: [] }],
    ['success that is not a boolean', { success: 'yes', data: {} }],
  ])('refuses %s as invalid', (_name, body) => {
    expect(readEnvelope(body).kind).toBe('invalid');
  });
});

describe('personaSchema', () => {
  it('keeps unknown fields and accepts missing optional ones', () => {
    const parsed = personaSchema.parse({ contactID: CID, brandNewField: { x: 1 }, lastTouch: 5 });
    expect(parsed).toEqual({ contactID: CID, brandNewField: { x: 1 }, lastTouch: 5 });
  });

  it('accepts nulls for optional fields and a numeric srcID (as a string)', () => {
    const parsed = personaSchema.parse({ contactID: CID, email: null, favoriteStoreID: null, srcID: 42, loyalty: true });
    expect(parsed.srcID).toBe('42');
    expect(parsed.email).toBeNull();
    expect(parsed.loyalty).toBe(true);
  });

  it('requires contactID', () => {
    expect(personaSchema.safeParse({ firstName: 'Jane' }).success).toBe(false);
    expect(personaSchema.safeParse({ contactID: '' }).success).toBe(false);
  });

  it('refuses a known field of the wrong type', () => {
    expect(personaSchema.safeParse({ contactID: CID, loyaltyPoints: 'many' }).success).toBe(false);
  });
});

describe('personaPageDataSchema', () => {
  it('reads a page', () => {
    const page = personaPageDataSchema.parse({ results: [{ contactID: CID }], start: 0, limit: 100, size: 1, total: 1 });
    expect(page?.results).toHaveLength(1);
  });
  it('reads "nothing found" as data null or results null', () => {
    expect(personaPageDataSchema.parse(null)).toBeNull();
    expect(personaPageDataSchema.parse({ results: null, start: 0, limit: 100, size: 0, total: 0 })?.results).toBeNull();
  });
  it('refuses a page whose persona lacks contactID', () => {
    expect(personaPageDataSchema.safeParse({ results: [{ firstName: 'x' }] }).success).toBe(false);
  });
});

describe('other data schemas', () => {
  it('adjustments: null is none; rows keep cntID, value, note', () => {
    expect(adjustmentsDataSchema.parse(null)).toEqual([]);
    const rows = adjustmentsDataSchema.parse([{ cntID: CID, value: -5, note: null, ts: 1_700_000_000, extra: 1 }]);
    expect(rows).toEqual([{ cntID: CID, value: -5, note: '', ts: 1_700_000_000, extra: 1 }]);
  });

  it('loyalty status: null is unknown; the assumed fields are required', () => {
    expect(loyaltyStatusSchema.parse(null)).toBeNull();
    const ok = { contactID: CID, loyalty: true, smsOptIn: false, emailOptIn: false, loyaltyPoints: 10 };
    expect(loyaltyStatusSchema.parse(ok)).toEqual(ok);
    expect(loyaltyStatusSchema.safeParse({ contactID: CID }).success).toBe(false);
  });

  it('custom attributes: values read as strings, null is none', () => {
    expect(customAttributesDataSchema.parse(null)).toEqual([]);
    expect(customAttributesDataSchema.parse([{ key: 'tier', value: 3, parent: '', ts: 1 }])).toEqual([
      { key: 'tier', value: '3', parent: '', ts: 1 },
    ]);
  });

  it('timeline: null and events null read as an empty timeline of the contact', () => {
    expect(timelineDataSchema(CID).parse(null)).toEqual({ contactID: CID, events: [] });
    expect(timelineDataSchema(CID).parse({ contactID: CID, events: null })).toEqual({ contactID: CID, events: [] });
  });
});
