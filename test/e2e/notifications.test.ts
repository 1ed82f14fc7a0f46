import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Notice, Streams, type RunCompletedNotice } from '@refresher/contracts';
import { generateAccounts, type SimAccount } from '@refresher/iifl-sim';
import {
  freePort,
  startServiceProcess,
  startWebhookReceiver,
  waitFor,
  type ReceivedWebhook,
  type ServiceProcess,
  type WebhookReceiver,
} from '@refresher/testkit';
import { useSystem } from './harness.ts';

/**
 * Notifications end to end: the services as processes over real NATS and Postgres, the simulator
 * as IIFL, the notifier as a process delivering to a receiver on loopback that checks every
 * signature (the README's recipe) and answers 500 for a while. A morning with failures, then a
 * recovery; a receiver that drops repeats by id keeps exactly one delivery per notice.
 */
describe('notifications of a morning with failures and a later recovery', () => {
  const [good, flaky, shaky] = generateAccounts(3, 'e2e-notify') as [SimAccount, SimAccount, SimAccount];
  const system = useSystem(
    [good, flaky, shaky],
    [
      { ...good, clientName: 'Good' },
      { ...flaky, clientName: 'Flaky' },
      { ...shaky, clientName: 'Shaky' },
    ],
    // No scheduled run in the middle of the story; transient faults retried briefly.
    { REFRESH_SCHEDULE: '0 0 1 1 *', AUTH_RETRY_MAX_ATTEMPTS: '2', AUTH_RETRY_BASE_MS: '100', AUTH_RETRY_MAX_DELAY_MS: '200' },
  );
  const secret = randomBytes(32).toString('hex');
  let receiver: WebhookReceiver;
  let notifier: ServiceProcess;

  beforeAll(async () => {
    receiver = await startWebhookReceiver(secret);
    // The receiver is down (500) until the morning's notices have all been tried once.
    receiver.answer(500);
    const port = await freePort();
    notifier = await startServiceProcess({
      name: 'notifier',
      entry: 'services/notifier/src/main.ts',
      env: {
        NATS_URL: system.nats.url,
        HEALTH_PORT: String(port),
        WEBHOOK_URLS: receiver.url,
        WEBHOOK_SECRET: secret,
        WEBHOOK_RETRY_BASE_MS: '200',
        WEBHOOK_RETRY_MAX_MS: '1000',
        LOG_LEVEL: 'info',
      },
      healthUrl: `http://127.0.0.1:${port}/healthz`,
    });
  }, 60_000);
  afterAll(async () => {
    await notifier?.stop('SIGTERM');
    await receiver?.close();
  });

  const delivered = (type: string, userID?: string): ReceivedWebhook[] =>
    [...receiver.delivered().values()].filter(
      (d) => d.type === type && (!userID || (JSON.parse(d.body) as Notice & { userID?: string }).userID === userID),
    );

  it('a morning with two failures: each failure and the report arrive, signed, once the receiver answers again', async () => {
    // IIFL answers 503 to two accounts' password step, through the login's retries.
    system.sim.setKnobs({
      inject: [flaky, shaky].map((a) => ({ endpoint: 'validatepassword' as const, clientId: a.clientId, httpStatus: 503 })),
    });
    const res = await system.api('/tokens/refresh-all', { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ refreshed: 1, failed: 2 });

    await waitFor(
      'each of the three notices refused once',
      () => new Set(receiver.requests.filter((r) => r.status === 500).map((r) => r.id)).size === 3,
      30_000,
    );
    expect(receiver.delivered().size).toBe(0);
    receiver.answer(200);
    await waitFor('the three notices delivered', () => receiver.delivered().size === 3, 30_000);

    const failures = delivered('tokens.user.failed').map((d) => JSON.parse(d.body) as Notice);
    expect(failures.map((f) => f.type === 'tokens.user.failed' && [f.userID, f.clientName, f.code]).sort()).toEqual([
      [flaky.clientId, 'Flaky', 'BROKER_UNAVAILABLE'],
      [shaky.clientId, 'Shaky', 'BROKER_UNAVAILABLE'],
    ]);
    const [report] = delivered('tokens.run.completed').map((d) => JSON.parse(d.body) as RunCompletedNotice);
    expect(report).toMatchObject({ trigger: 'api', retryOf: null, counts: { total: 3, refreshed: 1, failed: 2, skipped: 0 } });
    expect(report!.needsAttention.count).toBe(2);
    expect(report!.needsAttention.users.map((u) => [u.userID, u.outcome, u.code]).sort()).toEqual([
      [flaky.clientId, 'failed', 'BROKER_UNAVAILABLE'],
      [shaky.clientId, 'failed', 'BROKER_UNAVAILABLE'],
    ]);
  });

  it('a later refresh of a failed user: its recovery and the run’s report arrive', async () => {
    system.sim.setKnobs({ inject: [] });
    const res = await system.api(`/tokens/refresh/${flaky.clientId}`, { method: 'POST' });
    expect(res.status).toBe(200);
    const recovered = await waitFor('the recovery', () => delivered('tokens.user.recovered', flaky.clientId)[0], 30_000);
    expect(JSON.parse(recovered.body)).toMatchObject({ clientName: 'Flaky', failure: { code: 'BROKER_UNAVAILABLE' } });
    await waitFor('the one-user run’s report', () => delivered('tokens.run.completed').length === 2, 30_000);
    expect(delivered('tokens.user.recovered', shaky.clientId)).toEqual([]);
  });

  it('every request was signed; each notice reached the receiver under one id only, and every id is one notice', async () => {
    expect(receiver.requests.every((r) => r.verified)).toBe(true);
    // The receiver was down for a while: some notices took more than one attempt.
    expect(receiver.requests.length).toBeGreaterThan(receiver.delivered().size);
    const bodiesById = new Map<string, Set<string>>();
    const idsByNotice = new Map<string, Set<string>>();
    for (const r of receiver.requests) {
      bodiesById.set(r.id, (bodiesById.get(r.id) ?? new Set()).add(r.body));
      const notice = Notice.parse(JSON.parse(r.body));
      expect(notice.id).toBe(r.id);
      // What the notice tells, without its id: the same event never came under two ids.
      const { id: _id, ...told } = notice;
      idsByNotice.set(JSON.stringify(told), (idsByNotice.get(JSON.stringify(told)) ?? new Set()).add(r.id));
    }
    expect([...bodiesById.values()].every((bodies) => bodies.size === 1)).toBe(true);
    expect([...idsByNotice.values()].every((ids) => ids.size === 1)).toBe(true);

    // The distinct ids the receiver kept are exactly the notices stored in TOKEN_NOTICES.
    const jsm = await system.nc.jetstreamManager();
    const { state } = await jsm.streams.info(Streams.notices.name);
    const stored: string[] = [];
    for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
      stored.push(Notice.parse((await jsm.streams.getMessage(Streams.notices.name, { seq })).json()).id);
    }
    expect(stored).toHaveLength(5);
    expect([...receiver.delivered().keys()].sort()).toEqual([...new Set(stored)].sort());
    expect(notifier.output()).not.toContain(receiver.url);
  });
});
