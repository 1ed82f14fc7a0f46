import { describe, expect, it } from 'vitest';
import { createUserGate, GateAbortedError } from '../src/user-gate.ts';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('user gate', () => {
  const signal = new AbortController().signal;

  it('runs one login per user at a time; the second waits and then runs its own', async () => {
    const gate = createUserGate();
    const events: string[] = [];
    const first = deferred();
    const a = gate.withUser('U1', signal, async () => {
      events.push('a start');
      await first.promise;
      events.push('a end');
      return 'a';
    });
    const b = gate.withUser('U1', signal, async () => {
      events.push('b start');
      return 'b';
    });
    const other = gate.withUser('U2', signal, async () => {
      events.push('other');
      return 'other';
    });
    await other;
    expect(events).toEqual(['a start', 'other']);
    first.resolve();
    expect(await Promise.all([a, b])).toEqual(['a', 'b']);
    expect(events).toEqual(['a start', 'other', 'a end', 'b start']);
    expect(gate.busyUsers()).toBe(0);
  });

  it('releases the lock when the holder throws', async () => {
    const gate = createUserGate();
    await expect(gate.withUser('U1', signal, async () => { throw new Error('x'); })).rejects.toThrow('x');
    await expect(gate.withUser('U1', signal, async () => 'next')).resolves.toBe('next');
  });

  it('lets a waiter leave on abort without letting the next one overtake the holder', async () => {
    const gate = createUserGate();
    const holder = deferred();
    const events: string[] = [];
    const a = gate.withUser('U1', signal, async () => {
      await holder.promise;
      events.push('a end');
    });
    const controller = new AbortController();
    const b = gate.withUser('U1', controller.signal, async () => { events.push('b ran'); });
    const c = gate.withUser('U1', signal, async () => { events.push('c ran'); });
    controller.abort();
    await expect(b).rejects.toBeInstanceOf(GateAbortedError);
    await Promise.resolve();
    expect(events).toEqual([]);
    holder.resolve();
    await Promise.all([a, c]);
    expect(events).toEqual(['a end', 'c ran']);
  });
});
