import { generateKeyPairSync } from 'node:crypto';
import { FailureCode } from '@refresher/contracts';
import { describe, expect, it } from 'vitest';
import { pickString, SealedAnswerError, unseal } from '../src/answers.ts';
import { answerSaysFailure } from '../src/broker-codes.ts';
import {
  BROKER_CODE_FAILURES,
  clientPubOf,
  errorFromAnswer,
  extractBrokerCode,
  extractBrokerMessage,
  IiflError,
  IiflSessionInvalidError,
  parseRetryAfter,
  publicKeyFromBase64,
  redactSecrets,
  sealEnvelope,
  withoutSecrets,
} from '../src/index.ts';

/** The spec's table ("Responses and errors"): code, failure, retried automatically. */
const SPEC_TABLE: Array<[string, FailureCode, boolean]> = [
  ['EC016', FailureCode.BadCredentials, false],
  ['EC069', FailureCode.PasswordExpired, false],
  ['EC063', FailureCode.BadCredentials, false],
  ['EC079', FailureCode.BadCredentials, false],
  ['EC004', FailureCode.AccountBlocked, false],
  ['EC014', FailureCode.AccountBlocked, false],
  ['EC081', FailureCode.AccountBlocked, false],
  ['EC002', FailureCode.ClientNotFound, false],
  ['EC075', FailureCode.BrokerRejected, false],
  ['EC076', FailureCode.AccountBlocked, false],
  ['EC034', FailureCode.BadTotp, false],
  ['EC036', FailureCode.BadTotp, false],
  ['EC043', FailureCode.TotpNotEnabled, false],
  ['EC053', FailureCode.AppNotAuthorised, false],
  ['EC054', FailureCode.AppNotAuthorised, false],
  ['EC055', FailureCode.AppNotAuthorised, false],
  ['EC056', FailureCode.EncryptionKeyRejected, true],
  ['EC057', FailureCode.EncryptionKeyRejected, true],
  ['EC062', FailureCode.EncryptionKeyRejected, true],
  ['EC044', FailureCode.LoginExpired, true],
  ['EC003', FailureCode.RateLimited, true],
  ...['EC010', 'EC017', 'EC039', 'EC047', 'EC001', 'EC005', 'EC008', 'EC009', 'EC026', 'EC038'].map(
    (code): [string, FailureCode, boolean] => [code, FailureCode.BrokerRejected, false],
  ),
];

describe('IIFL error codes', () => {
  it('the table covers exactly the codes the spec lists', () => {
    expect(Object.keys(BROKER_CODE_FAILURES).sort()).toEqual(SPEC_TABLE.map(([c]) => c).sort());
  });

  it.each(SPEC_TABLE)('%s on the password step -> %s (retryable %s)', (brokerCode, code, retryable) => {
    const error = errorFromAnswer({ endpoint: 'validatepassword', httpStatus: 200, body: { status: brokerCode, message: 'text' } });
    expect(error).toBeInstanceOf(IiflError);
    expect(error).toMatchObject({ code, brokerCode, retryable, httpStatus: 200 });
    expect(error.message).toContain(brokerCode);
  });

  it('finds the code in status, code, result.status, result[i].status, or at the start of a message', () => {
    expect(extractBrokerCode({ status: 'EC016', message: 'Invalid userId or password' })).toBe('EC016');
    expect(extractBrokerCode({ status: 'Not_Ok', code: 'EC016' })).toBe('EC016');
    expect(extractBrokerCode({ status: 'Not_Ok', result: { status: 'EC069' } })).toBe('EC069');
    expect(extractBrokerCode({ status: 'Ok', result: [{ status: 'Success' }, { status: 'EC901' }] })).toBe('EC901');
    expect(extractBrokerCode({ result: [{ code: 'EC004' }] })).toBe('EC004');
    expect(extractBrokerCode({ message: 'EC034 Invalid T-OTP' })).toBe('EC034');
    expect(extractBrokerCode({ message: 'ec034: Invalid T-OTP' })).toBe('EC034');
    expect(extractBrokerCode({ result: [{ message: 'EC062 Illegal key' }] })).toBe('EC062');
    expect(extractBrokerCode({ message: 'Invalid, see EC034' })).toBeNull();
    expect(extractBrokerCode({ status: 'Ok', result: { status: 'Success' } })).toBeNull();
  });

  it("takes IIFL's text from where the code stood", () => {
    expect(
      extractBrokerMessage({ status: 'Not_Ok', message: 'Failed', result: [{ status: 'EC016', message: 'Invalid userId or password' }] }),
    ).toBe('Invalid userId or password');
    expect(extractBrokerMessage({ status: 'EC036', message: 'EC036: Invalid T-OTP' })).toBe('Invalid T-OTP');
  });

  it('a body is a failure when it carries a code or Not_Ok anywhere a status stands', () => {
    expect(answerSaysFailure({ cPubKey: 'k' })).toBe(false);
    expect(answerSaysFailure({ status: 'Ok', result: { token: 't' } })).toBe(false);
    expect(answerSaysFailure({ result: { token: 't', status: 'Success' } })).toBe(false);
    expect(answerSaysFailure({ status: 'Not_Ok', result: { token: 't' } })).toBe(true);
    expect(answerSaysFailure({ status: 'Ok', result: [{ status: 'EC016' }] })).toBe(true);
  });
});

