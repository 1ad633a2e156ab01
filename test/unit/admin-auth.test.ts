import { describe, expect, it } from 'vitest';
import { presentedCredential } from '../../src/producers/admin/auth.ts';

const basic = (pair: string) => `Basic ${Buffer.from(pair).toString('base64')}`;

describe('presentedCredential', () => {
  it('reads the token of a bearer header and the password of a Basic one, whatever the user name', () => {
    expect(presentedCredential('Bearer abc.def-123')).toBe('abc.def-123');
    expect(presentedCredential('bearer  abc ')).toBe('abc');
    expect(presentedCredential(basic('admin:s3cret:with:colons'))).toBe('s3cret:with:colons');
    expect(presentedCredential(basic(':only-password'))).toBe('only-password');
  });

  it('finds nothing in a missing, empty or malformed header', () => {
    for (const header of [undefined, '', 'Bearer', 'Bearer a b', 'Token abc', basic('no-colon'), 'Basic !!!', 'abc']) {
      expect(presentedCredential(header), String(header)).toBeUndefined();
    }
  });
});
