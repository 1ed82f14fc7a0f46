import type { Response } from 'express';
import type { NatsConnection, Subscription } from 'nats';
import { RunCompleted, RunOutcomeRecorded } from '@refresher/contracts';
import { decodeJson, type Logger } from '@refresher/platform';
import type { Session } from './sessions.ts';

/** Every outcome and completion persistence announces (core NATS, `runs.<runId>.outcome|completed`). */
const RUN_NOTICES = 'runs.*.*';

/** Pages listening at once per replica; more are answered 503 and their browser tries again later. */
export const MAX_LISTENERS = 200;

/** A comment line this often keeps proxies from closing a quiet stream. */
const HEARTBEAT_MS = 20_000;

interface Listener {
  res: Response;
  session: Session;
}

export interface EventHub {
  /** Streams to `res` until the caller leaves, the session ends or the gateway stops; false when full. */
  listen(res: Response, session: Session): boolean;
  close(): void;
}

/** The notice as the page gets it: the schema's fields only, or null for anything else. */
function pageEvent(subject: string, data: Uint8Array): { type: string; data: unknown } | null {
  const kind = subject.split('.')[2];
  let body: unknown;
  try {
    body = decodeJson(data);
  } catch {
    return null;
  }
  if (kind === 'outcome') {
    const parsed = RunOutcomeRecorded.safeParse(body);
    return parsed.success ? { type: 'outcome', data: parsed.data } : null;
  }
  if (kind === 'completed') {
    const parsed = RunCompleted.safeParse(body);
    return parsed.success ? { type: 'completed', data: parsed.data } : null;
  }
  return null;
}

/**
 * Server-sent events for the status pages of this replica, fed by one NATS subscription that
 * exists while a page listens. A notice carries no token (persistence's notices never do); each is
 * checked against its schema and passed on as it is.
 */
export function createEventHub(nc: NatsConnection, log: Logger): EventHub {
  const listeners = new Set<Listener>();
  let sub: Subscription | null = null;
  let heartbeat: NodeJS.Timeout | null = null;

  const send = (text: string) => {
    const now = Date.now();
    for (const listener of listeners) {
      if (listener.session.expiresAt <= now) end(listener);
      else listener.res.write(text);
    }
  };
  const end = (listener: Listener) => {
    listeners.delete(listener);
    if (!listener.res.writableEnded) listener.res.end();
    if (listeners.size > 0) return;
    sub?.unsubscribe();
    sub = null;
    if (heartbeat) clearInterval(heartbeat);
    heartbeat = null;
  };
  const start = () => {
    sub = nc.subscribe(RUN_NOTICES, {
      callback: (err, msg) => {
        if (err) return log.warn({ errName: err.name }, 'status events subscription failed');
        const event = pageEvent(msg.subject, msg.data);
        if (event) send(`event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`);
      },
    });
    heartbeat = setInterval(() => send(': keep-alive\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
  };

  return {
    listen(res, session) {
      if (listeners.size >= MAX_LISTENERS) return false;
      const listener = { res, session };
      listeners.add(listener);
      if (!sub) start();
      res.status(200).set({ 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' });
      res.flushHeaders();
      // The page's EventSource reconnects after 3 s when the stream ends (a restart, a network change).
      res.write('retry: 3000\n\n');
      res.once('close', () => end(listener));
      // Once the server has the subscription, every later notice reaches this stream: say so.
      void nc.flush().then(
        () => listeners.has(listener) && res.write(': listening\n\n'),
        () => end(listener),
      );
      return true;
    },
    close() {
      for (const listener of [...listeners]) end(listener);
    },
  };
}
