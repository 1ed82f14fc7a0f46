import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.ts';

export interface TestNats {
  url: string;
  /** Stops the server (SIGTERM by default) and keeps its store, so `start()` can bring it back. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes the store. */
  dispose(): Promise<void>;
}

/**
 * A real nats-server with JetStream for a test: `TEST_NATS_URL` when set (shared, cannot be
 * restarted), else `nats-server` from PATH on a free port with a temporary store, else a
 * testcontainers NATS when a Docker engine answers.
 */
export async function startNats(
  options: {
    extraArgs?: string[];
    /** A nats-server configuration file (accounts, users, permissions); the port and store stay the test's. */
    configFile?: string;
    /** Environment of nats-server, added to the test's (for variables the configuration file reads). */
    env?: Record<string, string>;
  } = {},
): Promise<TestNats> {
  const shared = process.env.TEST_NATS_URL;
  if (shared) {
    return {
      url: shared,
      stop: async () => {
        throw new Error('TEST_NATS_URL is shared: it cannot be stopped by a test');
      },
      start: async () => {},
      dispose: async () => {},
    };
  }
  if (hasBinary('nats-server')) {
    const configArgs = options.configFile ? ['-c', options.configFile] : [];
    return startLocalNats([...configArgs, ...(options.extraArgs ?? [])], options.env);
  }
  return startContainerNats();
}

function hasBinary(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

async function startLocalNats(extraArgs: string[], env?: Record<string, string>): Promise<TestNats> {
  const port = await freePort();
  const storeDir = mkdtempSync(join(tmpdir(), 'nats-test-'));
  let child: ChildProcess | undefined;

  const start = async () => {
    const server = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir, ...extraArgs], {
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(env ? { env: { ...process.env, ...env } } : {}),
    });
    child = server;
    // nats-server logs to stderr: kept (the last few KB) to say why it did not come up.
    let log = '';
    server.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4_000)));
    try {
      await waitFor(
        `nats-server on port ${port}`,
        async () => {
          if (server.exitCode !== null || server.signalCode !== null)
            throw new Error(`nats-server exited (${server.exitCode ?? server.signalCode})`);
          return canConnect(port);
        },
        15_000,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\nnats-server said:\n${log}`, { cause: err });
    }
  };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill(signal);
    });
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    stop,
    start,
    dispose: async () => {
      await stop();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function startContainerNats(): Promise<TestNats> {
  const { GenericContainer } = await import('testcontainers');
  const container = await new GenericContainer('nats:2.10-alpine').withCommand(['-js']).withExposedPorts(4222).start();
  return {
    url: `nats://${container.getHost()}:${container.getMappedPort(4222)}`,
    stop: async () => {
      await container.stop();
    },
    start: async () => {
      throw new Error('a container NATS cannot be restarted with the same store');
    },
    dispose: async () => {
      await container.stop();
    },
  };
}
