import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FailureCode } from '@refresher/contracts';
import { generateAccounts, startSimulator, type Simulator } from '@refresher/iifl-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIiflClient, createNodeHttpTransport, IiflError, parseIiflClientConfig } from '../src/index.ts';
import { credentialsOf } from './sim-harness.ts';

/** What the echo server saw of the last request. */
interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  remoteFamily: string | undefined;
}

let server: Server;
let base: string;
let lastSeen: Seen | undefined;
const accounts = generateAccounts(2, 'transports');
let sim: Simulator;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      lastSeen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, remoteFamily: req.socket.remoteFamily };
      if (req.url === '/hang') return; // never answers
      if (req.url === '/status/503') {
        res.writeHead(503, { 'content-type': 'text/plain' }).end('down');
        return;
      }
      if (req.url === '/empty') {
        res.writeHead(204).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'Ok', echo: body }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  sim = await startSimulator({ port: 0, accounts, knobs: { latencyMs: 0 } });
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await sim.close();
});

const make = (timeoutMs: number) => createNodeHttpTransport({ timeoutMs });

describe('the node:http transport', () => {
  it('sends the JSON body, the bearer and accept headers over IPv4, and returns status and text', async () => {
    const transport = make(2_000);
    try {
      const answer = await transport.request({
        endpoint: 'enckey',
        method: 'POST',
        url: `${base}/v1/x?y=1`,
        json: { a: 1, b: 'é' },
        bearer: 'tok',
      });
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.text)).toEqual({ status: 'Ok', echo: '{"a":1,"b":"é"}' });
      expect(lastSeen).toMatchObject({ method: 'POST', url: '/v1/x?y=1', body: '{"a":1,"b":"é"}', remoteFamily: 'IPv4' });
      expect(lastSeen?.headers.authorization).toBe('Bearer tok');
      expect(lastSeen?.headers['content-type']).toMatch(/^application\/json/);
      expect(lastSeen?.headers.accept).toBe('application/json');
    } finally {
      await transport.close();
    }
  });

  it('closes and forgets the agents of an egress unused for poolIdleMs, and makes new ones when it comes back', async () => {
    let clock = 0;
    const transport = createNodeHttpTransport({ timeoutMs: 1_000, poolIdleMs: 60_000, now: () => clock });
    const get = (localAddress: string) =>
      transport.request({ endpoint: 'enckey', method: 'GET', url: `${base}/`, egress: { localAddress } }).then((a) => a.status);
    try {
      expect(await get('127.0.0.2')).toBe(200);
      expect(await get('127.0.0.3')).toBe(200);
      expect(transport.pooledEgresses()).toBe(2);
      clock = 50_000; // .2 in use again; .3 idle for 50 s
      expect(await get('127.0.0.2')).toBe(200);
      // Idle pools are looked for at most every half of the limit: .3 (idle 81 s) goes, .2 (31 s) stays.
      clock = 81_000;
      expect(await get('127.0.0.4')).toBe(200);
      expect(transport.pooledEgresses()).toBe(2);
      clock = 200_000;
      expect(await get('127.0.0.3')).toBe(200);
      expect(transport.pooledEgresses()).toBe(1);
      expect(lastSeen?.method).toBe('GET');
    } finally {
      await transport.close();
    }
    expect(transport.pooledEgresses()).toBe(0);
  });

  it('passes any HTTP status through and an empty body as ""', async () => {
    const transport = make(2_000);
    try {
      expect(await transport.request({ endpoint: 'profile', method: 'GET', url: `${base}/status/503` })).toEqual({
        status: 503,
        text: 'down',
      });
      expect(await transport.request({ endpoint: 'profile', method: 'GET', url: `${base}/empty` })).toEqual({ status: 204, text: '' });
      expect(lastSeen?.method).toBe('GET');
      expect(lastSeen?.headers.authorization).toBeUndefined();
    } finally {
      await transport.close();
    }
  });

  it('rejects with TIMEOUT when no answer comes in time', async () => {
    const transport = make(150);
    try {
      const error = await transport
        .request({ endpoint: 'validatetotp', method: 'POST', url: `${base}/hang`, json: {} })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(IiflError);
      expect(error).toMatchObject({ code: FailureCode.Timeout, endpoint: 'validatetotp', retryable: true });
    } finally {
      await transport.close();
    }
  });

  it('rejects with TIMEOUT when the caller aborts', async () => {
    const transport = make(5_000);
    try {
      const controller = new AbortController();
      const pending = transport.request({ endpoint: 'enckey', method: 'POST', url: `${base}/hang`, json: {}, signal: controller.signal });
      setTimeout(() => controller.abort(), 50);
      const error = await pending.catch((e: unknown) => e);
      expect(error).toMatchObject({ code: FailureCode.Timeout, message: expect.stringContaining('aborted by the caller') });
    } finally {
      await transport.close();
    }
  });

  it('rejects with BROKER_UNAVAILABLE when nothing listens', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const transport = make(2_000);
    try {
      const error = await transport
        .request({ endpoint: 'enckey', method: 'POST', url: `http://127.0.0.1:${port}/v1`, json: {} })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: FailureCode.BrokerUnavailable, message: expect.stringContaining('ECONNREFUSED') });
    } finally {
      await transport.close();
    }
  });

  it('carries a whole login against the simulator, over reused connections', async () => {
    const client = createIiflClient(parseIiflClientConfig({ IIFL_BASE_URL: sim.baseUrl }), { transport: make(5_000) });
    try {
      for (const account of accounts) {
        const result = await client.login(credentialsOf(account));
        expect(await client.checkToken(result.token)).toEqual({ clientId: account.clientId });
      }
      expect(client.keyPairsGenerated()).toBe(1);
    } finally {
      await client.close();
    }
  });
});
