import { describe, expect, it } from 'vitest';
import { integrationUser, realUser, usePipeline } from '@refresher/testkit';
import { runCli, type Output } from '../src/index.ts';

// --failed when nobody failed, and --clear-rejections' answers, in-process against the real
// persistence service (its own process). No iifl-auth runs: these paths need no login. A login
// through --failed, and the marks lifted for real, are in test/e2e/operator-commands.test.ts.
const pipeline = usePipeline({ users: [integrationUser('P1'), realUser('R1', { state: 'paused' })] });

function capture(): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

const cli = async (args: string[]) => {
  const io = capture();
  const code = await runCli(args, { NATS_URL: pipeline.nats.url }, io);
  return { code, ...io };
};

const runCount = async () => Number((await pipeline.sql.row<{ n: string }>('select count(*) as n from refresh_runs'))!.n);

describe('refresh-tokens --failed with nobody to retry', () => {
  it('says there is no run yet and exits 0, starting nothing', async () => {
    const { code, stdout } = await cli(['--failed']);
    expect(code).toBe(0);
    expect(stdout).toEqual(['No run over all users yet: nobody failed, nothing to refresh.']);
    expect(await runCount()).toBe(0);
  });

  it('says nobody failed in the latest all-users run, passing over a later one-user run; JSON stays JSON', async () => {
    const all = await cli([]);
    expect(all.code).toBe(0);
    // A one-user run after it (still pending: nobody logs R1 in) is not "the latest run" of --failed.
    const one = await cli(['--user', 'R1', '--timeout', '1']);
    expect(one.code).toBe(1);
    const runsBefore = await runCount();

    const { code, stdout } = await cli(['--failed']);
    expect(code).toBe(0);
    expect(stdout).toHaveLength(1);
    expect(stdout[0]).toMatch(/^Nobody failed in the latest run run-\d{14}-[0-9a-f]{8} \(cli, [0-9T:.-]+Z\): nothing to refresh\.$/);

    const json = await cli(['--failed', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout.join('\n'))).toEqual({
      runId: null,
      completed: true,
      successful: 0,
      failed: 0,
      skipped: 0,
      pending: 0,
      total: 0,
      failedUsers: [],
      results: [],
    });
    expect(json.stderr.join('\n')).toContain('Nobody failed in the latest run');
    expect(await runCount()).toBe(runsBefore);
  });
});

describe('refresh-tokens --clear-rejections', () => {
  it('says when there is no mark to lift, and names an unknown user with exit 1', async () => {
    const none = await cli(['--clear-rejections', '--user', 'R1']);
    expect(none.code).toBe(0);
    expect(none.stdout).toEqual(['R1 had no rejection mark: nothing to lift.']);

    const unknown = await cli(['--clear-rejections', '--user', 'NOPE']);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toEqual([]);
    expect(unknown.stderr).toEqual(['User not found: NOPE']);
  });
});
