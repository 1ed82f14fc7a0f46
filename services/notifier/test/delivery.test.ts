import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from 'nats';
import { DeadLetter, NoticeIds, Streams, noticeSubject, type UserFailedNotice } from '@refresher/contracts';
import { decodeJson, encodeJson, loadConfig } from '@refresher/platform';
import { startNats, startWebhookReceiver, waitFor, type TestNats, type WebhookReceiver } from '@refresher/testkit';
import { notifierConfigSchema, startNotifier, type Notifier } from '../src/index.ts';

const secret = 'delivery-test-secret-0123456789abcdef';

function failedNotice(userID: string): UserFailedNotice {
  const eventId = randomUUID();
  return {
    v: 1,
    id: NoticeIds.userFailed(eventId),
    at: new Date().toISOString(),
    type: 'tokens.user.failed',
    userID,
    clientName: `Client ${userID}`,
    runId: 'r1',
    code: 'BROKER_UNAVAILABLE',
    brokerCode: null,
    message: 'IIFL answered 503',
    retryable: true,
    attempts: 3,
    failedAt: new Date().toISOString(),
    previousCode: null,
  };
}

describe('the notifier delivering to webhooks (real NATS, receivers on loopback)', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  const notifiers: Notifier[] = [];
  const receivers: WebhookReceiver[] = [];

  const start = async (urls: string, env: Record<string, string> = {}) => {
    const config = loadConfig(notifierConfigSchema, {
      NATS_URL: nats.url,
      HEALTH_PORT: '0',
      LOG_LEVEL: 'silent',
      WEBHOOK_URLS: urls,
      WEBHOOK_SECRET: secret,
      WEBHOOK_RETRY_BASE_MS: '100',
      WEBHOOK_RETRY_MAX_MS: '400',
      ...env,
    });
    notifiers.push(await startNotifier(config));
  };
  const receiver = async () => {
    const r = await startWebhookReceiver(secret);
    receivers.push(r);
    return r;
  };
  const publish = async (notice: UserFailedNotice) => {
    await nc.jetstream().publish(noticeSubject(notice), encodeJson(notice), { msgID: notice.id });
  };

  beforeAll(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
  });
  afterAll(async () => {
    await Promise.allSettled(notifiers.map((n) => n.stop()));
    await Promise.allSettled(receivers.map((r) => r.close()));
    await nc?.close();
    await nats?.dispose();
  });

  it('a webhook that does not answer delays no other; once back it gets every notice, each with the id of its first attempt', async () => {
    const [up, down, slack] = [await receiver(), await receiver(), await receiver()];
    down.answer('hang');
    await start(`${up.url},${down.url},slack=${slack.url}`, { WEBHOOK_TIMEOUT_MS: '60000' });
    const notices = ['D1', 'D2', 'D3', 'D4', 'D5'].map(failedNotice);
    for (const notice of notices) await publish(notice);
    // The same notice published again (a repeat within the window) is stored once.
    await publish(notices[0]!);

    await waitFor('every notice at the webhooks that answer', () => up.delivered().size === 5 && slack.delivered().size === 5);
    // Meanwhile the other one holds requests it has not answered: none of them went through.
    expect(down.requests.length).toBeGreaterThan(0);
    expect(down.delivered().size).toBe(0);
    expect([...up.delivered().keys()].sort()).toEqual(notices.map((n) => n.id).sort());
    expect(JSON.parse(up.delivered().get(notices[0]!.id)!.body)).toEqual(notices[0]);
    expect(JSON.parse(slack.delivered().get(notices[0]!.id)!.body)).toEqual({
      text: ':x: Client D1 (D1) could not be logged in: BROKER_UNAVAILABLE — IIFL answered 503',
    });

    down.answer(500);
    await waitFor('retries answered 500', () => down.requests.filter((r) => r.status === 500).length >= 5);
    down.answer(200);
    await waitFor('every notice at the webhook that is back', () => down.delivered().size === 5);
    for (const notice of notices) {
      const attempts = down.requests.filter((r) => r.id === notice.id);
      expect(attempts.length, notice.id).toBeGreaterThanOrEqual(2);
      expect(new Set(attempts.map((a) => a.body)).size).toBe(1);
      expect(attempts.map((a) => a.attempt)).toEqual(attempts.map((_, i) => i + 1));
    }
    for (const r of [up, down, slack]) {
      expect(r.requests.every((req) => req.verified)).toBe(true);
      expect(new Set(r.requests.map((req) => req.id))).toEqual(new Set(notices.map((n) => n.id)));
    }
    // Every attempt is counted on /metrics by what became of it.
    // (The answer reaches the receiver's record a moment before the notifier counts it.)
    const metrics = await waitFor('the last answers counted', async () => {
      const text = await (await fetch(`http://127.0.0.1:${notifiers[0]!.healthPort}/metrics`)).text();
      return text.includes('refresher_webhook_deliveries_total{outcome="delivered",service="notifier"} 15') ? text : undefined;
    });
    const count = (outcome: string) =>
      Number(new RegExp(`^refresher_webhook_deliveries_total\\{outcome="${outcome}"[^}]*\\} (\\d+)$`, 'm').exec(metrics)?.[1]);
    expect(count('delivered')).toBe(15);
    expect(count('retry')).toBe(down.requests.length - 5);
  });

  it('dead-letters a notice not delivered within the give-up time, and a message that is no notice', async () => {
    // The notifier of the first test is gone, and so are its notices.
    await Promise.all(notifiers.splice(0).map((n) => n.stop()));
    await (await nc.jetstreamManager()).streams.purge(Streams.notices.name);
    const broken = await receiver();
    broken.answer(503);
    const letters: DeadLetter[] = [];
    nc.subscribe('tokens.dlq.notifier', { callback: (_err, msg) => letters.push(DeadLetter.parse(decodeJson(msg.data))) });
    await nc.flush();
    await start(broken.url, { WEBHOOK_GIVE_UP_MS: '1500' });
    const notice = failedNotice('G1');
    await publish(notice);
    await nc.jetstream().publish('tokens.user.failed.G2', encodeJson({ hello: 'world' }));

    const byPayload = (letter: DeadLetter) => Buffer.from(letter.payload, 'base64').toString('utf8');
    const undelivered = await waitFor(
      'the notice dead-lettered',
      () => letters.find((l) => byPayload(l) === JSON.stringify(notice)),
      20_000,
    );
    expect(letters).toHaveLength(2);
    expect(undelivered.subject).toBe('tokens.user.failed.G1');
    expect(undelivered.reason).toMatch(/^webhook [0-9a-f]{16}: not delivered after \d+ attempts in 0 min, last HTTP 503$/);
    expect(undelivered.deliveries).toBeGreaterThan(2);
    expect(letters.find((l) => l.subject === 'tokens.user.failed.G2')!.reason).toMatch(/^not a notice/);
    // The URL (it may hold a secret) is in no dead letter.
    expect(letters.some((l) => l.reason.includes(broken.url))).toBe(false);
    expect(broken.requests.every((r) => r.id === notice.id && r.verified)).toBe(true);
  });
});
