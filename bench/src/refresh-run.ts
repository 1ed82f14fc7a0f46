import { connect, type NatsConnection } from 'nats';
import type pg from 'pg';
import { createIiflClient, parseIiflClientConfig } from '@refresher/iifl-client';
import type { SimAccount } from '@refresher/iifl-sim';
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
  const nc: NatsConnection = await connect({ servers: natsUrl, name: 'bench' });
  const received = new Map<string, { at: number; loginTime: number }>();
  let completedRun: string | null = null;
  try {
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

    const deadline = t0 + timeoutSeconds * 1000;
    let lastPoll = 0;
    while (Date.now() < deadline) {
      if (completedRun === runId) break;
      if (Date.now() - lastPoll > 5_000) {
        lastPoll = Date.now();
        const { rows } = await sql.query<{ pending: string }>(
          `select count(*) filter (where outcome = 'pending') as pending from refresh_outcomes where run_id = $1`,
          [runId],
        );
        if (Number(rows[0]?.pending) === 0) break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }

    const { rows } = await sql.query<{ user_id: string; outcome: string; code: string | null; at: string | null }>(
      `select user_id, outcome, code, (extract(epoch from recorded_at) * 1000)::float8 as at
       from refresh_outcomes where run_id = $1 and requested`,
      [runId],
    );
    // Events still in flight towards this subscriber (it was busy too) get a moment to arrive.
    const refreshedIds = rows.filter((r) => r.outcome === 'refreshed').map((r) => r.user_id);
    const settle = Date.now() + 5_000;
    while (Date.now() < settle && refreshedIds.some((id) => !received.has(id))) await new Promise((r) => setTimeout(r, 50));

    const latencies: number[] = [];
    const deliveries: number[] = [];
    const afterStore: number[] = [];
    const failureCodes: Record<string, number> = {};
    let lastAt = t0;
    for (const row of rows) {
      if (row.outcome !== 'refreshed') {
        const code = row.outcome === 'failed' ? (row.code ?? 'failed') : row.outcome;
        failureCodes[code] = (failureCodes[code] ?? 0) + 1;
        continue;
      }
      const at = Number(row.at);
      lastAt = Math.max(lastAt, at);
      latencies.push(at - t0);
      const got = received.get(row.user_id);
      if (got) {
        deliveries.push(got.at - got.loginTime);
        afterStore.push(got.at - at);
      }
    }
    const refreshed = latencies.length;
    const wallSeconds = (lastAt - t0) / 1000;
    return {
      runId,
      users: rows.length,
      refreshed,
      failed: rows.length - refreshed,
      failureCodes,
      acceptedMs,
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
  } finally {
    await nc.close();
  }
}

export interface IdleProbeResult {
  probes: number;
  failed: number;
  /** The simulator's own delay for one login (four calls, jitter switched off for the probes). */
  simulatorMs: number;
  totalMs: number[];
  overheadMs: { p50: number | null; max: number | null };
  /**
   * Medians of where the time went, from the rows the probe left: request -> run registered
   * (persistence's requested_at); -> login done in iifl-auth (lastLoginTime) minus the simulator's
   * delay; -> outcome stored (recorded_at); -> the HTTP answer received.
   */
  stagesMs: { register: number | null; beforeAndAroundLogin: number | null; store: number | null; answer: number | null };
  /**
   * The same simulator seen by a bare login in the bench process (the IIFL client alone, key pair
   * reused, no services), one account after another on the idle system: p50 of its wall time, and
   * the gateway probes' time beyond it (what the pipeline adds around one login).
   */
  bareLoginMs: number | null;
  overheadBeyondBareMs: { p50: number | null; max: number | null };
}

/** A login by the IIFL client alone, for each account in turn (200 ms apart): wall times in ms. */
async function timeBareLogins(simUrl: string, accounts: readonly SimAccount[]): Promise<number[]> {
  const client = createIiflClient(parseIiflClientConfig({ IIFL_BASE_URL: `${simUrl}/v1` }));
  const times: number[] = [];
  try {
    for (const account of accounts) {
      const { clientId: userID, password, appKey, appSecret, totpSecret } = account;
      const started = performance.now();
      await client.login({ userID, password, appKey, appSecret, totpSecret });
      times.push(performance.now() - started);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await client.close();
  }
  return times;
}

/**
 * One user at a time through `POST /tokens/refresh/:userID` (synchronous answer) on the idle system:
 * the time beyond the simulator's own latency of the four login calls.
 */
export async function probeIdleLatency(
  sql: pg.Client,
  gatewayUrl: string,
  simUrl: string,
  userIDs: readonly string[],
  bareAccounts: readonly SimAccount[],
  latencyMs: number,
  jitterMs: number,
): Promise<IdleProbeResult> {
  const knobs = (patch: object) =>
    fetch(`${simUrl}/admin/knobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(patch) });
  await knobs({ jitterMs: 0 });
  const simulatorMs = 4 * latencyMs;
  const totals: number[] = [];
  const stages = { register: [] as number[], beforeAndAroundLogin: [] as number[], store: [] as number[], answer: [] as number[] };
  let failed = 0;
  let bare: number[] = [];
  try {
    // The first login pays for the client's key pair: it is not a sample.
    bare = (await timeBareLogins(simUrl, bareAccounts)).slice(1);
    for (const userID of userIDs) {
      const t0 = Date.now();
      const started = performance.now();
      const res = await fetch(`${gatewayUrl}/tokens/refresh/${userID}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_KEY}` },
      });
      const body = (await res.json()) as { success?: boolean };
      const elapsed = performance.now() - started;
      const answered = t0 + elapsed;
      if (res.status !== 200 || body.success !== true) {
        failed += 1;
      } else {
        totals.push(elapsed);
        const { rows } = await sql.query<{ requested: number; recorded: number; login: number }>(
          `select (extract(epoch from r.requested_at) * 1000)::float8 as requested,
                  (extract(epoch from o.recorded_at) * 1000)::float8 as recorded,
                  (extract(epoch from (u."lastLoginTime" at time zone 'UTC')) * 1000)::float8 as login
           from refresh_runs r join refresh_outcomes o using (run_id) join "IIFLUser" u on u."userID" = o.user_id
           where r.user_id = $1 order by r.requested_at desc limit 1`,
          [userID],
        );
        const row = rows[0];
        if (row) {
          stages.register.push(row.requested - t0);
          stages.beforeAndAroundLogin.push(row.login - simulatorMs - row.requested);
          stages.store.push(row.recorded - row.login);
          stages.answer.push(answered - row.recorded);
        }
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await knobs({ jitterMs });
  }
  const overheads = totals.map((t) => t - simulatorMs);
  const bareLoginMs = percentile(bare, 50);
  const beyondBare = bareLoginMs === null ? [] : totals.map((t) => t - bareLoginMs);
  return {
    probes: userIDs.length,
    failed,
    simulatorMs,
    totalMs: totals.map((t) => round(t, 1)!),
    overheadMs: { p50: round(percentile(overheads, 50), 1), max: round(percentile(overheads, 100), 1) },
    bareLoginMs: round(bareLoginMs, 1),
    overheadBeyondBareMs: { p50: round(percentile(beyondBare, 50), 1), max: round(percentile(beyondBare, 100), 1) },
    stagesMs: {
      register: round(percentile(stages.register, 50), 0),
      beforeAndAroundLogin: round(percentile(stages.beforeAndAroundLogin, 50), 0),
      store: round(percentile(stages.store, 50), 0),
      answer: round(percentile(stages.answer, 50), 0),
    },
  };
}
