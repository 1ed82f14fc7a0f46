import { createPublicKey, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bearer, useFixture } from './fixture.ts';
import { call } from './protocol-client.ts';

const fx = useFixture();

const profileStatus = async (session: string) => (await call(fx.sim.baseUrl, 'GET', '/profile', undefined, bearer(session))).status;

function decode(token: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [header, claims] = token
    .split('.')
    .slice(0, 2)
    .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
  return { header, claims };
}

describe('the session token', () => {
  it('is an RS256 JWT that verifies with the public key the simulator exposes, and with no other', async () => {
    const token = await fx.session();
    const [header, claims, signature] = token.split('.') as [string, string, string];
    const signed = Buffer.from(`${header}.${claims}`);
    const key = createPublicKey(fx.sim.sessionPublicKey);
    expect(verify('sha256', signed, key, Buffer.from(signature, 'base64url'))).toBe(true);
    const jwk = (await call(fx.sim.url, 'GET', '/admin/session-key')).body['result'].jwk;
    expect(verify('sha256', signed, createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(signature, 'base64url'))).toBe(true);
    const tampered = Buffer.from(`${header}.${Buffer.from(JSON.stringify({ ...decode(token).claims, sub: 'X' })).toString('base64url')}`);
    expect(verify('sha256', tampered, key, Buffer.from(signature, 'base64url'))).toBe(false);
  });

  it("with sessionExp 'none' has no exp claim and lives until replaced or logged out", async () => {
    fx.sim.setKnobs({ sessionExp: 'none' });
    const token = await fx.session();
    const { claims } = decode(token);
    expect(Object.keys(claims).sort()).toEqual(['iat', 'jti', 'preferred_username', 'sub']);
    fx.clock.t += 30 * 86_400_000;
    expect(await profileStatus(token)).toBe(200);
    await call(fx.sim.baseUrl, 'POST', '/profile/logout', undefined, bearer(token));
    expect(await profileStatus(token)).toBe(401);
  });

  it('with sessionExp in milliseconds expires that long after issue, then answers 401 EC044', async () => {
    fx.sim.setKnobs({ sessionExp: 90_000 });
    const token = await fx.session();
    const { claims } = decode(token);
    expect(claims['exp']).toBe((claims['iat'] as number) + 90);
    fx.clock.t += 89_999;
    expect(await profileStatus(token)).toBe(200);
    fx.clock.t += 1;
    const dead = await call(fx.sim.baseUrl, 'GET', '/profile', undefined, bearer(token));
    expect(dead.status).toBe(401);
    expect(dead.body).toEqual({ status: 'EC044', message: 'Error : Token is not valid', result: null });
  });
});
