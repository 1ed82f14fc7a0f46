import { backoffCeiling, type Backoff } from '@refresher/platform';
import type { Running } from './services.ts';

/**
 * A small process supervisor for `pnpm start`: a service that dies is started again after a
 * back-off (doubling per crash in a row, capped; a run that lasted `stableMs` starts the count
 * afresh), and it says so; `stop()` stops every service, the last started first.
 */
export interface SupervisorOptions {
  backoff: Backoff;
  /** A run at least this long counts as healthy: the next crash waits `backoff.baseMs` again. */
  stableMs: number;
  say: (line: string) => void;
  now?: () => number;
}

export interface Supervised {
  name: string;
  start: () => Running;
}

export interface Supervisor {
  /** Starts a service and keeps it running until `stop()`. */
  add(service: Supervised): Running;
  /** The current process of each service (a restart replaces it). */
  running(): Running[];
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Crashes in a row after one more exit: a run that lasted `stableMs` or more starts the count afresh. */
export function crashesInARow(before: number, ranMs: number, stableMs: number): number {
  return ranMs >= stableMs ? 1 : before + 1;
}

/** How long to wait before the restart that follows `crashes` crashes in a row. */
export function restartDelay(backoff: Backoff, crashes: number): number {
  return backoffCeiling(backoff, crashes);
}

interface Slot {
  service: Supervised;
  current: Running;
  startedAt: number;
  crashes: number;
  timer: NodeJS.Timeout | undefined;
}

export function createSupervisor(options: SupervisorOptions): Supervisor {
  const now = options.now ?? Date.now;
  const slots: Slot[] = [];
  let stopping = false;

  const watch = (slot: Slot) => {
    options.say(`${slot.service.name} started (pid ${slot.current.child.pid})`);
    void slot.current.exited.then((code) => {
      if (!stopping) restartLater(slot, code);
    });
  };

  const restartLater = (slot: Slot, code: number | null) => {
    slot.crashes = crashesInARow(slot.crashes, now() - slot.startedAt, options.stableMs);
    const delay = restartDelay(options.backoff, slot.crashes);
    const how = code === null ? `by signal ${slot.current.child.signalCode ?? 'unknown'}` : `with code ${code}`;
    options.say(`${slot.service.name} exited ${how}; restarting in ${formatDelay(delay)} (crash ${slot.crashes} in a row)`);
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      if (stopping) return;
      slot.current = slot.service.start();
      slot.startedAt = now();
      watch(slot);
    }, delay);
  };

  return {
    add(service) {
      const slot: Slot = { service, current: service.start(), startedAt: now(), crashes: 0, timer: undefined };
      slots.push(slot);
      watch(slot);
      return slot.current;
    },
    running: () => slots.map((slot) => slot.current),
    async stop(signal = 'SIGTERM') {
      stopping = true;
      for (const slot of slots) clearTimeout(slot.timer);
      for (const slot of [...slots].reverse()) await stopProcess(slot.current, signal);
    },
  };
}

async function stopProcess(running: Running, signal: NodeJS.Signals): Promise<void> {
  if (running.child.exitCode === null && running.child.signalCode === null) running.child.kill(signal);
  await running.exited;
}

function formatDelay(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${ms / 1000} s`;
}
