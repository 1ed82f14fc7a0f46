import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FailureCode, type RefreshRequested } from '@refresher/contracts';
import { encodeJson, ServiceCallError } from '@refresher/platform';
import { claimStep, readLockEntry, type LockValue } from '../src/login-lock.ts';
import { outcomeCode } from '../src/decide-under-lock.ts';
import { parseRequest } from '../src/parse-request.ts';
import { aborted, afterLogin, handBackDelay, unanswered, type Decision } from '../src/refresh-decision.ts';
import type { LoginOutcome } from '../src/login-with-retries.ts';

const request: RefreshRequested = {
  v: 1,
  eventId: randomUUID(),
  runId: 'run-1',
  userID: 'U1',
  trigger: 'api',
  requestedAt: new Date(0).toISOString(),
};
const delivery = (deliveries: number, lastDelivery = false) => ({ request, deliveries, lastDelivery });
const NAK_MS = 5_000;

/** The part of a decision a table can state: its kind, delay, and the subject and code it publishes. */
function summary(decision: Decision) {
  if (decision.kind === 'hand-back') return { handBack: decision.delayMs, attempts: decision.attempts };
  return { publish: decision.event.subject, code: decision.code, attempts: decision.attempts };
}

describe('handBackDelay', () => {
  it.each([
    [1, 5_000],
    [2, 10_000],
    [4, 40_000],
    [5, 60_000],
    [50, 60_000],
  ])('delivery %i: %i ms', (deliveries, delayMs) => {
    expect(handBackDelay(NAK_MS, deliveries)).toBe(delayMs);
  });

  it('never shortens a first delay longer than the usual cap', () => {
    expect(handBackDelay(90_000, 3)).toBe(90_000);
  });
});

describe('unanswered: persistence did not give the credentials', () => {
  const notFound = new ServiceCallError('persistence.credentials.get', 404, 'not found');
  const unavailable = new ServiceCallError('persistence.credentials.get', 503, 'no answer');
  const incomplete = new ServiceCallError('persistence.credentials.get', 409, 'stored credentials are incomplete: missing totpSecret');
  it.each<[string, unknown, ReturnType<typeof delivery>, ReturnType<typeof summary>]>([
    ['a 404 fails the user', notFound, delivery(1), { publish: 'tokens.failed.U1', code: 'USER_NOT_FOUND', attempts: 0 }],
    [
      'a 409 (incomplete row) fails the user on the first delivery',
      incomplete,
      delivery(1),
      { publish: 'tokens.failed.U1', code: 'CREDENTIALS_INCOMPLETE', attempts: 0 },
    ],
    ['no answer is handed back, the delay doubling', unavailable, delivery(2), { handBack: 10_000, attempts: 0 }],
    ['any other error is handed back too', new Error('boom'), delivery(1), { handBack: 5_000, attempts: 0 }],
    [
      'on the last delivery it fails the user',
      unavailable,
      delivery(5, true),
      { publish: 'tokens.failed.U1', code: 'CREDENTIALS_UNAVAILABLE', attempts: 0 },
    ],
  ])('%s', (_, err, d, expected) => {
    expect(summary(unanswered(d, err, NAK_MS))).toEqual(expected);
  });
});

describe('aborted: stopped by a shutdown', () => {
  it.each<[string, ReturnType<typeof delivery>, number, ReturnType<typeof summary>]>([
    ['before any attempt: handed back at once', delivery(1), 0, { handBack: 0, attempts: 0 }],
    ['after an attempt: handed back after a TOTP step', delivery(1), 2, { handBack: 30_000, attempts: 2 }],
    ['on the last delivery: announced as INTERNAL', delivery(5, true), 1, { publish: 'tokens.failed.U1', code: 'INTERNAL', attempts: 1 }],
  ])('%s', (_, d, attempts, expected) => {
    expect(summary(aborted(d, attempts))).toEqual(expected);
  });
});

