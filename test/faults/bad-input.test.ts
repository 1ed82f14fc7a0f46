import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { headers as natsHeaders, type NatsConnection } from 'nats';
import {
  PersistenceApi,
  RefreshRequested,
  Streams,
  Subjects,
  TokenFailed,
  TokenRefreshed,
  TokenSkipped,
  USER_ID_PATTERN,
  UserId,
} from '@refresher/contracts';
import { encodeJson } from '@refresher/platform';
import { waitFor, type ServiceProcess } from '@refresher/testkit';
import { report, useRig } from './rig.ts';

const API = '/api/integration';
/** Characters that would change a NATS subject, plus others no user id may hold. */
const FORBIDDEN = ['.', '*', '>', ' ', '\t', '/', '\\', '\u0000', '$', '%', '?', '#', 'é', '\n'];

/** A string that is not a valid user id: a forbidden character somewhere, empty, or too long. */
const badUserId = fc.oneof(
  fc.tuple(fc.string({ maxLength: 20 }), fc.constantFrom(...FORBIDDEN), fc.string({ maxLength: 20 })).map(([a, c, b]) => a + c + b),
  fc.constant(''),
  fc.string({ minLength: 65, maxLength: 200, unit: fc.constantFrom('a', 'B', '1', '_') }),
);
/** A syntactically valid user id that no user has. */
const unknownUserId = fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/).map((s) => `nobody-${s}`.slice(0, 64));

/**
 * Property-based bad input against the running services (processes), thousands of cases.
 *
 * Invariants: no HTTP answer is a 5xx and every 4xx carries `success: false` and a message; no
 * request-reply answer is a 500 or missing (a 4xx service error names the problem); no event the
 * schemas forbid is applied (every one is dead-lettered, nothing reaches the database); no process
 * exits; and a valid request still works afterwards.
 */
