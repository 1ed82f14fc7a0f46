import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { egressKey, type Egress } from './egress.ts';
import { httpAnswer, transportFailure, type HttpAnswer, type HttpCall, type HttpTransport } from './http-transport.ts';

export interface NodeHttpTransportOptions {
  /** Per call, from sending the request to the end of the body. */
  timeoutMs: number;
  /**
   * How long an idle keep-alive connection is kept. Below the usual 5 s server default, so a
   * connection is not reused just as the server closes it.
   */
  keepAliveMs?: number;
  /** Connections per host at most (calls beyond it queue in the agent). */
  maxSockets?: number;
  /**
   * The agents of an egress unused this long are closed and forgotten (default 10 minutes; at
   * least twice `timeoutMs`, so no call of theirs can still run). Kept for the life of the process,
   * one pair per account's egress would take about 3 KB each (docs/scaling.md).
   */
  poolIdleMs?: number;
  /** The clock (tests). */
  now?: () => number;
}

export interface NodeHttpTransport extends HttpTransport {
  /** How many egresses have agents right now. */
  pooledEgresses(): number;
}

const DEFAULT_POOL_IDLE_MS = 10 * 60_000;

/** Answers larger than this are cut off as a connection failure: no IIFL answer comes near it. */
const MAX_BODY_BYTES = 1024 * 1024;

class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
  readonly code = 'BODY_TOO_LARGE';
}

/**
 * `node:http(s)` with keep-alive agents: IPv4 only (IIFL whitelists static IPv4 addresses and its
 * host also has IPv6 records) unless the egress binds an IPv6 address, no retries (the caller owns
 * the retry policy). One pair of agents per egress (`call.egress`): a socket bound to one address,
 * or opened through one proxy, is never reused for another. The cheapest client measured on the
 * login path (docs/decisions/http-transport.md): about a third of the CPU of ky over fetch.
 */
export function createNodeHttpTransport(options: NodeHttpTransportOptions): NodeHttpTransport {
  const agentOptions: http.AgentOptions = {
    keepAlive: true,
    // Idle sockets are closed after this (the agent applies `timeout` to its free sockets).
    timeout: options.keepAliveMs ?? 4_000,
    maxSockets: options.maxSockets ?? 256,
    maxFreeSockets: options.maxSockets ?? 256,
    scheduling: 'lifo',
  };
  const now = options.now ?? Date.now;
  const idleMs = Math.max(options.poolIdleMs ?? DEFAULT_POOL_IDLE_MS, 2 * options.timeoutMs);
  const pools = new Map<string, { agents: Agents; lastUsed: number }>();
  let lastSweep = now();
  const sweep = (at: number) => {
    lastSweep = at;
    for (const [key, pool] of pools) {
      if (at - pool.lastUsed <= idleMs) continue;
      destroyAgents(pool.agents);
      pools.delete(key);
    }
  };
  const agentsFor = (egress: Egress | undefined): Agents => {
    const at = now();
    if (at - lastSweep > idleMs / 2) sweep(at);
    const key = egressKey(egress);
    let pool = pools.get(key);
    if (!pool) {
      pool = { agents: createAgents(egress, agentOptions), lastUsed: at };
      pools.set(key, pool);
    }
    pool.lastUsed = at;
    return pool.agents;
  };
  return {
    request: (call) => send(call, agentsFor(call.egress), options.timeoutMs),
    pooledEgresses: () => pools.size,
    async close() {
      for (const pool of pools.values()) destroyAgents(pool.agents);
      pools.clear();
    },
  };
}

function destroyAgents(agents: Agents): void {
  agents.http.destroy();
  agents.https.destroy();
}

interface Agents {
  http: http.Agent;
  https: http.Agent;
  /** The address family to resolve IIFL's host in: 6 only for an IPv6 source address. */
  family: 4 | 6;
}

/** The agents of one egress: plain ones, ones bound to a source address, or a proxy's (CONNECT for https). */
function createAgents(egress: Egress | undefined, options: http.AgentOptions): Agents {
  if (egress === undefined) return { http: new http.Agent(options), https: new https.Agent(options), family: 4 };
  if ('localAddress' in egress) {
    const bound = { ...options, localAddress: egress.localAddress };
    return { http: new http.Agent(bound), https: new https.Agent(bound), family: isIP(egress.localAddress) === 6 ? 6 : 4 };
  }
  return { http: new HttpProxyAgent(egress.proxyUrl, options), https: new HttpsProxyAgent(egress.proxyUrl, options), family: 4 };
}

/** One call: the request under its deadline and the caller's signal, settled once. */
function send(call: HttpCall, agents: Agents, timeoutMs: number): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    let timedOut = false;
    let settled = false;
    const finish = (error: unknown, answer?: HttpAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      call.signal?.removeEventListener('abort', onAbort);
      if (answer) resolve(answer);
      else reject(transportFailure(call.endpoint, error, { timedOut, callerAborted: call.signal?.aborted === true }));
    };

    const { request, body } = openRequest(call, agents);
    const timer = setTimeout(() => {
      timedOut = true;
      request.destroy(new Error('deadline passed'));
    }, timeoutMs);
    const onAbort = () => request.destroy(new Error('aborted'));
    if (call.signal?.aborted) onAbort();
    else call.signal?.addEventListener('abort', onAbort, { once: true });

    request.on('error', (error) => finish(error));
    request.on('response', (res) => readAnswer(request, res, finish));
    request.end(body);
  });
}

/** The request for a call (JSON body, bearer, the keep-alive agent of its egress and scheme), not yet sent. */
function openRequest(call: HttpCall, agents: Agents): { request: http.ClientRequest; body: string | undefined } {
  const url = new URL(call.url);
  const secure = url.protocol === 'https:';
  const body = call.json === undefined ? undefined : JSON.stringify(call.json);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
  }
  if (call.bearer !== undefined) headers.authorization = `Bearer ${call.bearer}`;
  const request = (secure ? https : http).request({
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port,
    path: `${url.pathname}${url.search}`,
    method: call.method,
    headers,
    family: agents.family,
    agent: secure ? agents.https : agents.http,
  });
  return { request, body };
}

/** Reads the answer's body (cut off past MAX_BODY_BYTES) and hands it, or the failure, to `finish`. */
function readAnswer(request: http.ClientRequest, res: http.IncomingMessage, finish: (error: unknown, answer?: HttpAnswer) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  res.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) request.destroy(new BodyTooLargeError('answer too large'));
    else chunks.push(chunk);
  });
  res.on('end', () => {
    const retryAfter = res.headers['retry-after'];
    finish(
      null,
      httpAnswer(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'), Array.isArray(retryAfter) ? retryAfter[0] : retryAfter),
    );
  });
  res.on('error', (error) => finish(error));
  res.on('aborted', () => finish(new Error('answer aborted')));
}
