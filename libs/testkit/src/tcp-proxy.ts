import { connect, createServer, type Server, type Socket } from 'node:net';

/** A TCP proxy on loopback in front of a server, for cutting a client's connection on purpose. */
export interface TcpProxy {
  /** The target's URL with the proxy's host and port (`nats://127.0.0.1:<port>` for a NATS target). */
  readonly url: string;
  readonly port: number;
  /** Connections currently open through the proxy. */
  readonly open: number;
  /** Connections let through since the proxy started (refused ones not counted). */
  readonly accepted: number;
  /** Resets every open connection and refuses new ones (reset at once) until `restore()`. */
  cut(): void;
  /** Lets new connections through again. */
  restore(): void;
  /** Cuts everything and stops listening. */
  close(): Promise<void>;
}

type Pair = [client: Socket, upstream: Socket];

/**
 * Starts a proxy on 127.0.0.1 (a free port) forwarding to the host and port of `targetUrl`
 * (`scheme://host:port`). While cut, the port stays bound: a new connection is accepted and reset at
 * once, which a client sees as a failed dial, and no other process can take the port meanwhile.
 */
export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const targetPort = Number(target.port);
  if (!target.hostname || !Number.isInteger(targetPort) || targetPort <= 0) {
    throw new Error('startTcpProxy needs a URL with a host and a port, e.g. nats://127.0.0.1:4222');
  }
  const pairs = new Set<Pair>();
  const state = { refusing: false, accepted: 0 };
  const server = createServer((client) => {
    if (state.refusing) {
      client.resetAndDestroy();
      return;
    }
    state.accepted += 1;
    forward(client, connect(targetPort, target.hostname), pairs);
  });
  const cut = () => {
    state.refusing = true;
    for (const pair of [...pairs]) {
      pairs.delete(pair);
      const [client, upstream] = pair;
      if (!client.destroyed) client.resetAndDestroy();
      upstream.destroy();
    }
  };
  const port = await listen(server);
  const url = new URL(targetUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString().replace(/\/$/, ''),
    port,
    get open() {
      return pairs.size;
    },
    get accepted() {
      return state.accepted;
    },
    cut,
    restore: () => {
      state.refusing = false;
    },
    close: () => {
      cut();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Pipes both ways; when either side errs or closes, both are destroyed and the pair forgotten. */
function forward(client: Socket, upstream: Socket, pairs: Set<Pair>): void {
  const pair: Pair = [client, upstream];
  pairs.add(pair);
  const drop = () => {
    pairs.delete(pair);
    client.destroy();
    upstream.destroy();
  };
  for (const socket of pair) {
    socket.setNoDelay(true);
    socket.on('error', drop);
    socket.on('close', drop);
  }
  client.pipe(upstream);
  upstream.pipe(client);
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });
}
