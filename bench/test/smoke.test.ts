import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEntryPoint, type ProcessResult } from '@refresher/testkit';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runBench(args: string[]): Promise<ProcessResult> {
  return runEntryPoint('bench/src/main.ts', args, { INIT_CWD: dir });
}

describe('pnpm bench (smoke run)', () => {
  it('refreshes 200 users through the services, times the legacy algorithm and the ceiling, and writes every figure', async () => {
    const { code, output } = await runBench([
      '--users',
      '200',
      '--baseline-users',
      '3',
      '--idle-probes',
      '1',
      '--log-level',
      'warn',
      '--json',
      'out.json', // relative: resolved against INIT_CWD, as `pnpm bench` from a directory does
    ]);
    expect(code, output.slice(-3000)).toBe(0);
    expect(output).toMatch(/throughput\s+[\d.]+ users\/s/);

    const report = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8'));
    expect(report).toMatchObject({ users: 200, failed: 0 });
    for (const field of ['wallSeconds', 'usersPerSecond', 'cpuMsPerUser', 'ratio']) expect(report[field], field).toBeGreaterThan(0);
    for (const p of ['p50', 'p95', 'p99']) expect(report.latencyMs[p], p).toBeGreaterThan(0);
    for (const p of ['p50', 'p99']) expect(typeof report.deliveryMs[p], p).toBe('number');
    expect(report.delivered).toBe(200);
    // Every new token was used once (profile) before it was stored: one check per session issued.
    expect(report.simulator.sessionsIssued).toBeGreaterThanOrEqual(200);
    expect(report.simulator.profileCalls).toBe(report.simulator.sessionsIssued);
    expect(report.simulator.requests.getusersession).toBe(report.simulator.sessionsIssued);
    expect(output).toMatch(/tokens used once \(profile\)\s+\d+ profile calls for \d+ sessions issued/);
    expect(Object.keys(report.peakRssMb)).toEqual(expect.arrayContaining(['iifl-sim', 'persistence', 'iifl-auth', 'scheduler', 'gateway']));
    for (const [name, mb] of Object.entries(report.peakRssMb)) expect(mb, name).toBeGreaterThan(0);
    // The defaults share one key pair: a handful at most, not one per login.
    expect(report.keyPairsMade).toBeGreaterThanOrEqual(1);
    expect(report.keyPairsMade).toBeLessThanOrEqual(3);
    expect(report.baseline).toMatchObject({ users: 3, failed: 0 });
    expect(report.baseline.usersPerSecond).toBeGreaterThan(0);
    expect(report.idle).toMatchObject({ probes: 1, failed: 0 });
    // The bare login takes at least the simulator's five calls (the four steps and profile).
    expect(report.idle.bareLoginMs).toBeGreaterThanOrEqual(5 * report.settings.latencyMs);
    expect(report.machine).toMatchObject({ cores: expect.any(Number), memoryGb: expect.any(Number), node: process.version });
    // The ceiling: as many other accounts, logged in by the IIFL client alone at the pipeline's concurrency.
    expect(report.ceiling).toMatchObject({ logins: 200, failed: 0, concurrency: 48 });
    expect(report.ceiling.loginsPerSecond).toBeGreaterThan(0);
    expect(report.ceilingFraction).toBeCloseTo(report.usersPerSecond / report.ceiling.loginsPerSecond, 1);
    expect(output).toMatch(/pipeline \/ ceiling\s+[\d.]+ \(/);
    expect(report.settings).toMatchObject({ natsServers: 1, streamReplicas: 1 });
    expect(report.natsMessagesPerUser).toMatchObject({ routeIn: 0, routeOut: 0 });
  }, 240_000);
});
