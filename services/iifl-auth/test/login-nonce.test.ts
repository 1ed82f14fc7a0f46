import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, StorageType, type KV, type NatsConnection } from 'nats';
import { startNats, type TestNats } from '@refresher/testkit';
import { createLoginLinks, NONCE_BUCKET_TTL_MS, type LoginLinkSettings } from '../src/login-links.ts';
import { signNonce, verifyNonce } from '../src/login-nonce.ts';

const SECRET = randomBytes(32).toString('base64');
const NOW = Date.parse('2026-12-01T03:00:00Z');
const LIFETIME = 15 * 60_000;

/** Replaces one character of a base64url text by another valid one. */
function flip(text: string, at: number): string {
  const c = text[at]!;
  return `${text.slice(0, at)}${c === 'A' ? 'B' : 'A'}${text.slice(at + 1)}`;
}

describe('login link nonce', () => {
  it('verifies what it signed, with the user, expiry and a random id', () => {
    const { nonce, claims } = signNonce(SECRET, 'USER1', LIFETIME, NOW);
    expect(nonce).toMatch(/^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(claims).toEqual({ userID: 'USER1', expiresAt: new Date(NOW + LIFETIME), id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/) });
    expect(verifyNonce(SECRET, nonce, NOW + LIFETIME - 1)).toEqual({ ok: true, claims });
    expect(signNonce(SECRET, 'USER1', LIFETIME, NOW).claims.id).not.toBe(claims.id);
  });

  it('refuses an altered payload or MAC, another secret, and anything malformed', () => {
    const { nonce } = signNonce(SECRET, 'USER1', LIFETIME, NOW);
    const [version, payload, mac] = nonce.split('.') as [string, string, string];
    const invalid = { ok: false, reason: 'LINK_INVALID' };
    // Another user (or a later expiry) written into the payload: the MAC no longer matches.
    const forged = Buffer.from(JSON.stringify({ u: 'USER2', e: NOW + LIFETIME, n: 'A'.repeat(22) })).toString('base64url');
    expect(verifyNonce(SECRET, `${version}.${forged}.${mac}`, NOW)).toEqual(invalid);
    for (let i = 0; i < payload.length; i += 7) expect(verifyNonce(SECRET, `${version}.${flip(payload, i)}.${mac}`, NOW)).toEqual(invalid);
    expect(verifyNonce(SECRET, `${version}.${payload}.${flip(mac, 3)}`, NOW)).toEqual(invalid);
    // The last character holds two spare bits: another spelling of the same MAC is refused too.
    const last = mac.at(-1)!;
    const sibling = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
      .split('')
      .find((c) => c !== last && Buffer.from(mac.slice(0, -1) + c, 'base64url').equals(Buffer.from(mac, 'base64url')))!;
    expect(verifyNonce(SECRET, `${version}.${payload}.${mac.slice(0, -1)}${sibling}`, NOW)).toEqual(invalid);
    expect(verifyNonce(randomBytes(32).toString('base64'), nonce, NOW)).toEqual(invalid);
    for (const bad of [
      '',
      'v1',
      'v1..',
      `v2.${payload}.${mac}`,
      `${nonce}.x`,
      `v1.${payload}.${mac.slice(0, 20)}`,
      `v1.${payload}.!${mac.slice(1)}`,
      'x'.repeat(5000),
    ]) {
      expect(verifyNonce(SECRET, bad, NOW), bad.slice(0, 40)).toEqual(invalid);
    }
  });

  it('refuses an expired nonce, checking the MAC first', () => {
    const { nonce } = signNonce(SECRET, 'USER1', LIFETIME, NOW);
    expect(verifyNonce(SECRET, nonce, NOW + LIFETIME)).toEqual({ ok: false, reason: 'LINK_EXPIRED' });
    expect(verifyNonce(randomBytes(32).toString('base64'), nonce, NOW + LIFETIME)).toEqual({ ok: false, reason: 'LINK_INVALID' });
  });
});

describe('login links', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let kv: KV;
  const settings: LoginLinkSettings = {
    secret: SECRET,
    redirectUrl: 'http://127.0.0.1:3001/api/integration/iifl/callback',
    loginUrl: 'https://markets.iiflcapital.com/',
    lifetimeMs: LIFETIME,
  };

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    kv = await nc.jetstream().views.kv('login-nonce-test', { history: 1, ttl: NONCE_BUCKET_TTL_MS, storage: StorageType.File });
  });
  afterAll(async () => {
    await nc?.close();
    await nats?.dispose();
  });

  it("builds IIFL's login URL with the app key and the callback carrying the nonce", () => {
    const links = createLoginLinks(settings, kv, () => NOW);
    const { url, expiresAt } = links.make('USER1', 'the-app-key');
    expect(expiresAt).toEqual(new Date(NOW + LIFETIME));
    const parsed = new URL(url);
    expect(`${parsed.origin}${parsed.pathname}`).toBe('https://markets.iiflcapital.com/');
    expect(parsed.searchParams.get('v')).toBe('1');
    expect(parsed.searchParams.get('appkey')).toBe('the-app-key');
    const callback = new URL(parsed.searchParams.get('redirecturl')!);
    expect(`${callback.origin}${callback.pathname}`).toBe(settings.redirectUrl);
    const nonce = callback.searchParams.get('nonce')!;
    expect(links.check(nonce, 'USER1')).toMatchObject({ ok: true, claims: { userID: 'USER1' } });
  });

  it('refuses a nonce for another account than the one IIFL logged in', () => {
    const links = createLoginLinks(settings, kv, () => NOW);
    const nonce = new URL(new URL(links.make('USER1', 'k').url).searchParams.get('redirecturl')!).searchParams.get('nonce')!;
    expect(links.check(nonce, 'USER2')).toEqual({ ok: false, reason: 'WRONG_ACCOUNT' });
    expect(links.check(nonce, 'user1')).toEqual({ ok: false, reason: 'WRONG_ACCOUNT' });
  });

  it('spends a nonce once: a replay is refused, across instances sharing the bucket', async () => {
    const links = createLoginLinks(settings, kv, () => NOW);
    const { claims } = signNonce(SECRET, 'USER1', LIFETIME, NOW);
    const other = createLoginLinks(settings, kv, () => NOW);
    const spent = await Promise.all([links.spend(claims), other.spend(claims), links.spend(claims)]);
    expect(spent.filter(Boolean)).toHaveLength(1);
    expect(await other.spend(claims)).toBe(false);
    // Another nonce of the same user is a fresh one.
    expect(await links.spend(signNonce(SECRET, 'USER1', LIFETIME, NOW).claims)).toBe(true);
  });
});
