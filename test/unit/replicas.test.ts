import { describe, expect, it } from 'vitest';
import { keySlot } from '../../src/lib/replicas.ts';

describe('keySlot', () => {
  it('gives the slots Redis Cluster gives (CLUSTER KEYSLOT)', () => {
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('bar')).toBe(5061);
    expect(keySlot('123456789')).toBe(0x31c3 % 16384);
  });

  it('hashes only the first hash tag, and the whole key when that tag is empty', () => {
    expect(keySlot('{aiq}:ledger:pos:a')).toBe(keySlot('aiq'));
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
    expect(keySlot('foo{}{bar}')).not.toBe(keySlot('bar'));
    expect(keySlot('foo{{bar}}zap')).toBe(keySlot('{bar'));
  });
});
