import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startNats } from '@refresher/testkit';
import { spawnProcess, waitForLine, type BenchProcess } from './processes.ts';

/** The bench's NATS: where to reach it, its monitoring endpoint and process when this run started it. */
export interface BenchNats {
  url: string;
  monitorUrl: string | null;
  proc: BenchProcess | null;
  dispose(): Promise<void>;
}

function hasBinary(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/**
 * A nats-server of this run's own (JetStream in a temporary directory, monitoring on), so its CPU,
 * memory and message counters can be measured; the test kit's NATS when the binary is not installed.
 */
export async function startOwnNats(): Promise<BenchNats> {
  if (!hasBinary('nats-server')) {
    const nats = await startNats();
    return { url: nats.url, monitorUrl: null, proc: null, dispose: () => nats.dispose() };
  }
  const [port, monitorPort] = await Promise.all([freePort(), freePort()]);
  const store = mkdtempSync(join(tmpdir(), 'bench-nats-'));
  const proc = spawnProcess(
    'nats-server',
    'nats-server',
    ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort), '-js', '-sd', store],
    {},
  );
  await waitForLine(proc, /Server is ready/, 20_000);
  return {
    url: `nats://127.0.0.1:${port}`,
    monitorUrl: `http://127.0.0.1:${monitorPort}`,
    proc,
    dispose: async () => {
      await proc.stop();
      rmSync(store, { recursive: true, force: true });
    },
  };
}
