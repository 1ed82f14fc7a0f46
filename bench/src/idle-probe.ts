import type pg from 'pg';
import { createIiflClient, parseIiflClientConfig } from '@refresher/iifl-client';
import type { SimAccount } from '@refresher/iifl-sim';
import { percentile, round } from './stats.ts';
import { API_KEY } from './system.ts';

export interface IdleProbeResult {
  probes: number;
  failed: number;
  /** The simulator's own delay for one login (four calls and the new token's profile check, jitter switched off for the probes). */
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

/** The samples of each stage of the successful probes (ms), named as in `IdleProbeResult.stagesMs`. */
type StageSamples = { register: number[]; beforeAndAroundLogin: number[]; store: number[]; answer: number[] };

/** What the probes collected: each successful probe's total time, its stages, the failures and the bare logins. */
interface ProbeSamples {
  totals: number[];
  stages: StageSamples;
  failed: number;
  bare: number[];
}

/** When the probe's run was registered, its login ended and its outcome was recorded (epoch ms). */
type ProbeTimes = { requested: number; recorded: number; login: number };

/** One synchronous refresh: null when it failed, else when it was sent (epoch ms) and how long it took (ms). */
type ProbeAnswer = { t0: number; elapsed: number } | null;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
      await sleep(200);
    }
  } finally {
    await client.close();
  }
  return times;
}

function setSimulatorKnobs(simUrl: string, patch: object): Promise<Response> {
  return fetch(`${simUrl}/admin/knobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(patch) });
}

/** `POST /tokens/refresh/:userID`, timed; null unless it answered 200 with success. */
async function refreshOneUser(gatewayUrl: string, userID: string): Promise<ProbeAnswer> {
  const t0 = Date.now();
  const started = performance.now();
  const res = await fetch(`${gatewayUrl}/tokens/refresh/${userID}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}` },
  });
  const body = (await res.json()) as { success?: boolean };
  const elapsed = performance.now() - started;
  return res.status !== 200 || body.success !== true ? null : { t0, elapsed };
}

/** The times the user's latest run left in the database; undefined when there is none. */
async function readProbeTimes(sql: pg.Client, userID: string): Promise<ProbeTimes | undefined> {
  const { rows } = await sql.query<ProbeTimes>(
    `select (extract(epoch from r.requested_at) * 1000)::float8 as requested,
                  (extract(epoch from o.recorded_at) * 1000)::float8 as recorded,
                  (extract(epoch from (u."lastLoginTime" at time zone 'UTC')) * 1000)::float8 as login
           from refresh_runs r join refresh_outcomes o using (run_id) join "IIFLUser" u on u."userID" = o.user_id
           where r.user_id = $1 order by r.requested_at desc limit 1`,
    [userID],
  );
  return rows[0];
}

/** Splits one probe's time into its stages (see `IdleProbeResult.stagesMs`). */
function addStages(stages: StageSamples, row: ProbeTimes, answer: NonNullable<ProbeAnswer>, simulatorMs: number): void {
  const answered = answer.t0 + answer.elapsed;
  stages.register.push(row.requested - answer.t0);
  stages.beforeAndAroundLogin.push(row.login - simulatorMs - row.requested);
  stages.store.push(row.recorded - row.login);
  stages.answer.push(answered - row.recorded);
}

/** Bare logins first, then each user through the gateway in turn (200 ms apart). */
async function collectProbeSamples(
  sql: pg.Client,
  gatewayUrl: string,
  simUrl: string,
  userIDs: readonly string[],
  bareAccounts: readonly SimAccount[],
  simulatorMs: number,
): Promise<ProbeSamples> {
  const samples: ProbeSamples = {
    totals: [],
    stages: { register: [], beforeAndAroundLogin: [], store: [], answer: [] },
    failed: 0,
    bare: [],
  };
  // The first login pays for the client's key pair: it is not a sample.
  samples.bare = (await timeBareLogins(simUrl, bareAccounts)).slice(1);
  for (const userID of userIDs) {
    const answer = await refreshOneUser(gatewayUrl, userID);
    if (answer === null) {
      samples.failed += 1;
    } else {
      samples.totals.push(answer.elapsed);
      const row = await readProbeTimes(sql, userID);
      if (row) addStages(samples.stages, row, answer, simulatorMs);
    }
    await sleep(200);
  }
  return samples;
}

/** The probes' figures: overheads beyond the simulator and beyond a bare login, and the median stages. */
function summarizeProbes(probes: number, simulatorMs: number, samples: ProbeSamples): IdleProbeResult {
  const { totals, stages } = samples;
  const overheads = totals.map((t) => t - simulatorMs);
  const bareLoginMs = percentile(samples.bare, 50);
  const beyondBare = bareLoginMs === null ? [] : totals.map((t) => t - bareLoginMs);
  return {
    probes,
    failed: samples.failed,
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

/**
 * One user at a time through `POST /tokens/refresh/:userID` (synchronous answer) on the idle system:
 * the time beyond the simulator's own latency of the login's five calls (the four steps and profile).
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
  await setSimulatorKnobs(simUrl, { jitterMs: 0 });
  const simulatorMs = 5 * latencyMs;
  let samples: ProbeSamples;
  try {
    samples = await collectProbeSamples(sql, gatewayUrl, simUrl, userIDs, bareAccounts, simulatorMs);
  } finally {
    await setSimulatorKnobs(simUrl, { jitterMs });
  }
  return summarizeProbes(userIDs.length, simulatorMs, samples);
}
