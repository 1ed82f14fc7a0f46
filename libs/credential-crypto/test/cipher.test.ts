import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CredentialDecryptError, KeyringError, decryptField, encryptField, isEncrypted, keyIdOf, keyringFromEnv } from '../src/index.ts';

const key = () => randomBytes(32).toString('base64');
const at = { table: 'IIFLUser', column: 'password', row: '28748327' };

describe('credential encryption', () => {
  const ring = keyringFromEnv({ CREDENTIALS_KEY: key() });

  it('round-trips and never stores the plain text', () => {
    const sealed = encryptField(ring, 's3cret-pässword', at);
    expect(isEncrypted(sealed)).toBe(true);
    expect(sealed).not.toContain('s3cret');
    expect(keyIdOf(sealed)).toBe('k1');
    expect(decryptField(ring, sealed, at)).toBe('s3cret-pässword');
  });

  it('uses a fresh IV for every value', () => {
    expect(encryptField(ring, 'same', at)).not.toBe(encryptField(ring, 'same', at));
  });

  it('refuses a tampered value', () => {
    const sealed = encryptField(ring, 'value', at);
    const parts = sealed.split(':');
    const body = Buffer.from(parts[4]!, 'base64url');
    body[0] = body[0]! ^ 1;
    parts[4] = body.toString('base64url');
    expect(() => decryptField(ring, parts.join(':'), at)).toThrow(CredentialDecryptError);
  });

  it('refuses a value moved to another row or column', () => {
    const sealed = encryptField(ring, 'value', at);
    expect(() => decryptField(ring, sealed, { ...at, row: 'other' })).toThrow(CredentialDecryptError);
    expect(() => decryptField(ring, sealed, { ...at, column: 'appSecret' })).toThrow(CredentialDecryptError);
  });

  it('reads old values with an old key after rotation, and writes with the new one', () => {
    const oldKey = key();
    const before = keyringFromEnv({ CREDENTIALS_KEY: oldKey, CREDENTIALS_KEY_ID: 'k1' });
    const sealed = encryptField(before, 'value', at);
    const after = keyringFromEnv({ CREDENTIALS_KEY: key(), CREDENTIALS_KEY_ID: 'k2', CREDENTIALS_OLD_KEYS: `k1:${oldKey}` });
    expect(decryptField(after, sealed, at)).toBe('value');
    expect(keyIdOf(encryptField(after, 'value', at))).toBe('k2');
    const withoutOld = keyringFromEnv({ CREDENTIALS_KEY: key(), CREDENTIALS_KEY_ID: 'k2' });
    expect(() => decryptField(withoutOld, sealed, at)).toThrow(/no key "k1"/);
  });

  it('passes plain-text legacy values through', () => {
    expect(decryptField(ring, 'legacy-plain', at)).toBe('legacy-plain');
  });

  it('refuses a missing or short key with a clear message', () => {
    expect(() => keyringFromEnv({})).toThrow(KeyringError);
    expect(() => keyringFromEnv({ CREDENTIALS_KEY: Buffer.alloc(16).toString('base64') })).toThrow(/32 random bytes/);
    expect(() => keyringFromEnv({ CREDENTIALS_KEY: key(), CREDENTIALS_OLD_KEYS: 'nocolon' })).toThrow(KeyringError);
  });

  it('never puts the value into an error message', () => {
    const sealed = encryptField(ring, 'top-secret-value', at);
    try {
      decryptField(keyringFromEnv({ CREDENTIALS_KEY: key() }), sealed, at);
    } catch (err) {
      expect(String(err)).not.toContain('top-secret-value');
      expect(String(err)).not.toContain(sealed);
    }
    expect.assertions(2);
  });
});