describe('answers without a known code', () => {
  it('before any credential: not understood is retryable (UNEXPECTED_RESPONSE)', () => {
    expect(errorFromAnswer({ endpoint: 'enckey', httpStatus: 200, body: { status: 'EC999' } })).toMatchObject({
      code: FailureCode.UnexpectedResponse,
      brokerCode: 'EC999',
      retryable: true,
    });
    expect(errorFromAnswer({ endpoint: 'v2-enckey', httpStatus: 200, body: undefined })).toMatchObject({
      code: FailureCode.UnexpectedResponse,
      retryable: true,
    });
  });

  it.each(['validatepassword', 'validatetotp', 'getusersession', 'v2-password', 'v2-totp', 'vendor-authorize'] as const)(
    'on %s: an unknown code or an answer not understood is never resent (BROKER_REJECTED)',
    (endpoint) => {
      expect(errorFromAnswer({ endpoint, httpStatus: 200, body: { status: 'EC777', message: 'new rule' } })).toMatchObject({
        code: FailureCode.BrokerRejected,
        brokerCode: 'EC777',
        retryable: false,
      });
      expect(errorFromAnswer({ endpoint, httpStatus: 200, body: undefined })).toMatchObject({
        code: FailureCode.BrokerRejected,
        retryable: false,
      });
      expect(errorFromAnswer({ endpoint, httpStatus: 200, body: { status: 'Ok' }, reason: 'answer lacks loginToken' })).toMatchObject({
        code: FailureCode.BrokerRejected,
        retryable: false,
      });
      expect(errorFromAnswer({ endpoint, httpStatus: 404, body: { status: 'Not_Ok' } })).toMatchObject({
        code: FailureCode.BrokerRejected,
      });
    },
  );

  it('HTTP 401/403 without a known code on a login step: IP_NOT_AUTHORISED, never retried, raw status kept', () => {
    for (const endpoint of ['enckey', 'validatepassword', 'v2-password'] as const) {
      for (const status of [401, 403]) {
        const error = errorFromAnswer({ endpoint, httpStatus: status, body: undefined });
        expect(error).toMatchObject({
          code: FailureCode.IpNotAuthorised,
          brokerCode: `HTTP ${status}`,
          httpStatus: status,
          retryable: false,
        });
      }
    }
    // A known code wins over the status.
    expect(errorFromAnswer({ endpoint: 'validatepassword', httpStatus: 403, body: { status: 'EC016' } })).toMatchObject({
      code: FailureCode.BadCredentials,
    });
  });

  it('429 and 5xx are transient; Retry-After is carried', () => {
    expect(errorFromAnswer({ endpoint: 'validatepassword', httpStatus: 429, body: undefined, retryAfterMs: 2000 })).toMatchObject({
      code: FailureCode.RateLimited,
      brokerCode: 'HTTP 429',
      retryable: true,
      retryAfterMs: 2000,
    });
    expect(errorFromAnswer({ endpoint: 'validatepassword', httpStatus: 502, body: undefined })).toMatchObject({
      code: FailureCode.BrokerUnavailable,
      brokerCode: 'HTTP 502',
      retryable: true,
    });
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter(new Date(Date.now() + 60_000).toUTCString())).toBeGreaterThan(55_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });

  it('401 or EC044 on a session call means the session is dead', () => {
    const byStatus = errorFromAnswer({ endpoint: 'profile', httpStatus: 401, body: undefined });
    expect(byStatus).toBeInstanceOf(IiflSessionInvalidError);
    expect(byStatus).toMatchObject({ brokerCode: 'HTTP 401', sessionInvalid: true, retryable: false });
    const byCode = errorFromAnswer({
      endpoint: 'logout',
      httpStatus: 200,
      body: { status: 'EC044', message: 'Error : Token is not valid' },
    });
    expect(byCode).toMatchObject({ brokerCode: 'EC044', sessionInvalid: true, name: 'IiflSessionInvalidError' });
  });
});

describe('sealed answers (cRespEncData)', () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const clientPub = clientPubOf(publicKey);
  const sealFor = (value: unknown) => sealEnvelope(JSON.stringify(value), clientPub, publicKeyFromBase64(clientPub));

  it('opens cRespEncData wherever it stands, before fields are looked for', () => {
    const inner = { status: 'Ok', result: { token: 'login-token', status: 'Success' } };
    for (const body of [
      { cRespEncData: sealFor(inner) },
      { status: 'Ok', result: { cRespEncData: sealFor(inner) } },
      { result: [{ cRespEncData: sealFor(inner) }] },
    ]) {
      expect(pickString(unseal(body, privateKey), [['result', 'token']])).toBe('login-token');
    }
  });

  it('a sealed failure is a failure with its code', () => {
    const opened = unseal({ cRespEncData: sealFor({ status: 'EC016', message: 'Invalid userId or password' }) }, privateKey);
    expect(answerSaysFailure(opened)).toBe(true);
    expect(extractBrokerCode(opened)).toBe('EC016');
  });

  it('an answer that cannot be opened is an error, not a guess', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    expect(() => unseal({ cRespEncData: sealFor({ status: 'Ok' }) }, other)).toThrow(SealedAnswerError);
    expect(() => unseal({ cRespEncData: 'bm90IGFuIGVudmVsb3Bl' }, privateKey)).toThrow(SealedAnswerError);
    expect(() => unseal({ cRespEncData: sealFor({}) }, undefined)).toThrow(SealedAnswerError);
    expect(unseal({ status: 'Ok' }, privateKey)).toEqual({ status: 'Ok' });
  });
});

describe('secrets in errors', () => {
  it('removes secrets from message and stack', () => {
    const error = new IiflError('IIFL x: bad hunter2secret', { code: FailureCode.UnexpectedResponse });
    withoutSecrets(error, ['hunter2secret']);
    expect(error.message).toBe('IIFL x: bad [redacted]');
    expect(error.stack).not.toContain('hunter2secret');
    expect(redactSecrets('abc', ['', 'ab'])).toBe('abc');
  });
});
