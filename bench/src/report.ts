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
  > & { keyPairPolicy: string };
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
  /** Messages nats-server received from and sent to clients during the run, per user. */
  natsMessagesPerUser: { in: number; out: number } | null;
  /** The calls the simulator answered during the run, by endpoint; `profileCalls`: the new tokens' checks. */
  simulator: SimCalls;
  baseline: { users: number; failed: number; wallSeconds: number; usersPerSecond: number; cpuMsPerUser: number } | null;
  /** This system's users per second over the legacy algorithm's. */
  ratio: number | null;
  idle: IdleProbeResult | null;
}

/** Everything a report is made from. */
export interface ReportInputs {
  machine: MachineInfo;
  options: BenchOptions;
  measured: RefreshMeasurement;
  keyPairsMade: number | null;
  baseline: BaselineResult | null;
  idle: IdleProbeResult | null;
}

function settingsOf(options: BenchOptions): BenchReport['settings'] {
  return {
    users: options.users,
    authReplicas: options.authReplicas,
    authConcurrency: options.authConcurrency,
    latencyMs: options.latencyMs,
    jitterMs: options.jitterMs,
    keyAssociationMs: options.keyAssociationMs,
    keyPairPolicy: options.keyPairPolicy ?? 'the service default (shared)',
    logLevel: options.logLevel,
  };
}

/** CPU and memory per process (Postgres's backends as one more), and the totals per user. */
function resourceFigures(
  usage: readonly ProcessUsage[],
  postgresCpu: number,
  users: number,
): Pick<BenchReport, 'cpuSeconds' | 'cpuMsPerUser' | 'peakRssMb' | 'maxServiceRssMb'> {
  const cpuSeconds: Record<string, number> = {};
  const peakRssMb: Record<string, number> = {};
  for (const u of usage) {
    cpuSeconds[u.name] = round(u.cpuSeconds, 2)!;
    peakRssMb[u.name] = round(u.peakRssMb, 0)!;
  }
  cpuSeconds['postgres (bench database backends)'] = round(postgresCpu, 2)!;
  const totalCpu = Object.values(cpuSeconds).reduce((a, b) => a + b, 0);
  const serviceRss = usage.filter((u) => u.name !== 'iifl-sim' && u.name !== 'nats-server').map((u) => u.peakRssMb);
  return {
    cpuSeconds,
    cpuMsPerUser: round((totalCpu * 1000) / Math.max(1, users), 2)!,
    peakRssMb,
    maxServiceRssMb: round(Math.max(0, ...serviceRss), 0)!,
  };
}

function natsMessagesPerUser(before: NatsCounters | null, after: NatsCounters | null, users: number): BenchReport['natsMessagesPerUser'] {
  return before && after ? { in: round((after.in - before.in) / users, 1)!, out: round((after.out - before.out) / users, 1)! } : null;
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
export function buildReport({ machine, options, measured, keyPairsMade, baseline, idle }: ReportInputs): BenchReport {
  const { run } = measured;
  return {
    machine,
    settings: settingsOf(options),
    ...run,
    keyPairsMade,
    ...resourceFigures(measured.usage, measured.postgresCpu, run.users),
    natsMessagesPerUser: natsMessagesPerUser(measured.natsBefore, measured.natsAfter, run.users),
    simulator: measured.simCalls,
    baseline: baselineFigures(baseline),
    ratio: baseline && baseline.usersPerSecond > 0 ? round(run.usersPerSecond / baseline.usersPerSecond, 1) : null,
    idle,
  };
}

const ms = (v: number | null) => (v === null ? 'n/a' : `${v} ms`);

export function formatReport(r: BenchReport): string {
  const m = r.machine;
  const s = r.settings;
  const rows: Array<[string, string]> = [
    ['machine', `${m.cores} cores (${m.cpuModel}), ${m.memoryGb} GB, Node ${m.node}, load ${m.loadAverageAtStart} at start`],
    [
      'setup',
      `${s.users} users, ${s.authReplicas} iifl-auth${s.authConcurrency ? ` x ${s.authConcurrency}` : ''}, simulator ${s.latencyMs} + 0..${s.jitterMs} ms per call`,
    ],
    ['key pairs', `${s.keyPairPolicy}; ${r.keyPairsMade ?? 'n/a'} made`],
    ['users / failed', `${r.users} / ${r.failed}${r.failed ? ` ${JSON.stringify(r.failureCodes)}` : ''}`],
    ['request accepted', ms(r.acceptedMs)],
    ['wall time', `${r.wallSeconds} s (request to last recorded outcome)`],
    ['throughput', `${r.usersPerSecond} users/s`],
    [
      'latency request -> token stored',
      `p50 ${ms(r.latencyMs.p50)}, p95 ${ms(r.latencyMs.p95)}, p99 ${ms(r.latencyMs.p99)}, max ${ms(r.latencyMs.max)}`,
    ],
    ['delivery login -> subscriber', `p50 ${ms(r.deliveryMs.p50)}, p99 ${ms(r.deliveryMs.p99)} (${r.delivered} received)`],
    ['subscriber vs stored', `p50 ${ms(r.deliveryAfterStoreMs.p50)}, p99 ${ms(r.deliveryAfterStoreMs.p99)} (negative: before the store)`],
    ['CPU per user (all processes)', `${r.cpuMsPerUser} ms`],
    ['NATS messages per user', r.natsMessagesPerUser ? `${r.natsMessagesPerUser.in} in, ${r.natsMessagesPerUser.out} out` : 'n/a'],
    [
      'IIFL calls (simulator)',
      Object.entries(r.simulator.requests)
        .map(([endpoint, n]) => `${endpoint} ${n}`)
        .join(', ') || 'none',
    ],
    ['tokens used once (profile)', `${r.simulator.profileCalls} profile calls for ${r.simulator.sessionsIssued} sessions issued`],
  ];
  for (const [name, cpu] of Object.entries(r.cpuSeconds)) {
    const rss = r.peakRssMb[name];
    rows.push([`  ${name}`, `${cpu} CPU s${rss === undefined ? '' : `, peak RSS ${rss} MB`}`]);
  }
  if (r.baseline) {
    rows.push([
      'legacy algorithm',
      `${r.baseline.users} users in ${r.baseline.wallSeconds} s: ${r.baseline.usersPerSecond} users/s, ${r.baseline.cpuMsPerUser} ms CPU per user`,
    ]);
    rows.push(['ratio', `${r.ratio ?? 'n/a'} x the legacy throughput`]);
  }
  if (r.idle) {
    rows.push([
      'one user, idle system',
      `${r.idle.overheadMs.p50 ?? 'n/a'} ms beyond the simulator's ${r.idle.simulatorMs} ms (p50 of ${r.idle.probes}, max ${r.idle.overheadMs.max ?? 'n/a'}${r.idle.failed ? `, ${r.idle.failed} failed` : ''})`,
    ]);
    rows.push([
      '  beyond a bare login',
      `${r.idle.overheadBeyondBareMs.p50 ?? 'n/a'} ms (p50, max ${r.idle.overheadBeyondBareMs.max ?? 'n/a'}) beyond the IIFL client alone against the same simulator (p50 ${r.idle.bareLoginMs ?? 'n/a'} ms)`,
    ]);
    const st = r.idle.stagesMs;
    rows.push([
      '  where (p50)',
      `register ${ms(st.register)}, to login end minus simulator ${ms(st.beforeAndAroundLogin)}, store ${ms(st.store)}, answer ${ms(st.answer)}`,
    ]);
  }
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}
