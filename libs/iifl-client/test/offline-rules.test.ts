import { FailureCode } from '@refresher/contracts';
import { describe, expect, it } from 'vitest';
import {
  BROKER_CODE_FAILURES,
  createKeyPairSource,
  createTotpStepGuard,
  errorFromAnswer,
  extractBrokerCode,
  IiflError,
  IiflSessionInvalidError,
  iiflClientEnvSchema,
  jwtExpiry,
  parseIiflClientConfig,
  redactSecrets,
  tokenValidity,
  totpCode,
  withoutSecrets,
  type ClientKeyPair,
} from '../src/index.ts';

const HOUR = 3_600_000;

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
  const loginTime = new Date('2025-01-06T03:00:00Z');

  it('takes the JWT exp when it is earlier than loginTime + hours', () => {
    const exp = new Date('2025-01-06T10:00:00Z');
    const token = jwt({ sub: 'AB123', exp: exp.getTime() / 1000 });
    expect(tokenValidity(token, loginTime, 12)).toEqual(exp);
  });

  it('takes loginTime + hours when the JWT exp is later', () => {
    const token = jwt({ exp: new Date('2025-01-07T03:00:00Z').getTime() / 1000 });
    expect(tokenValidity(token, loginTime, 12)).toEqual(new Date(loginTime.getTime() + 12 * HOUR));
  });

  it('takes loginTime + hours for a token that is not a JWT, or a JWT without exp', () => {
    expect(tokenValidity('opaque-session-token', loginTime, 8)).toEqual(new Date(loginTime.getTime() + 8 * HOUR));
    expect(tokenValidity('a.%%%.c', loginTime, 8)).toEqual(new Date(loginTime.getTime() + 8 * HOUR));
    expect(tokenValidity(jwt({ sub: 'x' }), loginTime, 8)).toEqual(new Date(loginTime.getTime() + 8 * HOUR));
    expect(jwtExpiry(jwt({ exp: 'soon' }))).toBeNull();
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

  it('makes a new pair per login when max age is 0', async () => {
    const source = createKeyPairSource({ maxAgeMs: 0, now: () => new Date(0), generate: fake });
    const a = await source.acquire();
    a.release(true);
    const b = await source.acquire();
    expect(b.pair.clientPub).not.toBe(a.pair.clientPub);
    expect(source.generated()).toBe(2);
  });

  it('reuses an idle pair while young, never lends one pair to two logins, drops old or rejected pairs', async () => {
    let t = 0;
    const source = createKeyPairSource({ maxAgeMs: 60_000, now: () => new Date(t), generate: fake });
    const a = await source.acquire();
    const b = await source.acquire();
    expect(b.pair.clientPub).not.toBe(a.pair.clientPub);
    a.release(true);
    const c = await source.acquire();
    expect(c.pair.clientPub).toBe(a.pair.clientPub);
    c.release(false);
    b.release(true);
    t = 60_000;
    const d = await source.acquire();
    expect([a.pair.clientPub, b.pair.clientPub]).not.toContain(d.pair.clientPub);
  });

  it('keeps never-used spares ready: a login takes one without waiting, each pair serves one login first', async () => {
    const pending: Array<() => void> = [];
    let made = 0;
    // Generation finishes only when the test says so.
    const slow = (now: () => Date) =>
      new Promise<ClientKeyPair>((resolve) => {
        made += 1;
        const pair = { clientPub: `spare-${made}`, privateKey: null as never, createdAt: now().getTime() };
        pending.push(() => resolve(pair));
      });
    const source = createKeyPairSource({ maxAgeMs: 0, spares: 2, now: () => new Date(0), generate: slow });
    expect(made).toBe(2); // started at once, in the background
    pending.splice(0).forEach((finish) => finish());
    await new Promise((r) => setImmediate(r));
    expect(source.spares()).toBe(2);

    const a = await source.acquire(); // a spare: no generation awaited
    expect(a.pair.clientPub).toBe('spare-1');
    expect(made).toBe(3); // and one more is on its way
    a.release(true);
    const b = await source.acquire();
    expect(b.pair.clientPub).toBe('spare-2'); // max age 0: never the pair a login used
    source.close();
    pending.splice(0).forEach((finish) => finish());
    await new Promise((r) => setImmediate(r));
    expect(source.spares()).toBe(0); // closed: nothing kept
  });
});

