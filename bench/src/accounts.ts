import { generateAccounts, type SimAccount } from '@refresher/iifl-sim';
import type { BenchOptions } from './options.ts';
import { UserState } from './system.ts';

/** The simulator's accounts of one run, by the part each plays. */
export interface BenchAccounts {
  /** How many the simulator generates (all of the below). */
  total: number;
  /** Refreshed by the run. */
  live: SimAccount[];
  /** Logged in by the legacy algorithm. */
  baseline: SimAccount[];
  /** Refreshed one at a time through the gateway on the idle system. */
  probe: SimAccount[];
  /** Logged in by the IIFL client alone, for comparison with the probes; not seeded. */
  bare: SimAccount[];
  /** The users seeded into the database, each with its state. */
  users: Array<{ account: SimAccount; state: string }>;
}

/**
 * Generates the run's accounts from the seed and hands them out in order: the live users, the
 * baseline's, the idle probes' and the bare logins'.
 */
export function allotAccounts(options: BenchOptions, seed: string): BenchAccounts {
  // Idle probes: one account per gateway probe, and one more each (plus one) for the bare logins.
  const bareCount = options.idleProbes > 0 ? options.idleProbes + 1 : 0;
  const accounts = generateAccounts(options.users + options.baselineUsers + options.idleProbes + bareCount, seed);
  const live = accounts.slice(0, options.users);
  const baseline = accounts.slice(options.users, options.users + options.baselineUsers);
  const probe = accounts.slice(options.users + options.baselineUsers, options.users + options.baselineUsers + options.idleProbes);
  const bare = accounts.slice(options.users + options.baselineUsers + options.idleProbes);
  const users = [
    ...live.map((account) => ({ account, state: UserState.live })),
    ...baseline.map((account) => ({ account, state: UserState.baseline })),
    ...probe.map((account) => ({ account, state: UserState.probe })),
  ];
  return { total: accounts.length, live, baseline, probe, bare, users };
}
