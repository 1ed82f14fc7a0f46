import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CredentialDecryptError, encryptField, keyIdOf, keyringFromEnv } from '@refresher/credential-crypto';
import { planRow, type ReencryptMode } from '../src/row-plan.ts';

const K1 = randomBytes(32).toString('base64');
const K2 = randomBytes(32).toString('base64');
const ring1 = keyringFromEnv({ CREDENTIALS_KEY: K1, CREDENTIALS_KEY_ID: 'k1' });
const ring2 = keyringFromEnv({ CREDENTIALS_KEY: K2, CREDENTIALS_KEY_ID: 'k2', CREDENTIALS_OLD_KEYS: `k1:${K1}` });
const under1 = (column: 'password' | 'appKey' | 'appSecret' | 'totpSecret', value: string) =>
  encryptField(ring1, value, { table: 'IIFLUser', column, row: 'U1' });

describe('planRow', () => {
  const plainRow = { password: 'pw', appKey: 'key', appSecret: 'secret', totpSecret: 'SEED' };
  const k1Row = {
    password: under1('password', 'pw'),
    appKey: under1('appKey', 'key'),
    appSecret: under1('appSecret', 'secret'),
    totpSecret: '',
  };

  it.each<[string, ReencryptMode, typeof plainRow, { encrypted: number; reencrypted: number; underOtherKeys: number }]>([
    ['plain values, encrypt', 'encrypt', plainRow, { encrypted: 4, reencrypted: 0, underOtherKeys: 0 }],
    ['plain values, rotate', 'rotate', plainRow, { encrypted: 4, reencrypted: 0, underOtherKeys: 0 }],
    ['old key, encrypt: left, counted (an empty value stays empty)', 'encrypt', k1Row, { encrypted: 0, reencrypted: 0, underOtherKeys: 3 }],
    ['old key, rotate: re-encrypted', 'rotate', k1Row, { encrypted: 0, reencrypted: 3, underOtherKeys: 0 }],
  ])('%s', (_name, mode, stored, counts) => {
    const plan = planRow(ring2, mode, 'U1', stored);
    expect(plan).toMatchObject(counts);
    expect(Object.keys(plan.next).sort()).toEqual(['appKey', 'appSecret', 'password', 'totpSecret']);
    expect(plan.next.totpSecret === '' || keyIdOf(plan.next.totpSecret) === 'k2').toBe(true);
    if (mode === 'rotate') expect(plan.next.password.startsWith('enc:v1:k2:')).toBe(true);
  });

  it('throws on a value it cannot open, when rotating', () => {
    const foreign = { ...k1Row, appKey: encryptField(ring1, 'key', { table: 'IIFLUser', column: 'appKey', row: 'OTHER' }) };
    expect(() => planRow(ring2, 'rotate', 'U1', foreign)).toThrow(CredentialDecryptError);
  });
});
