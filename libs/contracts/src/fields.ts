import { z } from 'zod';

// Field schemas that many contracts share. Internal to the contracts (not exported by the index).

/** Every time in the contracts: ISO 8601 with an offset. */
export const Timestamp = z.iso.datetime({ offset: true });

/** A count: of users (in a run, a summary, a notice), of deliveries. */
export const Count = z.number().int().min(0);

/** The counts of a run's users by outcome, in a notice and in a summary. */
export const RunCounts = { total: Count, refreshed: Count, failed: Count, skipped: Count };

/** The values of a `const` object of codes, as a tuple for `z.enum`. */
export function valuesOf<T extends string>(codes: Record<string, T>): [T, ...T[]] {
  return Object.values(codes) as [T, ...T[]];
}
