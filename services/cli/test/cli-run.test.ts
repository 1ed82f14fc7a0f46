import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Subjects, TokenFailed, TokenRefreshed } from '@refresher/contracts';
import { encodeJson } from '@refresher/platform';
import { realUser, usePipeline, waitFor } from '@refresher/testkit';
import { runCli, type Output } from '../src/index.ts';

// A one-user run followed to its end, in-process, with the real persistence service (its own process).
// iifl-auth does not run: the test publishes the outcome event iifl-auth would publish, and persistence
// records it.
const pipeline = usePipeline({ users: [realUser('R1', { clientName: 'Real One', appKey: 'app-key-value' })] });

const SECRET_TOKEN = 'eyJ-secret-session-token-value';

function capture(): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

/** Runs the command and, once it waits, plays iifl-auth's part with `publishOutcome(runId)`. */
async function runWithOutcome(args: string[], publishOutcome: (runId: string) => Promise<void>) {
  const io = capture();
  const exit = runCli(args, { NATS_URL: pipeline.nats.url }, io);
  const runId = await waitFor('the run to start', () => {
    for (const line of io.stderr) {
      const match = /^Run ([A-Za-z0-9_-]+): waiting/.exec(line);
      if (match) return match[1];
    }
    return undefined;
  });
  await publishOutcome(runId);
  return { io, code: await exit, runId };
}

describe('a run followed to its end', () => {
  it('prints the validity of a new token with --verbose, never the token, and exits 0', async () => {
    const validity = '2026-11-30T09:30:05.000Z';
    const { io, code } = await runWithOutcome(['--user', 'R1', '--verbose'], async (runId) => {
      const event = TokenRefreshed.parse({
        v: 1,
        eventId: randomUUID(),
        runId,
        userID: 'R1',
        token: SECRET_TOKEN,
        tokenValidity: validity,
        loginTime: new Date().toISOString(),
        source: 'login',
        attempts: 1,
      });
      await pipeline.nc.jetstream().publish(Subjects.refreshed('R1'), encodeJson(event));
    });
    expect(code).toBe(0);
    expect(io.stderr).toContain('[1/1] R1 refreshed');
    expect(io.stdout).toEqual([
      'Found 1 user(s) to process',
      `Refreshed Real One (R1) - token valid until ${validity}`,
      '',
      'REFRESH SUMMARY:',
      'Successful: 1',
      'Failed: 0',
      'Skipped: 0',
      'Total: 1',
    ]);
    const everything = [...io.stdout, ...io.stderr].join('\n');
    expect(everything).not.toContain(SECRET_TOKEN.slice(0, 8));
    expect(everything).not.toContain('app-key');
  });

  it('lists a failed user with code and message, and exits 1; --json carries the same', async () => {
    const { io, code, runId } = await runWithOutcome(['--user', 'R1', '--json'], async (id) => {
      const event = TokenFailed.parse({
        v: 1,
        eventId: randomUUID(),
        runId: id,
        userID: 'R1',
        code: 'BAD_TOTP',
        brokerCode: 'EC016',
        message: 'Invalid TOTP',
        retryable: false,
        attempts: 1,
        failedAt: new Date().toISOString(),
      });
      await pipeline.nc.jetstream().publish(Subjects.failed('R1'), encodeJson(event));
    });
    expect(code).toBe(1);
    expect(io.stdout).toHaveLength(1);
    const summary = JSON.parse(io.stdout[0]!) as Record<string, unknown>;
    expect(summary).toMatchObject({
      runId,
      completed: true,
      successful: 0,
      failed: 1,
      skipped: 0,
      pending: 0,
      total: 1,
      failedUsers: [{ userID: 'R1', code: 'BAD_TOTP', message: 'Invalid TOTP' }],
    });
    expect(io.stderr).toContain('Found 1 user(s) to process');
  });
});
