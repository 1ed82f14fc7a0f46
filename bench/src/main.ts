/**
 * `pnpm bench [options]` (see options.ts): a refresh of N users through the four services run as
 * processes, measured side by side with the legacy algorithm and against the ceiling of the IIFL
 * client alone. Prints a table; `--json` also writes the figures.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { allotAccounts, type BenchAccounts } from './accounts.ts';
import { measureCeiling, type CeilingResult } from './ceiling.ts';
import { formatReport } from './format-report.ts';
import { probeIdleLatency, type IdleProbeResult } from './idle-probe.ts';
import { runLegacyBaseline, type BaselineResult } from './legacy-baseline.ts';
import { iiflClientEnv, pipelineConcurrency } from './iifl-settings.ts';
import { machineInfo } from './machine.ts';
import { keyPairsMadeBy, measureRefresh } from './measure.ts';
import { parseOptions, USAGE, UsageError, type BenchOptions } from './options.ts';
import { buildReport, type BenchReport } from './report.ts';
import { startBenchSystem, type BenchSystem } from './system.ts';

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/** The legacy algorithm on its own accounts, one after another; null when it has none. */
async function timeLegacyBaseline(system: BenchSystem, accounts: BenchAccounts): Promise<BaselineResult | null> {
  if (accounts.baseline.length === 0) return null;
  log(`legacy algorithm: ${accounts.baseline.length} users one after another`);
  return runLegacyBaseline(system.sql, `${system.simUrl}/v1`, accounts.baseline);
}

/** The idle probes, when the options ask for any. */
async function probeIdleSystem(system: BenchSystem, options: BenchOptions, accounts: BenchAccounts): Promise<IdleProbeResult | null> {
  return options.idleProbes > 0
    ? probeIdleLatency(
        system.sql,
        system.gatewayUrl,
        system.simUrl,
        accounts.probe.map((a) => a.clientId),
        accounts.bare,
        options.latencyMs,
        options.jitterMs,
      )
    : null;
}

/**
 * The ceiling, once the run is over and the services idle: the IIFL client alone logs the
 * ceiling's own accounts in (see allotAccounts), as many as the run had users, at the run's
 * concurrency, against the same simulator with its knobs unchanged.
 */
async function timeCeiling(system: BenchSystem, options: BenchOptions, accounts: BenchAccounts): Promise<CeilingResult> {
  const concurrency = pipelineConcurrency(options);
  log(`ceiling: the IIFL client alone, ${accounts.ceiling.timed.length} logins, ${concurrency} at a time`);
  const ceiling = await measureCeiling({
    clientEnv: iiflClientEnv(options, `${system.simUrl}/v1`),
    warmUp: accounts.ceiling.warmUp,
    accounts: accounts.ceiling.timed,
    concurrency,
    simulatorPid: system.simPid,
  });
  log(`ceiling: ${ceiling.loginsPerSecond} logins/s (${ceiling.failed} failed)`);
  return ceiling;
}

async function main(options: BenchOptions): Promise<BenchReport> {
  const machine = machineInfo();
  const seed = `bench-${Date.now()}`;
  const accounts = allotAccounts(options, seed);

  log(
    `starting: ${options.users} users, ${options.authReplicas} iifl-auth, ${options.natsCluster ?? 1} nats-server(s), simulator ${options.latencyMs}+0..${options.jitterMs} ms per call`,
  );
  const system = await startBenchSystem(options, { seed, count: accounts.total }, accounts.users, log);
  try {
    const baseline = await timeLegacyBaseline(system, accounts);
    const measured = await measureRefresh(system, options, log);
    const keyPairsMade = await keyPairsMadeBy(system.authHealthUrls);

    await new Promise((r) => setTimeout(r, 1_000));
    const ceiling = await timeCeiling(system, options, accounts);
    await new Promise((r) => setTimeout(r, 1_000));
    const idle = await probeIdleSystem(system, options, accounts);
    return buildReport({ machine, options, measured, keyPairsMade, baseline, idle, ceiling, streamReplicas: system.streamReplicas });
  } finally {
    await system.stop();
  }
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
