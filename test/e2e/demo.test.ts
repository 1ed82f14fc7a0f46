import { describe, expect, it } from 'vitest';
import { freePort, runEntryPoint, useServers } from '@refresher/testkit';

/** The README's first command (`pnpm demo`), run to its end with `--once`, on its own servers. */
describe('the demo', () => {
  const servers = useServers();

  it('refreshes the demo users and shows their tokens arriving', async () => {
    const [port, p1, p2, p3, p4] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      NATS_URL: servers.nats.url,
      DATABASE_URL: servers.database.url,
      PORT: String(port),
      PERSISTENCE_HEALTH_PORT: String(p1),
      SCHEDULER_HEALTH_PORT: String(p2),
      IIFL_AUTH_HEALTH_PORT: String(p3),
      NOTIFIER_HEALTH_PORT: String(p4),
    };
    const { code, output } = await runEntryPoint('scripts/demo.ts', ['--once'], env);
    expect(code, output).toBe(0);
    expect(output).toMatch(/engine got token for /);
    expect(output).toMatch(/HTTP 200: refreshed \d+/);
    expect(output).toMatch(/REFRESH SUMMARY:/);
    expect(output).toContain(`Status page: http://127.0.0.1:${port}/ `);
  }, 120_000);
});
