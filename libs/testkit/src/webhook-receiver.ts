import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a webhook receiver got, and how it answered. */
export interface ReceivedWebhook {
  id: string;
  type: string;
  attempt: number;
  body: string;
  /** The signature and timestamp passed the receiver's check (the README's recipe). */
  verified: boolean;
  status: number | 'hung';
}

export interface WebhookReceiver {
  url: string;
  /** Every request, in the order they came. */
  requests: ReceivedWebhook[];
  /** What a receiver that drops repeats keeps: the first accepted (2xx) delivery of each id. */
  delivered(): Map<string, ReceivedWebhook>;
  /** How it answers from now on: an HTTP status, or `hang` (no answer until this is called again). */
  answer(mode: number | 'hang'): void;
  close(): Promise<void>;
}

/**
 * A webhook receiver on loopback for tests, checking every request as the README tells receivers
 * to, with its own code: the timestamp within 5 minutes of its clock and `X-Refresher-Signature`
 * equal to `sha256=` + hex HMAC-SHA256(secret, `<timestamp>.<raw body>`), compared in constant time.
 * A request that fails the check is answered 401 (and recorded as not verified).
 */
export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const requests: ReceivedWebhook[] = [];
  let mode: number | 'hang' = 200;
  let hung: Array<{ res: ServerResponse; record: ReceivedWebhook }> = [];
  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const record: ReceivedWebhook = {
        id: header(req, 'x-refresher-id'),
        type: header(req, 'x-refresher-event'),
        attempt: Number(header(req, 'x-refresher-attempt')),
        body,
        verified: verified(secret, header(req, 'x-refresher-timestamp'), header(req, 'x-refresher-signature'), body),
        status: 'hung',
      };
      requests.push(record);
      if (!record.verified) return reply(res, record, 401);
      if (mode === 'hang') hung.push({ res, record });
      else reply(res, record, mode);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    delivered: () => {
      const kept = new Map<string, ReceivedWebhook>();
      for (const r of requests) if (typeof r.status === 'number' && r.status < 300 && !kept.has(r.id)) kept.set(r.id, r);
      return kept;
    },
    answer: (next) => {
      mode = next;
      if (next === 'hang') return;
      for (const { res, record } of hung) reply(res, record, next);
      hung = [];
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const { res } of hung) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function reply(res: ServerResponse, record: ReceivedWebhook, status: number): void {
  record.status = status;
  res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'not now');
}

function header(req: IncomingMessage, name: string): string {
  const value = req.headers[name];
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function verified(secret: string, timestamp: string, signature: string, body: string): boolean {
  if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`);
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
