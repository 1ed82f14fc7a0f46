import { connect, type NatsConnection } from 'nats';
import type pg from 'pg';
import { decodeJson } from '@refresher/platform';
import { percentile, round } from './stats.ts';
import { API_KEY } from './system.ts';

export interface RunResult {
  runId: string;
  users: number;
  refreshed: number;
  failed: number;
  /** First failure codes and how often each occurred. */
  failureCodes: Record<string, number>;
  /** From the request to the gateway's 202 (the run registered and every request published). */
  acceptedMs: number;
  wallSeconds: number;
  usersPerSecond: number;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null; max: number | null };
  deliveryMs: { p50: number | null; p99: number | null; max: number | null };
  deliveryAfterStoreMs: { p50: number | null; p99: number | null };
  delivered: number;
}

/** When this process held a user's token event, and the login time the event carries (both epoch ms). */
type Receipt = { at: number; loginTime: number };

/** What this process hears on NATS during a run: each user's token event, and the last run completed. */
interface RunEvents {
  received: Map<string, Receipt>;
  completedRun(): string | null;
}

/** One requested user's row of the run's outcomes; `at` is when it was recorded (epoch ms). */
type OutcomeRow = { user_id: string; outcome: string; code: string | null; at: string | null };

/** The run as the gateway accepted it: its id, when it was asked for, and how long the 202 took. */
interface AcceptedRun {
  runId: string;
  t0: number;
  acceptedMs: number;
}

/** The per-user samples of a run, read from its outcome rows and the events received. */
interface RunSamples {
  latencies: number[];
  deliveries: number[];
  afterStore: number[];
  failureCodes: Record<string, number>;
  lastAt: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Subscribes to token events and run completions before the run starts (flushed, so none is missed). */
async function listenForRunEvents(nc: NatsConnection): Promise<RunEvents> {
  const received = new Map<string, Receipt>();
  let completedRun: string | null = null;
  const tokens = nc.subscribe('tokens.refreshed.>');
  void (async () => {
    for await (const msg of tokens) {
      const at = Date.now();
      const event = decodeJson(msg.data) as { userID?: string; loginTime?: string; runId?: string } | undefined;
      if (event?.userID && event.loginTime) received.set(event.userID, { at, loginTime: Date.parse(event.loginTime) });
    }
  })();
  const completions = nc.subscribe('runs.*.completed');
  void (async () => {
    for await (const msg of completions) completedRun = msg.subject.split('.')[1] ?? null;
  })();
  await nc.flush();
  return { received, completedRun: () => completedRun };
}

/** `POST /tokens/refresh-all` with `Prefer: respond-async`; throws unless a run of the expected size was accepted. */
async function requestRefreshAll(gatewayUrl: string, expectedUsers: number): Promise<AcceptedRun> {
  const t0 = Date.now();
  const res = await fetch(`${gatewayUrl}/tokens/refresh-all`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, prefer: 'respond-async' },
  });
  const acceptedMs = Date.now() - t0;
  const body = (await res.json()) as { runId?: string; requested?: number };
  if (res.status !== 202 || !body.runId) throw new Error(`refresh-all answered ${res.status}: ${JSON.stringify(body)}`);
  const runId = body.runId;
  if (body.requested !== expectedUsers) throw new Error(`the run requested ${body.requested} users, expected ${expectedUsers}`);
  return { runId, t0, acceptedMs };
}

async function pendingOutcomes(sql: pg.Client, runId: string): Promise<number> {
  const { rows } = await sql.query<{ pending: string }>(
    `select count(*) filter (where outcome = 'pending') as pending from refresh_outcomes where run_id = $1`,
    [runId],
  );
  return Number(rows[0]?.pending);
}

/** Until the run's completion is heard, no outcome is pending (checked every 5 s), or the deadline passes. */
async function waitForRunEnd(sql: pg.Client, runId: string, events: RunEvents, deadline: number): Promise<void> {
  let lastPoll = 0;
  while (Date.now() < deadline) {
    if (events.completedRun() === runId) break;
    if (Date.now() - lastPoll > 5_000) {
      lastPoll = Date.now();
      if ((await pendingOutcomes(sql, runId)) === 0) break;
    }
    await sleep(50);
  }
}

async function readOutcomes(sql: pg.Client, runId: string): Promise<OutcomeRow[]> {
  const { rows } = await sql.query<OutcomeRow>(
    `select user_id, outcome, code, (extract(epoch from recorded_at) * 1000)::float8 as at
       from refresh_outcomes where run_id = $1 and requested`,
    [runId],
  );
  return rows;
}