describe('bad input everywhere', () => {
  let gateway: ServiceProcess & { port: number };
  let base: string;
  let nc: NatsConnection;
  const tally = { http: 0, requestReply: 0, events: 0, schema: 0 };
  const statuses: Record<number, number> = {};
  const rig = useRig(
    {
      users: 2,
      prefix: 'fuzz',
      // The gateway's brakes on wrong keys and on refresh calls are lifted: the fuzzing is the point.
      env: {
        AUTH_FREE_FAILURES: '1000000',
        AUTH_FAILURE_DELAY_MS: '0',
        REFRESH_BURST: '1000000',
        REFRESH_RATE_PER_MINUTE: '1000000',
        REFRESH_WAIT_MS: '20000',
      },
    },
    async (r) => {
      nc = r.nc;
      await r.start('iifl-auth');
      gateway = await r.start('gateway');
      base = `http://127.0.0.1:${gateway.port}${API}`;
    },
  );

  const key = () => rig.env['INTEGRATION_API_KEY']!;

  async function call(method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}) {
    tally.http++;
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${key()}`, 'content-type': 'application/json', ...init.headers },
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
    statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    const text = await res.text();
    return { status: res.status, text };
  }

  /** The HTTP invariant: never a 5xx; a 4xx is JSON with success:false and a message. */
  function expectClean(answer: { status: number; text: string }, what: string) {
    expect(answer.status, `${what} -> ${answer.status} ${answer.text.slice(0, 200)}`).toBeLessThan(500);
    if (answer.status >= 400) {
      const body = JSON.parse(answer.text) as { success?: unknown; message?: unknown; error?: unknown };
      expect(body.success, what).toBe(false);
      expect(typeof (body.message ?? body.error), what).toBe('string');
    }
  }

  it('gateway: bad and unknown user ids and run ids in every route', async () => {
    const routes: [string, (id: string) => string][] = [
      ['POST', (id) => `/tokens/refresh/${id}`],
      ['GET', (id) => `/users/${id}/token`],
      ['GET', (id) => `/tokens/runs/${id}`],
    ];
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), fc.oneof(badUserId, unknownUserId), async ([method, path], id) => {
        const answer = await call(method, path(encodeURIComponent(id)), { headers: { prefer: 'respond-async' } });
        expectClean(answer, `${method} ${path(JSON.stringify(id))}`);
        // A user id that could reach a subject is refused before anything is asked of NATS.
        if (!USER_ID_PATTERN.test(id) && id.length > 0 && !['.', '..'].includes(id)) expect([400, 404]).toContain(answer.status);
      }),
      { numRuns: 600 },
    );
  }, 120_000);

  it('gateway: malformed, mistyped and huge bodies', async () => {
    const bodyRoutes = ['/broker/token', '/tokens/sync'];
    const mistyped = fc.record(
      {
        userID: fc.oneof(fc.anything(), badUserId),
        userId: fc.oneof(fc.anything(), badUserId),
        token: fc.anything(),
        accessToken: fc.anything(),
        tokenValidity: fc.anything(),
        loginStatus: fc.anything(),
        clientName: fc.anything(),
      },
      { requiredKeys: [] },
    );
    const body = fc.oneof(
      fc.json().map((j) => j),
      fc.anything().map((v) => JSON.stringify(v) ?? 'null'),
      mistyped.map((v) => JSON.stringify(v)),
      fc.string(), // mostly not JSON at all
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...bodyRoutes), body, async (path, text) => {
        expectClean(await call('POST', path, { body: text }), `POST ${path} ${text.slice(0, 80)}`);
      }),
      { numRuns: 700 },
    );
    // Huge bodies: refused with 413 before anything is parsed.
    for (const size of [20_000, 1_000_000]) {
      const answer = await call('POST', '/broker/token', { body: JSON.stringify({ userID: 'x', token: 'a'.repeat(size) }) });
      expect(answer.status).toBe(413);
      expectClean(answer, 'huge body');
    }
  }, 120_000);

  it('gateway: wrong, malformed and missing API keys', async () => {
    const paths = ['/tokens/refresh-all', '/tokens/refresh/U1', '/users/U1/token', '/broker/token', '/tokens/runs/r1'];
    const header = fc.oneof(
      fc.string().map((s) => `Bearer ${s}`),
      fc.string(),
      fc.constant(''),
      fc.constant(`Bearer ${'x'.repeat(10_000)}`),
      fc.constant('Basic dXNlcjpwYXNz'),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...paths), header, async (path, authorization) => {
        // Header values must be ByteStrings; others cannot be sent by a client at all.
        const sendable = [...authorization].every((ch) => ch.charCodeAt(0) >= 0x20 && ch.charCodeAt(0) <= 0xff && ch !== '\u007f');
        if (!sendable || authorization.trim() === `Bearer ${key()}`) return;
        const method = path.startsWith('/users') || path.startsWith('/tokens/runs') ? 'GET' : 'POST';
        const answer = await call(method, path, { headers: { authorization } });
        expect(answer.status).toBe(401);
        expectClean(answer, `${path} with a wrong key`);
      }),
      { numRuns: 400 },
    );
    const missing = await fetch(`${base}/tokens/refresh-all`, { method: 'POST' });
    expect(missing.status).toBe(401);
  }, 120_000);

  it('persistence request-reply: malformed requests get a 4xx service error, never a 500 or silence', async () => {
    const subjects = [
      PersistenceApi.startRun.subject,
      PersistenceApi.getRun.subject,
      PersistenceApi.getCredentials.subject,
      PersistenceApi.tokenStatus.subject,
      PersistenceApi.pushToken.subject,
    ];
    const payload = fc.oneof(
      fc.anything().map((v) => encodeJson(v)),
      fc.uint8Array({ maxLength: 200 }),
      fc
        .record(
          { userID: fc.oneof(badUserId, fc.anything()), runId: fc.oneof(badUserId, fc.anything()), trigger: fc.anything() },
          { requiredKeys: [] },
        )
        .map((v) => encodeJson(v)),
    );
    const codes: Record<string, number> = {};
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...subjects), payload, async (subject, data) => {
        tally.requestReply++;
        const reply = await nc.request(subject, data, { timeout: 5_000, headers: natsHeaders() });
        const code = reply.headers?.get('Nats-Service-Error-Code') ?? '';
        codes[code || 'ok'] = (codes[code || 'ok'] ?? 0) + 1;
        if (code) {
          expect(Number(code), `${subject}: ${code} ${reply.headers?.get('Nats-Service-Error')}`).toBeGreaterThanOrEqual(400);
          expect(Number(code)).toBeLessThan(500);
          expect(reply.headers?.get('Nats-Service-Error')).toBeTruthy();
        }
      }),
      { numRuns: 600 },
    );
    report('bad-input-request-reply', { requests: tally.requestReply, answers: codes });
  }, 120_000);

  it('events the schemas forbid are dead-lettered by their consumers and never applied', async () => {
    const user = rig.accounts[0]!.clientId;
    const valid = {
      requested: { v: 1, eventId: 'e', runId: 'run-1', userID: user, trigger: 'api', requestedAt: new Date().toISOString() },
      refreshed: {
        v: 1,
        eventId: 'e',
        runId: 'run-1',
        userID: user,
        token: 't',
        tokenValidity: new Date().toISOString(),
        loginTime: new Date().toISOString(),
        source: 'login',
        attempts: 1,
      },
    };
    // A valid event with one field replaced by anything, one field removed, or one field added.
    const mutated = (event: Record<string, unknown>) =>
      fc.oneof(
        fc.tuple(fc.constantFrom(...Object.keys(event)), fc.oneof(fc.anything(), badUserId)).map(([k, v]) => ({ ...event, [k]: v })),
        fc.constantFrom(...Object.keys(event)).map((k) => Object.fromEntries(Object.entries(event).filter(([key]) => key !== k))),
        fc.tuple(fc.string({ minLength: 1 }), fc.anything()).map(([k, v]) => ({ ...event, [`x${k}`]: v })),
      );
    // Judged as the consumer sees it, after JSON encoding (NaN becomes null, undefined keys vanish).
    const onTheWire = (v: unknown): unknown => JSON.parse(JSON.stringify(v) ?? 'null');
    const forbidden = (schema: { safeParse(v: unknown): { success: boolean } }, event: Record<string, unknown>) =>
      fc
        .oneof(mutated(event), fc.anything())
        .map(onTheWire)
        .filter((v) => !schema.safeParse(v).success || (v as { userID?: unknown } | null)?.userID !== user);

    const js = nc.jetstream();
    const jsm = await nc.jetstreamManager();
    const before = (await jsm.streams.info(Streams.deadLetters.name)).state.messages;
    let published = 0;
    const samples = fc.sample(
      fc.oneof(
        forbidden(RefreshRequested, valid.requested).map((v) => [Subjects.refreshRequested(user), v] as const),
        forbidden(TokenRefreshed, valid.refreshed).map((v) => [Subjects.refreshed(user), v] as const),
        forbidden(TokenFailed, valid.refreshed).map((v) => [Subjects.failed(user), v] as const),
        forbidden(TokenSkipped, valid.refreshed).map((v) => [Subjects.skipped(user), v] as const),
      ),
      { numRuns: 600 },
    );
    for (const [subject, value] of samples) {
      await js.publish(subject, encodeJson(value) ?? new Uint8Array());
      published++;
    }
    // Plus payloads that are not JSON at all.
    for (const subject of [Subjects.refreshRequested(user), Subjects.refreshed(user)]) {
      await js.publish(subject, new TextEncoder().encode('{not json'));
      published++;
    }
    tally.events = published;
    const letters = await waitFor(
      'every forbidden event dead-lettered',
      async () => {
        const n = (await jsm.streams.info(Streams.deadLetters.name)).state.messages - before;
        return n >= published ? n : undefined;
      },
      60_000,
      200,
    );
    const applied = await rig.sql.query<{ n: string }>('select count(*) as n from processed_events');
    // (A fuzzed start request may have registered a run: its rows stay pending, none gets an outcome.)
    const outcomes = await rig.sql.query<{ n: string }>("select count(*) as n from refresh_outcomes where outcome <> 'pending'");
    const tokens = await rig.sql.query<{ n: string }>('select count(*) as n from "IIFLUser" where token is not null');
    report('bad-input-events', { published, deadLettered: letters, applied: Number(applied.rows[0]!.n) });
    expect(letters).toBe(published);
    expect(Number(applied.rows[0]!.n)).toBe(0);
    expect(Number(outcomes.rows[0]!.n)).toBe(0);
    expect(Number(tokens.rows[0]!.n)).toBe(0);
    // The work queue is empty: nothing is stuck behind a poison message.
    expect((await jsm.streams.info(Streams.requests.name)).state.messages).toBe(0);
  }, 120_000);

  it('schemas: no user id that could change a subject is accepted, no unknown field passes', () => {
    fc.assert(
      fc.property(badUserId, (id) => {
        tally.schema++;
        expect(UserId.safeParse(id).success).toBe(false);
        expect(() => Subjects.refreshRequested(id)).toThrow();
        expect(
          RefreshRequested.safeParse({ v: 1, eventId: 'e', runId: 'r', userID: id, trigger: 'api', requestedAt: new Date().toISOString() })
            .success,
        ).toBe(false);
      }),
      { numRuns: 1500 },
    );
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), (id) => {
        tally.schema++;
        // A valid id makes a subject of exactly four tokens with no wildcard.
        expect(Subjects.refreshRequested(id).split('.')).toHaveLength(4);
        expect(Subjects.refreshRequested(id)).not.toMatch(/[*> ]/);
      }),
      { numRuns: 500 },
    );
  });

  it('every process is still up, and a valid request still works', async () => {
    for (const service of rig.services) expect(service.child.exitCode, service.name).toBeNull();
    const user = rig.accounts[1]!.clientId;
    const answer = await call('POST', `/tokens/refresh/${user}`);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toMatchObject({ success: true, userID: user });
    report('bad-input-http', { requests: tally.http, statuses, schemaCases: tally.schema, events: tally.events });
  }, 60_000);
});
