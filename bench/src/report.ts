import type { CeilingResult } from './ceiling.ts';
import type { IdleProbeResult } from './idle-probe.ts';
import type { BaselineResult } from './legacy-baseline.ts';
import type { MachineInfo } from './machine.ts';
import type { NatsCounters, RefreshMeasurement } from './measure.ts';
import type { BenchOptions } from './options.ts';
import type { ProcessUsage } from './proc-stats.ts';
import type { RunResult } from './refresh-run.ts';
import type { SimCalls } from './sim-calls.ts';
import { round } from './stats.ts';

/** The run's own figures (RunResult) with the machine, the settings and what the bench measured around it. */
export interface BenchReport extends RunResult {
  machine: MachineInfo;
  /** The options that shape the run, and the key-pair policy they make, in words. */
  settings: Pick<
    BenchOptions,
    'users' | 'authReplicas' | 'authConcurrency' | 'latencyMs' | 'jitterMs' | 'keyAssociationMs' | 'logLevel'
  > & { keyPairPolicy: string; natsServers: number; streamReplicas: number };
  /** RSA key pairs the iifl-auth replicas made, by their health answers after the run (null when unknown). */
  keyPairsMade: number | null;
  /** CPU seconds of each process during the run. */
  cpuSeconds: Record<string, number>;
  /** All processes' CPU during the run, per user. */
  cpuMsPerUser: number;
  /** Peak resident memory of each process (VmHWM). */
  peakRssMb: Record<string, number>;
  /** The largest peak among the four services. */
  maxServiceRssMb: number;
  /** The nats-servers' CPU seconds and peak RSS, summed over the servers (one, or a cluster's). */
  natsServers: { servers: number; cpuSeconds: number; peakRssMb: number } | null;
  /**
   * Messages the nats-servers received and sent during the run, per user, summed over the servers
   * (`/varz`); `routeIn`/`routeOut`: the part between the servers of a cluster (`/routez`), so
   * `in - routeIn` is what clients sent. On one server the routes' part is 0.
   */
  natsMessagesPerUser: { in: number; out: number; routeIn: number; routeOut: number } | null;
  /** The calls the simulator answered during the run, by endpoint; `profileCalls`: the new tokens' checks. */
  simulator: SimCalls;
  baseline: { users: number; failed: number; wallSeconds: number; usersPerSecond: number; cpuMsPerUser: number } | null;
  /** This system's users per second over the legacy algorithm's. */
  ratio: number | null;
  idle: IdleProbeResult | null;
  /** The IIFL client alone logging as many accounts in at the pipeline's concurrency (ceiling.ts). */
  ceiling: CeilingResult | null;
  /** This run's users per second over the ceiling's logins per second. */
  ceilingFraction: number | null;
}

/** Everything a report is made from. */
export interface ReportInputs {
  machine: MachineInfo;
  options: BenchOptions;
  measured: RefreshMeasurement;
  keyPairsMade: number | null;
  baseline: BaselineResult | null;
  idle: IdleProbeResult | null;
  ceiling: CeilingResult | null;
  streamReplicas: number;
}

function settingsOf(options: BenchOptions, streamReplicas: number): BenchReport['settings'] {
  return {
    users: options.users,
    authReplicas: options.authReplicas,
    authConcurrency: options.authConcurrency,
    latencyMs: options.latencyMs,
    jitterMs: options.jitterMs,
    keyAssociationMs: options.keyAssociationMs,
    keyPairPolicy: options.keyPairPolicy ?? 'the service default (shared)',
    logLevel: options.logLevel,
    natsServers: options.natsCluster ?? 1,
    streamReplicas,
  };
}

/** CPU and memory per process (Postgres's backends as one more), and the totals per user. */
function resourceFigures(
  usage: readonly ProcessUsage[],
  postgresCpu: number,
  users: number,
): Pick<BenchReport, 'cpuSeconds' | 'cpuMsPerUser' | 'peakRssMb' | 'maxServiceRssMb' | 'natsServers'> {
  const cpuSeconds: Record<string, number> = {};
  const peakRssMb: Record<string, number> = {};
  for (const u of usage) {
    cpuSeconds[u.name] = round(u.cpuSeconds, 2)!;
    peakRssMb[u.name] = round(u.peakRssMb, 0)!;
  }
  cpuSeconds['postgres (bench database backends)'] = round(postgresCpu, 2)!;
  const totalCpu = Object.values(cpuSeconds).reduce((a, b) => a + b, 0);
  const isNats = (name: string) => name === 'nats-server' || name.startsWith('nats-server ');
  const serviceRss = usage.filter((u) => u.name !== 'iifl-sim' && !isNats(u.name)).map((u) => u.peakRssMb);
  const nats = usage.filter((u) => isNats(u.name));
  const sum = (pick: (u: ProcessUsage) => number) => nats.reduce((total, u) => total + pick(u), 0);
  return {
    cpuSeconds,
    cpuMsPerUser: round((totalCpu * 1000) / Math.max(1, users), 2)!,
    peakRssMb,
    maxServiceRssMb: round(Math.max(0, ...serviceRss), 0)!,
    natsServers:
      nats.length === 0
        ? null
        : {
            servers: nats.length,
            cpuSeconds: round(
              sum((u) => u.cpuSeconds),
              2,
            )!,
            peakRssMb: round(
              sum((u) => u.peakRssMb),
              0,
            )!,
          },
  };
}

function natsMessagesPerUser(before: NatsCounters | null, after: NatsCounters | null, users: number): BenchReport['natsMessagesPerUser'] {
  if (!before || !after) return null;
  const perUser = (key: keyof NatsCounters) => round((after[key] - before[key]) / users, 1)!;
  return { in: perUser('in'), out: perUser('out'), routeIn: perUser('routeIn'), routeOut: perUser('routeOut') };
}

function baselineFigures(baseline: BaselineResult | null): BenchReport['baseline'] {
  return baseline
    ? {
        users: baseline.users,
        failed: baseline.failed,
        wallSeconds: round(baseline.wallSeconds, 2)!,
        usersPerSecond: round(baseline.usersPerSecond, 2)!,
        cpuMsPerUser: round(baseline.cpuMsPerUser, 1)!,
      }
    : null;
}

/** The report's figures, rounded, in the order the JSON lists them. */
export function buildReport(inputs: ReportInputs): BenchReport {
  const { machine, options, measured, keyPairsMade, baseline, idle, ceiling } = inputs;
  const { run } = measured;
  return {
    machine,
    settings: settingsOf(options, inputs.streamReplicas),
    ...run,
    keyPairsMade,
    ...resourceFigures(measured.usage, measured.postgresCpu, run.users),
    natsMessagesPerUser: natsMessagesPerUser(measured.natsBefore, measured.natsAfter, run.users),
    simulator: measured.simCalls,
    baseline: baselineFigures(baseline),
    ratio: baseline && baseline.usersPerSecond > 0 ? round(run.usersPerSecond / baseline.usersPerSecond, 1) : null,
    idle,
    ceiling,
    ceilingFraction: ceiling && ceiling.loginsPerSecond > 0 ? round(run.usersPerSecond / ceiling.loginsPerSecond, 2) : null,
  };
}
