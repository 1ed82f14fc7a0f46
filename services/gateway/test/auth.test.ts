import { describe, expect, it } from 'vitest';
import { createKeyIdentifier, legacyApiKey } from '../src/auth.ts';

/** Whether a request with this Authorization header is let in by the one legacy key. */
function verifier(apiKey: string): (authorization: string | undefined) => boolean {
  const identify = createKeyIdentifier([legacyApiKey(apiKey)]);
  return (authorization) => identify(authorization) !== null;
}

describe('API key check', () => {
  const verify = verifier('s3cret-key-of-some-length');

  it('accepts the key as a bearer token, whatever the case of the scheme', () => {
    expect(verify('Bearer s3cret-key-of-some-length')).toBe(true);
    expect(verify('bearer s3cret-key-of-some-length')).toBe(true);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['wrong key', 'Bearer s3cret-key-of-some-lengtH'],
    ['prefix of the key', 'Bearer s3cret'],
    ['key with extra characters', 'Bearer s3cret-key-of-some-length!'],
    ['key without the scheme', 's3cret-key-of-some-length'],
    ['other scheme', 'Basic s3cret-key-of-some-length'],
    ['scheme only', 'Bearer '],
    ['scheme without space', 'Bearers3cret-key-of-some-length'],
  ])('refuses a %s', (_what, header) => {
    expect(verify(header)).toBe(false);
  });

  it('accepts a short legacy key and refuses an empty one', () => {
    expect(verifier('k')('Bearer k')).toBe(true);
    expect(() => verifier('')).toThrow(TypeError);
  });
});