/** Events still in flight towards this subscriber (it was busy too) get a moment (5 s) to arrive. */
async function awaitStragglingEvents(rows: readonly OutcomeRow[], received: ReadonlyMap<string, Receipt>): Promise<void> {
  const refreshedIds = rows.filter((r) => r.outcome === 'refreshed').map((r) => r.user_id);
  const settle = Date.now() + 5_000;
  while (Date.now() < settle && refreshedIds.some((id) => !received.has(id))) await sleep(50);
}

/** Latency, delivery and failure samples of each outcome row, measured from the request at t0. */
function sampleOutcomes(rows: readonly OutcomeRow[], received: ReadonlyMap<string, Receipt>, t0: number): RunSamples {
  const samples: RunSamples = { latencies: [], deliveries: [], afterStore: [], failureCodes: {}, lastAt: t0 };
  for (const row of rows) {
    if (row.outcome !== 'refreshed') {
      const code = row.outcome === 'failed' ? (row.code ?? 'failed') : row.outcome;
      samples.failureCodes[code] = (samples.failureCodes[code] ?? 0) + 1;
      continue;
    }
    const at = Number(row.at);
    samples.lastAt = Math.max(samples.lastAt, at);
    samples.latencies.push(at - t0);
    const got = received.get(row.user_id);
    if (got) {
      samples.deliveries.push(got.at - got.loginTime);
      samples.afterStore.push(got.at - at);
    }
  }
  return samples;
}

/** The run's figures from its samples: counts, throughput and the percentiles. */
function summarizeRun(run: AcceptedRun, userCount: number, samples: RunSamples): RunResult {
  const { latencies, deliveries, afterStore } = samples;
  const refreshed = latencies.length;
  const wallSeconds = (samples.lastAt - run.t0) / 1000;
  return {
    runId: run.runId,
    users: userCount,
    refreshed,
    failed: userCount - refreshed,
    failureCodes: samples.failureCodes,
    acceptedMs: run.acceptedMs,
    wallSeconds: round(wallSeconds, 2)!,
    usersPerSecond: round(wallSeconds > 0 ? refreshed / wallSeconds : 0, 1)!,
    latencyMs: {
      p50: round(percentile(latencies, 50), 0),
      p95: round(percentile(latencies, 95), 0),
      p99: round(percentile(latencies, 99), 0),
      max: round(percentile(latencies, 100), 0),
    },
    deliveryMs: {
      p50: round(percentile(deliveries, 50), 0),
      p99: round(percentile(deliveries, 99), 0),
      max: round(percentile(deliveries, 100), 0),
    },
    deliveryAfterStoreMs: { p50: round(percentile(afterStore, 50), 0), p99: round(percentile(afterStore, 99), 0) },
    delivered: deliveries.length,
  };
}

/**
 * Triggers one refresh of all users through the gateway (`Prefer: respond-async`), waits until every
 * user has an outcome, and reads the per-user times from the run's outcome rows.
 *
 * - latency: run request -> the user's outcome recorded (same transaction as the token row).
 * - delivery: the login's end in iifl-auth (`loginTime`, just before the event is published to
 *   JetStream) -> this process, subscribed to `tokens.refreshed.>`, holding the event.
 * - delivery after store: the same receipt minus the time persistence stored the token; negative
 *   when a subscriber had the token before the database did (the usual case: persistence is one
 *   more consumer of the same event).
 */
export async function runRefresh(
  natsUrl: string,
  sql: pg.Client,
  gatewayUrl: string,
  expectedUsers: number,
  timeoutSeconds: number,
): Promise<RunResult> {
  // NATS_URL's form: one URL, or a cluster's, comma-separated.
  const servers = natsUrl.split(',').map((url) => url.trim());
  const nc: NatsConnection = await connect({ servers, name: 'bench' });
  try {
    const events = await listenForRunEvents(nc);
    const run = await requestRefreshAll(gatewayUrl, expectedUsers);
    await waitForRunEnd(sql, run.runId, events, run.t0 + timeoutSeconds * 1000);
    const rows = await readOutcomes(sql, run.runId);
    await awaitStragglingEvents(rows, events.received);
    return summarizeRun(run, rows.length, sampleOutcomes(rows, events.received, run.t0));
  } finally {
    await nc.close();
  }
}
