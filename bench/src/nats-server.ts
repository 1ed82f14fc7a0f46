import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startNats, startNatsCluster } from '@refresher/testkit';
import { spawnProcess, waitForLine } from './processes.ts';

/** A process whose CPU and memory the bench samples. */
export interface WatchedProcess {
  name: string;
  pid: number;
}

/** The bench's NATS: where to reach it, and, when this run started it, its servers' monitoring endpoints and processes. */
export interface BenchNats {
  /** NATS_URL: one URL, or every server's, comma-separated. */
  url: string;
  /** Each server's monitoring endpoint (`/varz`, `/routez`); empty when this run did not start NATS. */
  monitorUrls: string[];
  /** Each server's process, named `nats-server` (one server) or `nats-server n1`... (a cluster). */
  watched: WatchedProcess[];
  /** STREAM_REPLICAS for the services: 1, or the cluster's size. */
  streamReplicas: number;
  dispose(): Promise<void>;
}

function hasBinary(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/**
 * A nats-server of this run's own (JetStream in a temporary directory, monitoring on), so its CPU,
 * memory and message counters can be measured; the test kit's NATS when the binary is not installed.
 */
async function startOwnNats(): Promise<BenchNats> {
  if (!hasBinary('nats-server')) {
    const nats = await startNats();
    return { url: nats.url, monitorUrls: [], watched: [], streamReplicas: 1, dispose: () => nats.dispose() };
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
    monitorUrls: [`http://127.0.0.1:${monitorPort}`],
    watched: [{ name: proc.name, pid: proc.pid }],
    streamReplicas: 1,
    dispose: async () => {
      await proc.stop();
      rmSync(store, { recursive: true, force: true });
    },
  };
}

/** The test kit's local cluster of `size` servers (loopback routes), every stream with `size` replicas. */
async function startOwnCluster(size: number): Promise<BenchNats> {
  if (!hasBinary('nats-server')) throw new Error('--nats-cluster needs the nats-server binary on PATH');
  const cluster = await startNatsCluster(size);
  const watched = cluster.nodes.flatMap((node) => {
    const pid = node.pid();
    return pid === null ? [] : [{ name: `nats-server ${node.name}`, pid }];
  });
  if (watched.length < size) {
    await cluster.dispose();
    throw new Error(`only ${watched.length} of the cluster's ${size} nats-servers are running`);
  }
  return {
    url: cluster.url,
    monitorUrls: cluster.nodes.map((n) => n.monitorUrl),
    watched,
    streamReplicas: size,
    dispose: () => cluster.dispose(),
  };
}

/** One server of the run's own, or with `clusterSize` a local cluster of that many. */
export function startBenchNats(clusterSize: number | null): Promise<BenchNats> {
  return clusterSize === null ? startOwnNats() : startOwnCluster(clusterSize);
}
