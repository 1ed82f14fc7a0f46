/**
 * `pnpm bench [options]` (see options.ts): a refresh of N users through the four services run as
 * processes, measured side by side with the legacy algorithm. Prints a table; `--json` also writes
 * the figures.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { generateAccounts } from '@refresher/iifl-sim';
import { runLegacyBaseline, type BaselineResult } from './legacy-baseline.ts';
import { machineInfo } from './machine.ts';
import { parseOptions, USAGE, UsageError, type BenchOptions } from './options.ts';
import { cpuOf, watchProcesses } from './proc-stats.ts';
import { probeIdleLatency, runRefresh } from './refresh-run.ts';
import { formatReport, type BenchReport } from './report.ts';
import { round } from './stats.ts';
import { startBenchSystem, UserState } from './system.ts';

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

async function main(options: BenchOptions): Promise<BenchReport> {
  const machine = machineInfo();
  const seed = `bench-${Date.now()}`;
  // Idle probes: one account per gateway probe, and one more each (plus one) for the bare logins.
  const bareCount = options.idleProbes > 0 ? options.idleProbes + 1 : 0;
  const accounts = generateAccounts(options.users + options.baselineUsers + options.idleProbes + bareCount, seed);
  const live = accounts.slice(0, options.users);
  const baselineAccounts = accounts.slice(options.users, options.users + options.baselineUsers);
  const probeAccounts = accounts.slice(options.users + options.baselineUsers, options.users + options.baselineUsers + options.idleProbes);
  const bareAccounts = accounts.slice(options.users + options.baselineUsers + options.idleProbes);
  const users = [
    ...live.map((account) => ({ account, state: UserState.live })),
    ...baselineAccounts.map((account) => ({ account, state: UserState.baseline })),
    ...probeAccounts.map((account) => ({ account, state: UserState.probe })),
  ];

  log(
    `starting: ${options.users} users, ${options.authReplicas} iifl-auth, simulator ${options.latencyMs}+0..${options.jitterMs} ms per call`,
  );
  const system = await startBenchSystem(options, { seed, count: accounts.length }, users, log);
  try {
    let baseline: BaselineResult | null = null;
    if (baselineAccounts.length > 0) {
      log(`legacy algorithm: ${baselineAccounts.length} users one after another`);
      baseline = await runLegacyBaseline(system.sql, `${system.simUrl}/v1`, baselineAccounts);
    }

    const watcher = watchProcesses(system.processes);
    const backendPids = async () =>
      (
        await system.sql.query<{ pid: number }>(
          `select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`,
        )
      ).rows.map((r) => r.pid);
    const natsCounters = async () => {
      if (!system.natsMonitorUrl) return null;
      const varz = (await (await fetch(`${system.natsMonitorUrl}/varz`)).json()) as { in_msgs: number; out_msgs: number };
      return { in: varz.in_msgs, out: varz.out_msgs };
    };
    const pgBefore = cpuOf(await backendPids());
    const natsBefore = await natsCounters();
    watcher.mark();
    log(`refreshing ${options.users} users`);
    const run = await runRefresh(system.natsUrl, system.sql, system.gatewayUrl, options.users, options.timeoutSeconds);
    const pgAfter = cpuOf(await backendPids());
    const usage = watcher.stop();
    const natsAfter = await natsCounters();
    let postgresCpu = 0;
    for (const [pid, cpu] of pgAfter) postgresCpu += cpu - (pgBefore.get(pid) ?? 0);
    log(`run ${run.runId}: ${run.refreshed}/${run.users} refreshed in ${run.wallSeconds} s`);
    const keyPairsMade = await keyPairsMadeBy(system.authHealthUrls);

    await new Promise((r) => setTimeout(r, 1_000));
    const idle =
      options.idleProbes > 0
        ? await probeIdleLatency(
            system.sql,
            system.gatewayUrl,
            system.simUrl,
            probeAccounts.map((a) => a.clientId),
            bareAccounts,
            options.latencyMs,
            options.jitterMs,
          )
        : null;

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
      machine,
      settings: {
        users: options.users,
        authReplicas: options.authReplicas,
        authConcurrency: options.authConcurrency,
        latencyMs: options.latencyMs,
        jitterMs: options.jitterMs,
        keyAssociationMs: options.keyAssociationMs,
        keyPairPolicy: options.keyPairPolicy ?? 'the service default (shared)',
        logLevel: options.logLevel,
      },
      ...run,
      keyPairsMade,
      cpuSeconds,
      cpuMsPerUser: round((totalCpu * 1000) / Math.max(1, run.users), 2)!,
      peakRssMb,
      maxServiceRssMb: round(Math.max(0, ...serviceRss), 0)!,
      natsMessagesPerUser:
        natsBefore && natsAfter
          ? { in: round((natsAfter.in - natsBefore.in) / run.users, 1)!, out: round((natsAfter.out - natsBefore.out) / run.users, 1)! }
          : null,
      baseline: baseline
        ? {
            users: baseline.users,
            failed: baseline.failed,
            wallSeconds: round(baseline.wallSeconds, 2)!,
            usersPerSecond: round(baseline.usersPerSecond, 2)!,
            cpuMsPerUser: round(baseline.cpuMsPerUser, 1)!,
          }
        : null,
      ratio: baseline && baseline.usersPerSecond > 0 ? round(run.usersPerSecond / baseline.usersPerSecond, 1) : null,
      idle,
    };
  } finally {
    await system.stop();
  }
}

/** Key pairs the iifl-auth replicas made so far (their health answers say); null when one does not say. */
async function keyPairsMadeBy(healthUrls: readonly string[]): Promise<number | null> {
  let total = 0;
  for (const url of healthUrls) {
    const health = (await (await fetch(url)).json()) as { keyPairsGenerated?: unknown };
    if (typeof health.keyPairsGenerated !== 'number') return null;
    total += health.keyPairsGenerated;
  }
  return total;
}

let options: BenchOptions;
try {
  options = parseOptions(process.argv.slice(2), process.env.INIT_CWD ?? process.cwd());
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  console.error(`bench: ${err.message}\n\n${USAGE}`);
  process.exit(2);
}
if (options.help) {
  console.log(USAGE);
  process.exit(0);
}
try {
  const report = await main(options);
  console.log(formatReport(report));
  if (options.json) {
    mkdirSync(dirname(options.json), { recursive: true });
    writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
    log(`figures written to ${options.json}`);
  }
  process.exit(report.failed === 0 ? 0 : 1);
} catch (err) {
  console.error('bench failed:', err);
  process.exit(1);
}