describe('afterLogin', () => {
  const result = { token: 'tok', tokenValidity: new Date(1_000), loginTime: new Date(0) };
  const failed = (code: FailureCode, retryable: boolean): LoginOutcome => ({
    kind: 'failed',
    failure: { code, brokerCode: null, message: 'm', retryable },
    attempts: 3,
  });
  it.each<[string, LoginOutcome, ReturnType<typeof delivery>, ReturnType<typeof summary>]>([
    [
      'a session is published',
      { kind: 'refreshed', result, attempts: 2 },
      delivery(1),
      { publish: 'tokens.refreshed.U1', code: null, attempts: 2 },
    ],
    [
      'a broker refusal is published',
      failed(FailureCode.BadCredentials, false),
      delivery(1),
      { publish: 'tokens.failed.U1', code: 'BAD_CREDENTIALS', attempts: 3 },
    ],
    ['a fault of ours is handed back', failed(FailureCode.Internal, false), delivery(3), { handBack: 20_000, attempts: 3 }],
    [
      'a fault of ours on the last delivery is published',
      failed(FailureCode.Internal, false),
      delivery(5, true),
      { publish: 'tokens.failed.U1', code: 'INTERNAL', attempts: 3 },
    ],
    ['an abort after attempts waits a TOTP step', { kind: 'aborted', attempts: 1 }, delivery(1), { handBack: 30_000, attempts: 1 }],
  ])('%s', (_, outcome, d, expected) => {
    expect(summary(afterLogin(d, outcome, NAK_MS))).toEqual(expected);
  });

  it('publishes the token with the request run and the attempts it took', () => {
    const decision = afterLogin(delivery(1), { kind: 'refreshed', result, attempts: 2 }, NAK_MS);
    expect(decision.kind === 'publish' && decision.event.payload).toMatchObject({
      runId: 'run-1',
      userID: 'U1',
      token: 'tok',
      attempts: 2,
    });
  });
});

describe('outcomeCode', () => {
  it.each<[string, Decision, string | null]>([
    [
      'a token has none',
      afterLogin(
        delivery(1),
        { kind: 'refreshed', result: { token: 't', tokenValidity: new Date(), loginTime: new Date() }, attempts: 1 },
        NAK_MS,
      ),
      null,
    ],
    ['a failure has its code', unanswered(delivery(1), new ServiceCallError('s', 404, 'x'), NAK_MS), 'USER_NOT_FOUND'],
    ['an interruption on the last delivery', aborted(delivery(5, true), 0), 'INTERNAL'],
  ])('%s', (_, decision, code) => {
    if (decision.kind !== 'publish') throw new Error('expected a publish');
    expect(outcomeCode(decision.event)).toBe(code);
  });
});

describe('parseRequest', () => {
  const subject = 'tokens.refresh.requested.U1';
  it.each<[string, string, Uint8Array, string | null]>([
    ['a valid request', subject, encodeJson(request), null],
    ['not JSON', subject, new TextEncoder().encode('{'), 'payload is not JSON'],
    [
      'a payload of another shape',
      subject,
      encodeJson({ ...request, trigger: 'cron' }),
      'payload does not match RefreshRequested: trigger: ',
    ],
    ['a subject naming another user', 'tokens.refresh.requested.U2', encodeJson(request), 'subject userID does not match payload userID'],
    ['a subject outside the requests', 'tokens.other.U1', encodeJson(request), 'subject userID does not match payload userID'],
  ])('%s', (_, msgSubject, data, reason) => {
    const parsed = parseRequest({ subject: msgSubject, data });
    if (reason === null) expect(parsed).toEqual({ ok: true, request });
    else expect(parsed.ok === false && parsed.reason.startsWith(reason)).toBe(true);
  });
});

describe('login lock: what a claim does next', () => {
  const running: LockValue = { state: 'running', owner: 'a' };
  const done: LockValue = { state: 'done', owner: 'a', seq: 42 };
  it.each<[string, LockValue | null, number, number | undefined, boolean, ReturnType<typeof claimStep>]>([
    ['no entry: take it', null, 0, undefined, true, { step: 'take' }],
    ['a login running: wait', running, 3, undefined, true, { step: 'wait' }],
    ['done after the running entry it saw: join', done, 5, 3, true, { step: 'join', seq: 42 }],
    ['done, but it never saw the login run: take it', done, 5, undefined, true, { step: 'take' }],
    ['done at the revision it saw running: take it', done, 3, 3, true, { step: 'take' }],
    ['done, but joining is not wanted: take it', done, 5, 3, false, { step: 'take' }],
  ])('%s', (_, value, revision, sawRunning, join, step) => {
    expect(claimStep(value, revision, sawRunning, join)).toEqual(step);
  });

  const entry = (operation: 'PUT' | 'DEL', value: unknown) => ({
    operation,
    json: <T>() => (typeof value === 'string' ? JSON.parse(value) : value) as T,
  });
  it.each<[string, ReturnType<typeof entry> | null, LockValue | null]>([
    ['none', null, null],
    ['a running entry', entry('PUT', running), running],
    ['a done entry', entry('PUT', done), done],
    ['a deleted entry', entry('DEL', running), null],
    ['a done entry without a sequence', entry('PUT', { state: 'done', owner: 'a' }), null],
    ['something that is not JSON', entry('PUT', '{'), null],
  ])('reads %s', (_, e, value) => {
    expect(readLockEntry(e)).toEqual(value);
  });
});
