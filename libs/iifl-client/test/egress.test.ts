import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeHttpTransport, describeEgress, EgressFormatError, parseEgress } from '../src/index.ts';

/** Answers every request with the peer address it came from (and counts connections). */
let target: Server;
let targetUrl: string;
let targetConnections = 0;
/** A forward proxy that answers itself: it records the request line it was sent and any CONNECT. */
let proxy: Server;
let proxyUrl: string;
const proxied: string[] = [];

const listen = (server: Server) =>
  new Promise<string>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
const stop = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

beforeAll(async () => {
  target = createServer((req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ from: req.socket.remoteAddress })),
  );
  target.on('connection', () => (targetConnections += 1));
  targetUrl = await listen(target);
  proxy = createServer((req, res) => {
    proxied.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ via: 'proxy' }));
  });
  proxy.on('connect', (req, socket: Socket) => {
    proxied.push(`CONNECT ${req.url}`);
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  proxyUrl = await listen(proxy);
});

afterAll(async () => {
  await stop(target);
  await stop(proxy);
});

describe('an egress per call', () => {
  it('binds each call to its source address, and keeps one keep-alive pool per address', async () => {
    const transport = createNodeHttpTransport({ timeoutMs: 2_000 });
    const from = async (localAddress?: string) => {
      const answer = await transport.request({
        endpoint: 'profile',
        method: 'GET',
        url: `${targetUrl}/who`,
        ...(localAddress === undefined ? {} : { egress: { localAddress } }),
      });
      return (JSON.parse(answer.text) as { from: string }).from;
    };
    try {
      const before = targetConnections;
      const seen = [];
      for (const address of ['127.0.0.2', '127.0.0.3', '127.0.0.2', '127.0.0.3', undefined]) seen.push(await from(address));
      expect(seen).toEqual(['127.0.0.2', '127.0.0.3', '127.0.0.2', '127.0.0.3', '127.0.0.1']);
      // Sequential calls reuse their egress's socket: one connection per egress, none shared.
      expect(targetConnections - before).toBe(3);
    } finally {
      await transport.close();
    }
  });

  it('sends an http call through the proxy (absolute URL) and an https call as a CONNECT tunnel', async () => {
    const transport = createNodeHttpTransport({ timeoutMs: 2_000 });
    proxied.length = 0;
    try {
      const answer = await transport.request({ endpoint: 'profile', method: 'GET', url: `${targetUrl}/p?q=1`, egress: { proxyUrl } });
      expect(JSON.parse(answer.text)).toEqual({ via: 'proxy' });
      // The proxy refuses the tunnel: its answer reaches the client as that status (a bare 403 here).
      const refused = await transport.request({
        endpoint: 'profile',
        method: 'GET',
        url: 'https://iifl.example:8443/x',
        egress: { proxyUrl },
      });
      expect(refused.status).toBe(403);
      expect(proxied).toEqual([`GET ${targetUrl}/p?q=1`, 'CONNECT iifl.example:8443']);
    } finally {
      await transport.close();
    }
  });
});

describe('parseEgress', () => {
  it('reads an address as a source to bind and an http(s) URL as a proxy', () => {
    expect(parseEgress('127.0.0.2')).toEqual({ localAddress: '127.0.0.2' });
    expect(parseEgress(' ::1 ')).toEqual({ localAddress: '::1' });
    expect(parseEgress('http://proxy.internal:3128')).toEqual({ proxyUrl: 'http://proxy.internal:3128/' });
    expect(parseEgress('https://u:p@proxy.internal')).toEqual({ proxyUrl: 'https://u:p@proxy.internal/' });
  });

  it('refuses anything else, and describes a proxy without its credentials', () => {
    for (const text of ['', 'localhost', '300.1.1.1', 'socks5://proxy:1080', 'ftp://x', 'default']) {
      expect(() => parseEgress(text)).toThrow(EgressFormatError);
    }
    expect(describeEgress(parseEgress('https://user:secret@proxy.internal:8443'))).toBe('proxy https://proxy.internal:8443');
    expect(describeEgress({ localAddress: '127.0.0.3' })).toBe('127.0.0.3');
  });
});
