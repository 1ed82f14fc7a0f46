import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { REPO_ROOT, createTestDatabase, freePort, startNats, type TestDatabase, type TestNats } from '@refresher/testkit';

/** The README's first command (`pnpm demo`), run to its end with `--once`, on its own servers. */
describe('the demo', () => {
  let nats: TestNats;
  let db: TestDatabase;
  beforeAll(async () => {
    [nats, db] = await Promise.all([startNats(), createTestDatabase()]);
  });
  afterAll(async () => {
    await Promise.allSettled([nats?.dispose(), db?.dispose()]);
  });

  it('refreshes the demo users and shows their tokens arriving', async () => {
    const [port, p1, p2, p3] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      NATS_URL: nats.url,
      DATABASE_URL: db.url,
      PORT: String(port),
      PERSISTENCE_HEALTH_PORT: String(p1),
      SCHEDULER_HEALTH_PORT: String(p2),
      IIFL_AUTH_HEALTH_PORT: String(p3),
    };
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', '--once'], { cwd: REPO_ROOT, env });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.once('exit', (c) => resolve({ code: c, output }));
    });
    expect(code, output).toBe(0);
    expect(output).toMatch(/engine got token for /);
    expect(output).toMatch(/HTTP 200: refreshed \d+/);
    expect(output).toMatch(/REFRESH SUMMARY:/);
  }, 120_000);
});
