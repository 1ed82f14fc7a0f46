import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, runEntryPoint, runToEnd } from '@refresher/testkit';

/**
 * `pnpm demo --once` on a machine without PostgreSQL. The machine's own PostgreSQL keeps serving
 * everyone else, so the demo runs in a network namespace of its own (`unshare -rn`): there
 * 127.0.0.1:5432 is really closed and DATABASE_URL is unset, the very condition the demo checks,
 * with no switch added for the test. NATS on 4222 is out of reach there too, so the namespace
 * starts its own nats-server on the default address (NATS_URL unset as well). The embedded
 * database's directory is a temporary one (EMBEDDED_DATABASE_DIR), as `.data/` is on a fresh clone.
 */
describe('the demo without PostgreSQL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'demo-embedded-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs on the embedded database and refreshes the demo users', async () => {
    const script = [
      'ip link set lo up',
      `nats-server -a 127.0.0.1 -p 4222 -js -sd '${dir}/nats' >/dev/null 2>&1 &`,
      'nats=$!',
      'trap "kill $nats" EXIT',
      // The demo checks for NATS first: wait until this one listens.
      'i=0; until (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null || [ $i -ge 100 ]; do i=$((i+1)); sleep 0.1; done',
      `'${process.execPath}' --import tsx scripts/demo.ts --once`,
    ].join('\n');
    const { code, output } = await runToEnd('unshare', ['-rn', 'bash', '-c', script], {
      EMBEDDED_DATABASE_DIR: join(dir, 'postgres'),
    });
    expect(code, output).toBe(0);
    expect(output).toMatch(/No PostgreSQL on 127\.0\.0\.1:5432: using an embedded one \(PGlite, data in .*postgres\)/);
    expect(output).toMatch(/Imported 5 demo users \(credentials encrypted\) into postgres:\/\/127\.0\.0\.1:\d+\/postgres/);
    expect(output).toMatch(/HTTP 200: refreshed 2, failed 1, total 3/);
    expect(output).toMatch(/engine got token for DEMO001: /);
    expect(output).toMatch(/engine got token for DEMO002: /);
    expect(output).toMatch(/REFRESH SUMMARY:\nSuccessful: 1\nFailed: 0/);
  }, 240_000);

  it('stops with how to get nats-server when no NATS answers and none is installed', async () => {
    // A PATH holding only a shell: nats-server is not on it.
    const bin = mkdtempSync(join(dir, 'bin-'));
    symlinkSync('/bin/sh', join(bin, 'sh'));
    const { code, stderr, stdout } = await runEntryPoint('scripts/demo.ts', ['--once'], {
      PATH: bin,
      NATS_URL: `nats://127.0.0.1:${await freePort()}`,
    });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^No NATS answers at nats:\/\/127\.0\.0\.1:\d+, and nats-server is not installed\./);
    expect(stderr).toContain('sudo apt-get install nats-server');
    expect(stderr).toContain('brew install nats-server');
    expect(stderr).toContain('https://github.com/nats-io/nats-server/releases');
    expect(stderr).toContain('docker run --rm -p 4222:4222 nats:2.10-alpine -js');
  });
});
