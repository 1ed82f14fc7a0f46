import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.ts';

/** One server of a test cluster; `stop` keeps its store so `start` brings it back as it was. */
export interface TestNatsNode {
  name: string;
  url: string;
  /** The monitoring endpoint (`/jsz`, `/varz`), for figures and to find a stream's leader. */
  monitorUrl: string;
  /** Its process id while it runs (for CPU and memory figures), else null. */
  pid(): number | null;
  stop(signal?: NodeJS.Signals): Promise<void>;
  start(): Promise<void>;
}

export interface TestNatsCluster {
  nodes: TestNatsNode[];
  /** Every node's URL, comma-separated, as NATS_URL takes them. */
  url: string;
  /** The node leading a stream's raft group, once one is elected. */
  leaderOf(stream: string, timeoutMs?: number): Promise<TestNatsNode>;
  dispose(): Promise<void>;
}

const CLUSTER_NAME = 'test-cluster';

/**
 * A JetStream cluster of `size` local nats-server processes (client, route and monitoring ports on
 * loopback), each with its own temporary store, for tests and benchmarks that need replicas.
 * Resolves once the cluster has elected its JetStream meta leader.
 */
export async function startNatsCluster(size = 3): Promise<TestNatsCluster> {
  // One at a time: ports asked for together may come back the same.
  const ports: { client: number; route: number; monitor: number }[] = [];
  for (let i = 0; i < size; i++) ports.push({ client: await freePort(), route: await freePort(), monitor: await freePort() });
  const routes = ports.map((p) => `nats-route://127.0.0.1:${p.route}`).join(',');
  const nodes = ports.map((p, i) => localNode(`n${i + 1}`, p, routes));
  await Promise.all(nodes.map((n) => n.start()));
  const cluster: TestNatsCluster = {
    nodes,
    url: nodes.map((n) => n.url).join(','),
    leaderOf: (stream, timeoutMs = 30_000) => waitFor(`the leader of stream ${stream}`, () => findLeader(nodes, stream), timeoutMs, 100),
    dispose: async () => {
      await Promise.allSettled(nodes.map((n) => (n as LocalNode).dispose()));
    },
  };
  await waitFor('the JetStream meta leader', () => metaLeaderKnown(nodes), 30_000, 100);
  return cluster;
}

interface LocalNode extends TestNatsNode {
  dispose(): Promise<void>;
}

function localNode(name: string, ports: { client: number; route: number; monitor: number }, routes: string): LocalNode {
  const store = mkdtempSync(join(tmpdir(), `nats-cluster-${name}-`));
  let child: ChildProcess | undefined;
  const args = [
    ...['-a', '127.0.0.1', '-p', String(ports.client), '-m', String(ports.monitor)],
    ...['-n', name, '-js', '-sd', store],
    ...['--cluster_name', CLUSTER_NAME, '--cluster', `nats://127.0.0.1:${ports.route}`, '--routes', routes],
  ];
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill(signal);
    });
  };
  return {
    name,
    url: `nats://127.0.0.1:${ports.client}`,
    monitorUrl: `http://127.0.0.1:${ports.monitor}`,
    pid: () => child?.pid ?? null,
    stop,
    start: async () => {
      const server = spawn('nats-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      child = server;
      let log = '';
      server.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4_000)));
      try {
        await waitFor(`nats-server ${name}`, () => monitorAnswers(`http://127.0.0.1:${ports.monitor}/varz`), 20_000, 100);
      } catch (err) {
        throw new Error(`${(err as Error).message}\nnats-server ${name} said:\n${log}`, { cause: err });
      }
    },
    dispose: async () => {
      await stop();
      rmSync(store, { recursive: true, force: true });
    },
  };
}

async function monitorAnswers(url: string): Promise<boolean> {
  return fetch(url, { signal: AbortSignal.timeout(1_000) }).then(
    (r) => r.ok,
    () => false,
  );
}

async function jsz(node: TestNatsNode, query = ''): Promise<Record<string, unknown> | null> {
  if (node.pid() === null) return null;
  return fetch(`${node.monitorUrl}/jsz${query}`, { signal: AbortSignal.timeout(1_000) })
    .then((r) => (r.ok ? (r.json() as Promise<Record<string, unknown>>) : null))
    .catch(() => null);
}

async function metaLeaderKnown(nodes: readonly TestNatsNode[]): Promise<boolean> {
  const answers = await Promise.all(nodes.map((n) => jsz(n)));
  return answers.every((a) => typeof (a?.['meta_cluster'] as { leader?: string } | undefined)?.leader === 'string');
}

interface StreamDetail {
  name: string;
  cluster?: { leader?: string };
}

/** The node whose `/jsz` names itself the leader of the stream's group (each node reports its own view). */
async function findLeader(nodes: readonly TestNatsNode[], stream: string): Promise<TestNatsNode | undefined> {
  for (const node of nodes) {
    const answer = await jsz(node, '?streams=true');
    const accounts = (answer?.['account_details'] ?? []) as { stream_detail?: StreamDetail[] }[];
    const detail = accounts.flatMap((a) => a.stream_detail ?? []).find((s) => s.name === stream);
    const leader = detail?.cluster?.leader;
    if (leader) return nodes.find((n) => n.name === leader);
  }
  return undefined;
}
