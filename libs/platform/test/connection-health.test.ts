import { describe, expect, it } from 'vitest';
import { DebugEvents, Events, type NatsConnection, type Status } from 'nats';
import { trackConnection } from '../src/index.ts';

/** A connection whose status events the test pushes one by one. */
function fakeConnection() {
  const pending: Status[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  const nc = {
    isClosed: () => closed,
    status: () => ({
      async *[Symbol.asyncIterator]() {
        while (!closed) {
          const next = pending.shift();
          if (next) yield next;
          else await new Promise<void>((resolve) => (wake = resolve));
        }
      },
    }),
  } as unknown as NatsConnection;
  const flush = () => new Promise((resolve) => setImmediate(resolve));
  return {
    nc,
    push: async (type: Events | DebugEvents) => {
      pending.push({ type, data: '' } as Status);
      wake?.();
      await flush();
    },
    close: () => {
      closed = true;
      wake?.();
    },
  };
}

describe('trackConnection', () => {
  it('is up from the start, down from a disconnect until the reconnect, down once closed', async () => {
    const conn = fakeConnection();
    const up = trackConnection(conn.nc);
    expect(up()).toBe(true);
    await conn.push(Events.Disconnect);
    expect(up()).toBe(false);
    await conn.push(DebugEvents.Reconnecting);
    expect(up()).toBe(false);
    await conn.push(Events.Reconnect);
    expect(up()).toBe(true);
    conn.close();
    expect(up()).toBe(false);
  });
});