describe('error mapping', () => {
  const spec: Array<[string, FailureCode, boolean]> = [
    ['EC016', FailureCode.BadCredentials, false],
    ['EC069', FailureCode.PasswordExpired, false],
    ['EC004', FailureCode.AccountBlocked, false],
    ['EC014', FailureCode.AccountBlocked, false],
    ['EC081', FailureCode.AccountBlocked, false],
    ['EC002', FailureCode.ClientNotFound, false],
    ['EC034', FailureCode.BadTotp, false],
    ['EC036', FailureCode.BadTotp, false],
    ['EC043', FailureCode.TotpNotEnabled, false],
    ['EC053', FailureCode.AppNotAuthorised, false],
    ['EC054', FailureCode.AppNotAuthorised, false],
    ['EC055', FailureCode.AppNotAuthorised, false],
    ['EC056', FailureCode.EncryptionKeyRejected, true],
    ['EC057', FailureCode.EncryptionKeyRejected, true],
    ['EC062', FailureCode.EncryptionKeyRejected, true],
    ['EC003', FailureCode.BrokerUnavailable, true],
    ['EC500', FailureCode.IpNotAuthorised, false],
  ];

  it('covers exactly the spec table', () => {
    expect(Object.keys(BROKER_CODE_FAILURES).sort()).toEqual(spec.map(([c]) => c).sort());
  });

  it.each(spec)('%s -> %s (retryable %s)', (brokerCode, code, retryable) => {
    const error = errorFromAnswer({
      endpoint: 'validatepassword',
      httpStatus: 200,
      body: { status: 'Not_Ok', message: `${brokerCode} something` },
    });
    expect(error).toBeInstanceOf(IiflError);
    expect(error.name).toBe('IiflError');
    expect(error).toMatchObject({ code, brokerCode, retryable });
    expect(error.message).toContain(brokerCode);
  });

  it('finds the EC code in `code`, in result.code, in result[0].code and at the start of message', () => {
    expect(extractBrokerCode({ code: 'EC016' })).toBe('EC016');
    expect(extractBrokerCode({ result: { code: 'EC069' } })).toBe('EC069');
    expect(extractBrokerCode({ result: [{ code: 'EC004' }] })).toBe('EC004');
    expect(extractBrokerCode({ message: 'EC034 Invalid T-OTP' })).toBe('EC034');
    expect(extractBrokerCode({ message: 'EC034: Invalid T-OTP' })).toBe('EC034');
    expect(extractBrokerCode({ message: 'Invalid, see EC034' })).toBeNull();
  });

  it('maps HTTP 429, 5xx, unknown Not_Ok and non-JSON answers', () => {
    expect(errorFromAnswer({ endpoint: 'getusersession', httpStatus: 429, body: undefined })).toMatchObject({
      code: FailureCode.RateLimited,
      brokerCode: 'HTTP 429',
      retryable: true,
    });
    expect(errorFromAnswer({ endpoint: 'enckey', httpStatus: 502, body: undefined })).toMatchObject({
      code: FailureCode.BrokerUnavailable,
      brokerCode: 'HTTP 502',
    });
    expect(errorFromAnswer({ endpoint: 'enckey', httpStatus: 200, body: { status: 'Not_Ok', message: 'EC999 new' } })).toMatchObject({
      code: FailureCode.UnexpectedResponse,
      brokerCode: 'EC999',
    });
    expect(errorFromAnswer({ endpoint: 'enckey', httpStatus: 200, body: undefined })).toMatchObject({
      code: FailureCode.UnexpectedResponse,
      brokerCode: null,
    });
  });

  it('turns 401 or EC044 on a session call into a session-invalid error', () => {
    const byStatus = errorFromAnswer({ endpoint: 'profile', httpStatus: 401, body: undefined, withSession: true });
    expect(byStatus).toBeInstanceOf(IiflSessionInvalidError);
    expect(byStatus).toMatchObject({ code: FailureCode.UnexpectedResponse, brokerCode: 'HTTP 401', sessionInvalid: true, retryable: false });
    const byCode = errorFromAnswer({
      endpoint: 'profile',
      httpStatus: 200,
      body: { status: 'Not_Ok', message: 'EC044 Token is not valid' },
      withSession: true,
    });
    expect(byCode).toMatchObject({ brokerCode: 'EC044', sessionInvalid: true, name: 'IiflSessionInvalidError' });
  });

  it('removes secrets from message and stack', () => {
    const error = new IiflError('IIFL x: bad hunter2secret', { code: FailureCode.UnexpectedResponse });
    withoutSecrets(error, ['hunter2secret']);
    expect(error.message).toBe('IIFL x: bad [redacted]');
    expect(error.stack).not.toContain('hunter2secret');
    expect(redactSecrets('abc', ['', 'ab'])).toBe('abc');
  });
});

describe('config', () => {
  it('has the documented defaults', () => {
    expect(parseIiflClientConfig({})).toEqual({
      baseUrl: 'https://api.iiflcapital.com/v1',
      paths: {
        encKey: '/get/enckey',
        validatePassword: '/validatepassword',
        validateTotp: '/validatetotp',
        userSession: '/getusersession',
        profile: '/profile',
        logout: '/profile/logout',
      },
      timeoutMs: 10_000,
      keyAssociationDelayMs: 10_000,
      tokenValidityHours: 12,
      keyPairMaxAgeMs: 0,
      keyPairSpares: 0,
      loginFlow: 'enckey',
      httpTransport: 'node-http',
    });
  });

  it('reads every variable and reports every problem at once', () => {
    const config = parseIiflClientConfig({
      IIFL_BASE_URL: 'http://127.0.0.1:9999/v1/',
      IIFL_PATH_PROFILE: '/me',
      IIFL_TIMEOUT_MS: '250',
      IIFL_KEY_ASSOCIATION_DELAY_MS: '0',
      IIFL_TOKEN_VALIDITY_HOURS: '6',
      IIFL_KEYPAIR_MAX_AGE_MS: '600000',
    });
    expect(config).toMatchObject({ baseUrl: 'http://127.0.0.1:9999/v1', timeoutMs: 250, keyAssociationDelayMs: 0, tokenValidityHours: 6, keyPairMaxAgeMs: 600_000 });
    expect(config.paths.profile).toBe('/me');
    const bad = iiflClientEnvSchema.safeParse({ IIFL_BASE_URL: 'nope', IIFL_PATH_ENCKEY: 'get/enckey', IIFL_TIMEOUT_MS: '0' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((i) => i.path[0]).sort()).toEqual(['IIFL_BASE_URL', 'IIFL_PATH_ENCKEY', 'IIFL_TIMEOUT_MS']);
  });
});
