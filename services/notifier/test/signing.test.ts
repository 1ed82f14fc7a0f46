import { describe, expect, it } from 'vitest';
import { Headers, deliveryHeaders, signatureOf, verifySignature } from '../src/index.ts';

const secret = 'whsec-test-0123456789abcdef';
const body = '{"id":"run-completed:r1"}';

describe('signing a delivery', () => {
  it('is the HMAC-SHA256 of "<timestamp>.<body>" in hex (the value openssl dgst -sha256 -hmac gives)', () => {
    expect(signatureOf(secret, 1767225600, body)).toBe('sha256=7e7297d7bdbe78de9c25064561d6dc459610263d5ebbd978c3a5441390209add');
  });

  it('signs each attempt at its own time; the id stays the notice’s', () => {
    const first = deliveryHeaders(secret, { id: 'user-failed:e1', type: 'tokens.user.failed' }, body, 1, 1767225600_000);
    const later = deliveryHeaders(secret, { id: 'user-failed:e1', type: 'tokens.user.failed' }, body, 4, 1767225900_000);
    expect(first[Headers.id]).toBe(later[Headers.id]);
    expect([first[Headers.timestamp], later[Headers.timestamp]]).toEqual(['1767225600', '1767225900']);
    expect(first[Headers.signature]).not.toBe(later[Headers.signature]);
    expect(later[Headers.signature]).toBe(signatureOf(secret, 1767225900, body));
    expect([first[Headers.attempt], later[Headers.event]]).toEqual(['1', 'tokens.user.failed']);
  });
});

describe('verifying a delivery, as a receiver does', () => {
  const now = 1767225600_000;
  const signed = { secret, timestamp: '1767225600', signature: signatureOf(secret, 1767225600, body), body, now };

  it('accepts the signature within the replay window, either side of the clock', () => {
    expect(verifySignature(signed)).toEqual({ ok: true });
    expect(verifySignature({ ...signed, now: now + 299_000 })).toEqual({ ok: true });
    expect(verifySignature({ ...signed, now: now - 299_000 })).toEqual({ ok: true });
  });

  it.each([
    ['a changed body', { body: body.replace('r1', 'r2') }, 'signature does not match'],
    ['another secret', { secret: `${secret}x` }, 'signature does not match'],
    ['a timestamp moved (same signature)', { timestamp: '1767225601' }, 'signature does not match'],
    ['a replay 6 minutes later', { now: now + 360_000 }, 'timestamp outside the replay window'],
    ['a timestamp from the future', { now: now - 360_000 }, 'timestamp outside the replay window'],
    ['no timestamp', { timestamp: undefined }, 'no timestamp'],
    ['a timestamp that is no number', { timestamp: '1767225600.5' }, 'no timestamp'],
    ['no signature', { signature: undefined }, 'signature does not match'],
    ['the hex without its prefix', { signature: signatureOf(secret, 1767225600, body).slice(7) }, 'signature does not match'],
  ])('refuses %s', (_what, change, reason) => {
    expect(verifySignature({ ...signed, ...change })).toEqual({ ok: false, reason });
  });
});
