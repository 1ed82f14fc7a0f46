import { describe, expect, it } from 'vitest';
import { integrationUser, realUser, runEntryPoint, runToEnd, usePipeline, type ProcessResult } from '@refresher/testkit';

// The real command as a separate process, against a real NATS and the real persistence service
// (Postgres). No iifl-auth runs: nothing here needs a broker login.
const pipeline = usePipeline({
  users: [
    integrationUser('CP1'),
    integrationUser('CP2'),
    // Not live: left out of all-users runs, but can be asked for by name.
    realUser('CREAL1', { clientName: 'Real One', state: 'paused' }),
  ],
});

function cli(args: string[], env: Record<string, string> = { NATS_URL: pipeline.nats.url }): Promise<ProcessResult> {
  return runEntryPoint('services/cli/src/main.ts', args, env);
}

// Each process pays for tsx's start-up, which is slow on a busy machine.
describe('refresh-tokens', { timeout: 30_000 }, () => {
  it('skips integration-managed users, prints the legacy summary and exits 0', async () => {
    const { code, stdout } = await cli([]);
    expect(code).toBe(0);
    expect(stdout.split('\n')).toEqual([
      'Found 2 user(s) to process',
      'Skipping Partner CP1 (CP1) - Integration-managed user',
      'Skipping Partner CP2 (CP2) - Integration-managed user',
      '',
      'REFRESH SUMMARY:',
      'Successful: 0',
      'Failed: 0',
      'Skipped: 2',
      'Total: 2',
      '',
    ]);
  });

  it('answers an unknown user with "User not found" and exit code 1', async () => {
    const { code, stdout, stderr } = await cli(['--user', 'NOPE']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain('User not found: NOPE');
  });

  it('exits 1 when the run does not complete within --timeout, and says so', async () => {
    const { code, stdout, stderr } = await cli(['--user', 'CREAL1', '--timeout', '1']);
    expect(code).toBe(1);
    expect(stdout).toContain('Found 1 user(s) to process');
    expect(stdout).toContain('Total: 1');
    expect(stderr).toMatch(/did not complete within 1 s: 1 user\(s\) still pending/);
  });

  it('through `pnpm refresh-tokens --json`: the arguments arrive and stdout is pure JSON', async () => {
    const { code, stdout, stderr } = await runToEnd('pnpm', ['refresh-tokens', '--json'], { NATS_URL: pipeline.nats.url });
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({
      completed: true,
      successful: 0,
      failed: 0,
      skipped: 2,
      pending: 0,
      total: 2,
      failedUsers: [],
    });
    expect(summary.runId).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(stderr).toContain('Skipping Partner CP1 (CP1) - Integration-managed user');
  });
});
