import type { NatsConnection } from 'nats';

/**
 * Follows a connection's status events for a health check: up from the start, down from a
 * disconnect until the reconnect, and down for good once the connection is closed.
 */
export function trackConnection(nc: NatsConnection): () => boolean {
  let up = true;
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') up = false;
      else if (status.type === 'reconnect') up = true;
    }
  })();
  return () => up && !nc.isClosed();
}
