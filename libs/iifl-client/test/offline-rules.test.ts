import { FailureCode } from '@refresher/contracts';
import { describe, expect, it } from 'vitest';
import {
  createKeyPairSource,
  createTotpStepGuard,
  IiflError,
  iiflClientEnvSchema,
  jwtExpiry,
  nextTimeOfDay,
  parseIiflClientConfig,
  tokenValidity,
  totpCode,
  type ClientKeyPair,
} from '../src/index.ts';
import { createKeyAssociation } from '../src/key-association.ts';

function jwt(payload: object): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(payload)}.sig`;
}

describe('totpCode (RFC 6238, SHA-1, 6 digits, 30 s)', () => {
  // RFC 6238 appendix B, seed "12345678901234567890", last 6 of the 8-digit values.
  const seed = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
  it.each([
    [59, '287082'],
    [1111111109, '081804'],
    [1111111111, '050471'],
    [1234567890, '005924'],
    [2000000000, '279037'],
  ])('at %i s gives %s', (seconds, code) => {
    expect(totpCode(seed, new Date(seconds * 1000))).toBe(code);
  });

  it('is the same within one step and changes at the boundary', () => {
    expect(totpCode(seed, new Date(60_000))).toBe(totpCode(seed, new Date(89_999)));
    expect(totpCode(seed, new Date(89_999))).not.toBe(totpCode(seed, new Date(90_000)));
  });
});

describe('token validity', () => {
  const loginTime = new Date('2025-01-06T03:00:00Z'); // 08:30 IST
  const rule = { validUntil: '23:59', timeZone: 'Asia/Kolkata' };

  it('is the JWT exp when the token has one, earlier or later than the end of the day', () => {
    const early = new Date('2025-01-06T10:00:00Z');
    expect(tokenValidity(jwt({ sub: 'AB123', exp: early.getTime() / 1000 }), loginTime, rule)).toEqual(early);
    const late = new Date('2025-01-07T03:00:00Z');
    expect(tokenValidity(jwt({ exp: String(late.getTime() / 1000) }), loginTime, rule)).toEqual(late);
  });

  it('without an exp, is the configured time of day in the configured zone after the login', () => {
    expect(tokenValidity('opaque-session-token', loginTime, rule)).toEqual(new Date('2025-01-06T18:29:00Z'));
    expect(tokenValidity(jwt({ sub: 'x' }), loginTime, { validUntil: '15:30', timeZone: 'Asia/Kolkata' })).toEqual(
      new Date('2025-01-06T10:00:00Z'),
    );
    expect(tokenValidity('a.%%%.c', loginTime, { validUntil: '17:00', timeZone: 'America/New_York' })).toEqual(
      new Date('2025-01-06T22:00:00Z'),
    );
    expect(jwtExpiry(jwt({ exp: 'soon' }))).toBeNull();
  });

  it('rolls over to the next day when the login is after that time', () => {
    const late = new Date('2025-01-06T18:40:00Z'); // 00:10 IST on the 7th
    expect(nextTimeOfDay(late, '23:59', 'Asia/Kolkata')).toEqual(new Date('2025-01-07T18:29:00Z'));
    expect(nextTimeOfDay(new Date('2025-01-06T18:29:00Z'), '23:59', 'Asia/Kolkata')).toEqual(new Date('2025-01-06T18:29:00Z'));
  });
});

describe('TOTP step guard', () => {
  function clock(startMs: number) {
    let t = startMs;
    const sleeps: number[] = [];
    return {
      now: () => new Date(t),
      sleep: async (ms: number) => {
        sleeps.push(ms);
        t += ms;
      },
      advance: (ms: number) => (t += ms),
      sleeps,
    };
  }

  it('lets the first login of a user through at once', async () => {
    const c = clock(30_000 * 1000 + 5_000);
    const guard = createTotpStepGuard(c);
    expect(await guard.claim('AB123')).toEqual(new Date(30_000 * 1000 + 5_000));
    expect(c.sleeps).toEqual([]);
  });

  it('makes a second login of the same user in the same step wait for the next step', async () => {
    const c = clock(30_000 * 1000 + 5_000);
    const guard = createTotpStepGuard(c);
    await guard.claim('AB123');
    c.advance(1_000);
    const second = await guard.claim('AB123');
    expect(c.sleeps).toEqual([24_000]);
    expect(second.getTime()).toBe(30_000 * 1000 + 30_000);
    expect(totpCode('JBSWY3DPEHPK3PXP', second)).not.toBe(totpCode('JBSWY3DPEHPK3PXP', new Date(30_000 * 1000 + 5_000)));
  });

  it('does not hold back other users, nor the same user in a later step', async () => {
    const c = clock(0);
    const guard = createTotpStepGuard(c);
    await guard.claim('AB123');
    await guard.claim('CD456');
    c.advance(30_000);
    await guard.claim('AB123');
    expect(c.sleeps).toEqual([]);
  });

  it('gives concurrent claims of one user distinct steps', async () => {
    const c = clock(10_000);
    const guard = createTotpStepGuard(c);
    const claims = await Promise.all([guard.claim('AB123'), guard.claim('AB123'), guard.claim('AB123')]);
    const steps = claims.map((d) => Math.floor(d.getTime() / 30_000));
    expect(new Set(steps).size).toBe(3);
  });

  it('stops waiting when the signal aborts', async () => {
    const guard = createTotpStepGuard({ now: () => new Date(0), sleep: () => new Promise(() => {}) });
    await guard.claim('AB123');
    const controller = new AbortController();
    const waiting = guard.claim('AB123', controller.signal);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
  });
});

describe('key pair source', () => {
  let generated = 0;
  const fake = async (now: () => Date): Promise<ClientKeyPair> => {
    generated += 1;
    return { clientPub: `pub-${generated}`, privateKey: null as never, createdAt: now().getTime() };
  };

  it('per-login: makes a new pair for every login', async () => {
    const source = createKeyPairSource({ policy: 'per-login', maxAgeMs: 1, now: () => new Date(0), generate: fake });
    const a = await source.acquire();
    a.release(true);
    const b = await source.acquire();
    expect(b.pair.clientPub).not.toBe(a.pair.clientPub);
    expect(source.generated()).toBe(2);
  });

  it('shared: one pair for concurrent logins, made once, replaced when old or refused', async () => {
    let t = 0;
    const source = createKeyPairSource({ policy: 'shared', maxAgeMs: 60_000, now: () => new Date(t), generate: fake });
    const [a, b] = await Promise.all([source.acquire(), source.acquire()]);
    expect(b.pair.clientPub).toBe(a.pair.clientPub);
    expect(source.generated()).toBe(1);
    a.release(true);
    b.release(false); // IIFL refused it: the next login gets another
    const c = await source.acquire();
    expect(c.pair.clientPub).not.toBe(a.pair.clientPub);
    c.release(false);
    c.release(false); // a second refusal of the same pair drops nothing more
    const d = await source.acquire();
    t = 60_000;
    const e = await source.acquire();
    expect(e.pair.clientPub).not.toBe(d.pair.clientPub);
    expect(source.generated()).toBe(4);
  });

  it('shared: a failed generation is not kept, the next login tries again', async () => {
    let fail = true;
    const flaky = async (now: () => Date) => {
      if (fail) throw new Error('no entropy');
      return fake(now);
    };
    const source = createKeyPairSource({ policy: 'shared', maxAgeMs: 60_000, now: () => new Date(0), generate: flaky });
    await expect(source.acquire()).rejects.toThrow('no entropy');
    fail = false;
    await expect(source.acquire()).resolves.toMatchObject({ pair: { clientPub: expect.stringMatching(/^pub-/) } });
  });

  it('per-login: keeps never-used spares ready; a login takes one without waiting', async () => {
    const pending: Array<() => void> = [];
    let made = 0;
    // Generation finishes only when the test says so.
    const slow = (now: () => Date) =>
      new Promise<ClientKeyPair>((resolve) => {
        made += 1;
        const pair = { clientPub: `spare-${made}`, privateKey: null as never, createdAt: now().getTime() };
        pending.push(() => resolve(pair));
      });
    const source = createKeyPairSource({ policy: 'per-login', maxAgeMs: 1, spares: 2, now: () => new Date(0), generate: slow });
    expect(made).toBe(2); // started at once, in the background
    pending.splice(0).forEach((finish) => finish());
    await new Promise((r) => setImmediate(r));
    expect(source.spares()).toBe(2);

    const a = await source.acquire(); // a spare: no generation awaited
    expect(a.pair.clientPub).toBe('spare-1');
    expect(made).toBe(3); // and one more is on its way
    a.release(true);
    const b = await source.acquire();
    expect(b.pair.clientPub).toBe('spare-2'); // never the pair a login used
    source.close();
    pending.splice(0).forEach((finish) => finish());
    await new Promise((r) => setImmediate(r));
    expect(source.spares()).toBe(0); // closed: nothing kept
  });
});

describe('key association wait', () => {
  const keyRefused = () =>
    new IiflError('IIFL validatepassword: EC062 (ENCRYPTION_KEY_REJECTED)', {
      code: FailureCode.EncryptionKeyRejected,
      brokerCode: 'EC062',
    });

  it('adaptive: no wait until a refusal, then the step once more after the delay, and a wait for that host from then on', async () => {
    const sleeps: number[] = [];
    const association = createKeyAssociation({ mode: 'adaptive', delayMs: 10_000, sleep: async (ms) => void sleeps.push(ms) });
    await association.afterExchange('https://a', async () => 'ok');
    expect(sleeps).toEqual([]);
    let calls = 0;
    const result = await association.afterExchange('https://a', async () => {
      calls += 1;
      if (calls === 1) throw keyRefused();
      return 'second';
    });
    expect([result, calls, sleeps]).toEqual(['second', 2, [10_000]]);
    await association.afterExchange('https://a', async () => 'ok');
    await association.afterExchange('https://b', async () => 'ok');
    expect(sleeps).toEqual([10_000, 10_000]);
    expect(association.waitingHosts()).toEqual(['https://a']);
  });

  it('adaptive: a second refusal is passed on; other failures are never retried here', async () => {
    const association = createKeyAssociation({ mode: 'adaptive', delayMs: 0, sleep: async () => {} });
    let calls = 0;
    await expect(
      association.afterExchange('h', async () => {
        calls += 1;
        throw keyRefused();
      }),
    ).rejects.toMatchObject({ brokerCode: 'EC062' });
    expect(calls).toBe(2);
    const wrongPassword = new IiflError('EC016', { code: FailureCode.BadCredentials, brokerCode: 'EC016' });
    calls = 0;
    await expect(
      association.afterExchange('g', async () => {
        calls += 1;
        throw wrongPassword;
      }),
    ).rejects.toBe(wrongPassword);
    expect(calls).toBe(1);
  });

  it('always: waits before every step, as the existing system did, and never repeats the step', async () => {
    const sleeps: number[] = [];
    const association = createKeyAssociation({ mode: 'always', delayMs: 10_000, sleep: async (ms) => void sleeps.push(ms) });
    let calls = 0;
    await expect(
      association.afterExchange('h', async () => {
        calls += 1;
        throw keyRefused();
      }),
    ).rejects.toBeInstanceOf(IiflError);
    expect([calls, sleeps]).toEqual([1, [10_000]]);
  });
});

describe('config', () => {
  it('has the documented defaults', () => {
    expect(parseIiflClientConfig({})).toEqual({
      baseUrl: 'https://api.iiflcapital.com/v1',
      idaasUrl: 'https://idaas.iiflsecurities.com/v2/access',
      loginUrl: 'https://markets.iiflcapital.com/',
      paths: {
        encKey: '/get/enckey',
        validatePassword: '/validatepassword',
        validateTotp: '/validatetotp',
        userSession: '/getusersession',
        profile: '/profile',
        logout: '/profile/logout',
        vendorDetails: '/sso/vendor/details',
        vendorAuthorize: '/sso/vendor/authorize',
        v2EncKey: '/get/encKey',
        v2Password: '/pwd/validate',
        v2Totp: '/topt/verify',
      },
      timeoutMs: 10_000,
      keyAssociationWait: 'adaptive',
      keyAssociationDelayMs: 10_000,
      tokenValidUntil: '23:59',
      timeZone: 'Asia/Kolkata',
      keyPairPolicy: 'shared',
      keyPairMaxAgeMs: 3_600_000,
      keyPairSpares: 0,
      loginFlow: 'headless-v1',
    });
  });

  it('reads every variable and reports every problem at once', () => {
    const config = parseIiflClientConfig({
      IIFL_BASE_URL: 'http://127.0.0.1:9999/v1/',
      IIFL_PATH_PROFILE: '/me',
      IIFL_TIMEOUT_MS: '250',
      IIFL_KEY_ASSOCIATION_WAIT: 'always',
      IIFL_KEY_ASSOCIATION_DELAY_MS: '0',
      IIFL_TOKEN_VALID_UNTIL: '15:30',
      IIFL_KEYPAIR_POLICY: 'per-login',
      IIFL_LOGIN_FLOW: 'headless-v2',
    });
    expect(config).toMatchObject({
      baseUrl: 'http://127.0.0.1:9999/v1',
      timeoutMs: 250,
      keyAssociationWait: 'always',
      keyAssociationDelayMs: 0,
      tokenValidUntil: '15:30',
      keyPairPolicy: 'per-login',
      loginFlow: 'headless-v2',
    });
    expect(config.paths.profile).toBe('/me');
    const bad = iiflClientEnvSchema.safeParse({
      IIFL_BASE_URL: 'nope',
      IIFL_PATH_ENCKEY: 'get/enckey',
      IIFL_TIMEOUT_MS: '0',
      IIFL_TOKEN_VALID_UNTIL: '25:00',
      REFRESH_TIMEZONE: 'Mars/Olympus',
      IIFL_LOGIN_FLOW: 'redirect',
    });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path[0]).sort()).toEqual([
      'IIFL_BASE_URL',
      'IIFL_LOGIN_FLOW',
      'IIFL_PATH_ENCKEY',
      'IIFL_TIMEOUT_MS',
      'IIFL_TOKEN_VALID_UNTIL',
      'REFRESH_TIMEZONE',
    ]);
  });
});
