/** setTimeout cannot wait longer than this; longer waits are taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface SlotTimer {
  /** The next slot it fires; null when none is left or once stopped. */
  next(): Date | null;
  stop(): void;
}

/**
 * Calls `fire` at each slot, from `first` on. Each slot is computed from the previous one
 * (`after`), so a fire always carries its scheduled time, however late the timer woke up.
 */
export function startSlotTimer(first: Date | null, after: (slot: Date) => Date | null, fire: (slot: Date) => void): SlotTimer {
  let next: Date | null = null;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const arm = (slot: Date | null) => {
    next = slot;
    if (!slot || stopped) return;
    const wait = slot.getTime() - Date.now();
    timer = setTimeout(
      () => {
        if (Date.now() < slot.getTime()) return arm(slot); // a long wait taken in steps
        fire(slot);
        arm(after(slot));
      },
      Math.min(Math.max(wait, 0), MAX_TIMER_MS),
    );
  };
  arm(first);
  return {
    next: () => next,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
      next = null;
    },
  };
}
