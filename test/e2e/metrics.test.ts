import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import parsePrometheusTextFormat, { type MetricFamily } from 'parse-prometheus-text-format';
import { generateAccounts } from '@refresher/iifl-sim';
import {
  freePort,
  startServiceProcess,
  startWebhookReceiver,
  waitFor,
  type ServiceProcess,
  type WebhookReceiver,
} from '@refresher/testkit';
import { useSystem, type SeedUser } from './harness.ts';

type Service = 'gateway' | 'persistence' | 'iifl-auth' | 'scheduler' | 'notifier';
const SERVICES: Service[] = ['gateway', 'persistence', 'iifl-auth', 'scheduler', 'notifier'];

/** One scrape: the families by name, after checking the text parses and every series names its service. */
interface Scrape {
  families: Map<string, MetricFamily>;
  /** The value of the series with these labels (a histogram: its count); 0 when it does not exist. */
  value(name: string, labels?: Record<string, string>): number;
}

/**
 * The series of a family with their labels and values. The parser folds a histogram's buckets
 * together and drops its labels, so a histogram is read as its `_count` series (parsed as untyped).
 */
function seriesOf(text: string, family: MetricFamily): Array<{ labels: Record<string, string>; value: number }> {
  if (family.type !== 'HISTOGRAM') return family.metrics.map((m) => ({ labels: m.labels ?? {}, value: Number(m.value) }));
  const counts = text.split('\n').filter((line) => line.startsWith(`${family.name}_count{`) || line.startsWith(`${family.name}_count `));
  return parsePrometheusTextFormat(`${counts.join('\n')}\n`).flatMap((f) => seriesOf('', f));
}

function parseScrape(text: string, service: Service): Scrape {
  const families = new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
  expect(families.size).toBeGreaterThan(10);
  for (const family of families.values()) {
    expect(family.name).toMatch(/^refresher_[a-z0-9_]+$/);
    expect(family.type).not.toBe('UNTYPED');
    for (const series of seriesOf(text, family)) expect(series.labels.service).toBe(service);
  }
  return {
    families,
    value(name, labels = {}) {
      const family = families.get(name);
      const series = family ? seriesOf(text, family) : [];
      const matching = series.filter((m) => Object.entries(labels).every(([k, v]) => m.labels[k] === v));
      return matching.reduce((sum, m) => sum + m.value, 0);
    },
  };
}

/**
 * Every service's `/metrics` as Prometheus would scrape it, around a refresh of a few users through
 * the gateway: the counters of that refresh move, and the tokens valid now are the users refreshed.
 */
describe('metrics', () => {
  const [good1, good2, good3, wrongPassword] = generateAccounts(4, 'metrics');
  const users: SeedUser[] = [
    { ...good1!, clientName: 'Metrics One' },
    { ...good2!, clientName: 'Metrics Two' },
    { ...good3!, clientName: 'Metrics Three' },
    { ...wrongPassword!, clientName: 'Metrics Wrong', password: 'not-the-password' },
  ];
  const system = useSystem([good1!, good2!, good3!, wrongPassword!], users);
  // The notifier, delivering to a receiver on loopback (the system runs the other four).
  const secret = randomBytes(32).toString('hex');
  let receiver: WebhookReceiver;
  let notifier: ServiceProcess;
  let notifierUrl: string;
  beforeAll(async () => {
    receiver = await startWebhookReceiver(secret);
    const port = await freePort();
    notifierUrl = `http://127.0.0.1:${port}`;
    notifier = await startServiceProcess({
      name: 'notifier',
      entry: 'services/notifier/src/main.ts',
      env: { NATS_URL: system.nats.url, HEALTH_PORT: String(port), WEBHOOK_URLS: receiver.url, WEBHOOK_SECRET: secret, LOG_LEVEL: 'info' },
      healthUrl: `${notifierUrl}/healthz`,
    });
  }, 60_000);
  afterAll(async () => {
    await notifier?.stop('SIGTERM');
    await receiver?.close();
  });
  const url = (service: Service) => {
    if (service === 'gateway') return system.gatewayUrl.replace(/\/api\/integration$/, '');
    return service === 'notifier' ? notifierUrl : system.healthUrls[service];
  };
  const scrape = async (service: Service): Promise<Scrape> => {
    const res = await fetch(`${url(service)}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseScrape(await res.text(), service);
  };
  const scrapeAll = async () => Object.fromEntries(await Promise.all(SERVICES.map(async (s) => [s, await scrape(s)] as const)));

  it('serves every service at /metrics, and the counters follow a refresh', { timeout: 90_000 }, async () => {
    const before = await scrapeAll();
    for (const service of SERVICES) expect(before[service]!.families.has('refresher_process_resident_memory_bytes')).toBe(true);
    expect(before.persistence!.value('refresher_tokens_valid')).toBe(0);

    const res = await system.api('/tokens/refresh-all', { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ refreshed: 3, failed: 1 });

    const after = await scrapeAll();
    const moved = (service: Service, name: string, labels?: Record<string, string>) =>
      after[service]!.value(name, labels) - before[service]!.value(name, labels);
    expect(moved('iifl-auth', 'refresher_logins_total', { outcome: 'refreshed' })).toBe(3);
    expect(moved('iifl-auth', 'refresher_logins_total', { outcome: 'failed', code: 'BAD_CREDENTIALS' })).toBe(1);
    expect(moved('iifl-auth', 'refresher_credential_rejections_total', { code: 'BAD_CREDENTIALS' })).toBe(1);
    expect(moved('iifl-auth', 'refresher_login_duration_seconds', { outcome: 'refreshed' })).toBe(3);
    // Each login is several IIFL calls (key exchange, password, TOTP, session, profile), each timed.
    expect(moved('iifl-auth', 'refresher_iifl_call_duration_seconds', { result: '2xx' })).toBeGreaterThanOrEqual(12);
    expect(after['iifl-auth']!.families.get('refresher_work_queue_pending')?.type).toBe('GAUGE');
    const refreshAll = { method: 'POST', route: '/api/integration/tokens/refresh-all', status: '200' };
    expect(moved('gateway', 'refresher_http_requests_total', refreshAll)).toBe(1);
    expect(after.scheduler!.families.get('refresher_morning_needs_attention')).toBeUndefined();

    // The run's completion is counted once persistence has read its row; valid tokens are read at most every 5 s.
    await waitFor(
      'the run counted',
      async () => (await scrape('persistence')).value('refresher_runs_completed_total', { trigger: 'api' }) === 1,
    );
    const persistence = await waitFor(
      'the tokens valid now',
      async () => {
        const s = await scrape('persistence');
        return s.value('refresher_tokens_valid') === 3 ? s : undefined;
      },
      15_000,
    );
    expect(persistence.value('refresher_run_duration_seconds', { trigger: 'api' })).toBe(1);
    expect(persistence.value('refresher_tokens_valid')).toBe(3);
    // The run's report (and the failed user's notice) reached the receiver, each attempt counted.
    await waitFor('the notices delivered and counted', async () => {
      const delivered = (await scrape('notifier')).value('refresher_webhook_deliveries_total', { outcome: 'delivered' });
      return receiver.delivered().size >= 2 && delivered === receiver.requests.length;
    });
    // No morning ran yet: nothing needs attention, and its start time says none.
    expect(persistence.value('refresher_morning_requested_timestamp_seconds')).toBe(0);
  });
});
