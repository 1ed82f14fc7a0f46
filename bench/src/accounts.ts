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
  /** The ceiling's: one to warm the bare client, then as many as the run has users; not seeded. */
  ceiling: { warmUp: SimAccount; timed: SimAccount[] };
  /** The users seeded into the database, each with its state. */
  users: Array<{ account: SimAccount; state: string }>;
}

/**
 * Generates the run's accounts from the seed and hands them out in order: the live users, the
 * baseline's, the idle probes', the bare logins' and the ceiling's.
 *
 * The ceiling logs in accounts of its own, registered in the same simulator process (so the same
 * latency and jitter knobs apply) but never used by the pipeline: the simulator enforces IIFL's
 * rules per account (one TOTP code per 30 s step, a login in progress per account, sessions and
 * their rate limits), and logging the run's users in again right after the run could meet a step
 * already used or a session's limit. A second simulator would need its knobs kept in step and would
 * add a process; fresh accounts in the same one need neither.
 */
export function allotAccounts(options: BenchOptions, seed: string): BenchAccounts {
  // Idle probes: one account per gateway probe, and one more each (plus one) for the bare logins.
  const bareCount = options.idleProbes > 0 ? options.idleProbes + 1 : 0;
  const ceilingCount = options.users + 1;
  const accounts = generateAccounts(options.users + options.baselineUsers + options.idleProbes + bareCount + ceilingCount, seed);
  let at = 0;
  const take = (n: number) => accounts.slice(at, (at += n));
  const live = take(options.users);
  const baseline = take(options.baselineUsers);
  const probe = take(options.idleProbes);
  const bare = take(bareCount);
  const [warmUp, ...timed] = take(ceilingCount);
  const users = [
    ...live.map((account) => ({ account, state: UserState.live })),
    ...baseline.map((account) => ({ account, state: UserState.baseline })),
    ...probe.map((account) => ({ account, state: UserState.probe })),
  ];
  return { total: accounts.length, live, baseline, probe, bare, ceiling: { warmUp: warmUp!, timed }, users };
}
