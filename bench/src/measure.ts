import type pg from 'pg';
import type { BenchOptions } from './options.ts';
import { cpuOf, watchProcesses, type ProcessUsage } from './proc-stats.ts';
import { runRefresh, type RunResult } from './refresh-run.ts';
import { callsBetween, simulatorCounters, type SimCalls } from './sim-calls.ts';
import type { BenchSystem } from './system.ts';

/**
 * nats-server's message counts, summed over the servers: `in`/`out` from `/varz` (every
 * connection), and `routeIn`/`routeOut` the part of them on routes to the other servers of a
 * cluster (`/routez`; 0 on one server), so that `in - routeIn` is what clients sent.
 */
export type NatsCounters = { in: number; out: number; routeIn: number; routeOut: number };

/** The run, and what the bench measured around it. */
export interface RefreshMeasurement {
  run: RunResult;
  /** Each watched process's CPU during the run and its peak memory. */
  usage: ProcessUsage[];
  /** CPU seconds the bench database's Postgres backends spent during the run. */
  postgresCpu: number;
  /** nats-server's counters before and after the run (null when this run did not start NATS). */
  natsBefore: NatsCounters | null;
  natsAfter: NatsCounters | null;
  /** The calls the simulator answered during the run. */
  simCalls: SimCalls;
}

/** The Postgres backends serving the bench database (other than this query's own). */
async function postgresBackendPids(sql: pg.Client): Promise<number[]> {
  return (
    await sql.query<{ pid: number }>(`select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`)
  ).rows.map((r) => r.pid);
}

type MessageCounts = { in_msgs: number; out_msgs: number };

/** The message counters of every server (`/varz`, `/routez`), summed; null without a monitoring endpoint. */
async function natsMessageCounters(monitorUrls: readonly string[]): Promise<NatsCounters | null> {
  if (monitorUrls.length === 0) return null;
  const total: NatsCounters = { in: 0, out: 0, routeIn: 0, routeOut: 0 };
  for (const url of monitorUrls) {
    const varz = (await (await fetch(`${url}/varz`)).json()) as MessageCounts;
    const routez = (await (await fetch(`${url}/routez`)).json()) as { routes?: MessageCounts[] | null };
    total.in += varz.in_msgs;
    total.out += varz.out_msgs;
    for (const route of routez.routes ?? []) {
      total.routeIn += route.in_msgs;
      total.routeOut += route.out_msgs;
    }
  }
  return total;
}

/** CPU seconds each pid spent between the two readings (a pid first seen after the start counts from zero). */
function cpuSpentBetween(before: ReadonlyMap<number, number>, after: ReadonlyMap<number, number>): number {
  let spent = 0;
  for (const [pid, cpu] of after) spent += cpu - (before.get(pid) ?? 0);
  return spent;
}

/** Runs the refresh of all live users with the processes, the Postgres backends and NATS's counters watched. */
export async function measureRefresh(system: BenchSystem, options: BenchOptions, log: (line: string) => void): Promise<RefreshMeasurement> {
  const watcher = watchProcesses(system.processes);
  const pgBefore = cpuOf(await postgresBackendPids(system.sql));
  const natsBefore = await natsMessageCounters(system.natsMonitorUrls);
  const simBefore = await simulatorCounters(system.simUrl);
  watcher.mark();
  log(`refreshing ${options.users} users`);
  const run = await runRefresh(system.natsUrl, system.sql, system.gatewayUrl, options.users, options.timeoutSeconds);
  const pgAfter = cpuOf(await postgresBackendPids(system.sql));
  const usage = watcher.stop();
  const natsAfter = await natsMessageCounters(system.natsMonitorUrls);
  const simCalls = callsBetween(simBefore, await simulatorCounters(system.simUrl));
  const postgresCpu = cpuSpentBetween(pgBefore, pgAfter);
  log(`run ${run.runId}: ${run.refreshed}/${run.users} refreshed in ${run.wallSeconds} s`);
  return { run, usage, postgresCpu, natsBefore, natsAfter, simCalls };
}

/** Key pairs the iifl-auth replicas made so far (their health answers say); null when one does not say. */
export async function keyPairsMadeBy(healthUrls: readonly string[]): Promise<number | null> {
  let total = 0;
  for (const url of healthUrls) {
    const health = (await (await fetch(url)).json()) as { keyPairsGenerated?: unknown };
    if (typeof health.keyPairsGenerated !== 'number') return null;
    total += health.keyPairsGenerated;
  }
  return total;
}
