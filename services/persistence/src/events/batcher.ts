import type { Logger } from '@refresher/platform';

/** Batches (transactions) in flight at once: one is written while the next one fills. */
const PARALLEL_BATCHES = 2;

export interface Batcher {
  /** Resolves when the source ends (or rejects with its error). */
  done: Promise<void>;
  /** Forgets what is queued and waits for the batches in flight. */
  drain(): Promise<void>;
}

/**
 * Reads `source` into batches of at most `batchMax` items for `handle`, with at most `unfinishedMax`
 * items read and not yet handled (reading pauses at the bound). Items that arrive in the same turn
 * of the event loop, or while {@link PARALLEL_BATCHES} batches are in flight, join one batch; an
 * idle batcher hands over a lone item at once.
 */
export function startBatcher<T>(
  source: AsyncIterable<T>,
  limits: { batchMax: number; unfinishedMax: number },
  handle: (batch: T[]) => Promise<void>,
  log: Logger,
): Batcher {
  const queue: T[] = [];
  const inFlight = new Set<Promise<void>>();
  let unfinished = 0;
  let freed: (() => void) | undefined;
  let scheduled = false;

  const pump = () => {
    scheduled = false;
    while (inFlight.size < PARALLEL_BATCHES && queue.length > 0) {
      const batch = queue.splice(0, limits.batchMax);
      const task: Promise<void> = handle(batch)
        .catch((err: unknown) => log.error({ err }, 'event handler failed'))
        .finally(() => {
          inFlight.delete(task);
          unfinished -= batch.length;
          freed?.();
          pump();
        });
      inFlight.add(task);
    }
  };

  const done = (async () => {
    for await (const item of source) {
      while (unfinished >= limits.unfinishedMax) await new Promise<void>((resolve) => (freed = resolve));
      unfinished += 1;
      queue.push(item);
      if (!scheduled) {
        scheduled = true;
        setImmediate(pump);
      }
    }
  })();

  return {
    done,
    drain: async () => {
      queue.length = 0;
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}
