import { describe, expect, it } from 'vitest';
import { AsyncQueue } from '../src/async-queue.ts';

describe('AsyncQueue', () => {
  it('hands values to a waiting reader or keeps them in order, then ends once', async () => {
    let ends = 0;
    const queue = new AsyncQueue<number>(() => (ends += 1));
    const first = queue.next();
    queue.push(1);
    queue.push(2);
    queue.push(3);
    expect(await first).toEqual({ value: 1, done: false });
    queue.end();
    queue.end(new Error('ignored: ended already'));
    queue.push(4);
    expect(await queue.next()).toEqual({ value: 2, done: false });
    expect(await queue.next()).toEqual({ value: 3, done: false });
    expect(await queue.next()).toEqual({ value: undefined, done: true });
    expect(ends).toBe(1);
  });

  it('gives an error after the values queued before it, once', async () => {
    const queue = new AsyncQueue<number>();
    queue.push(1);
    queue.end(new Error('gone'));
    expect(await queue.next()).toEqual({ value: 1, done: false });
    await expect(queue.next()).rejects.toThrow('gone');
    expect(await queue.next()).toEqual({ value: undefined, done: true });
  });

  it('rejects a waiting reader with the error; return() ends it and drops what is queued', async () => {
    const waiting = new AsyncQueue<number>();
    const pending = waiting.next();
    waiting.end(new Error('cut'));
    await expect(pending).rejects.toThrow('cut');

    const queue = new AsyncQueue<number>();
    queue.push(1);
    expect(await queue.return()).toEqual({ value: undefined, done: true });
    expect(queue.isEnded).toBe(true);
    expect(await queue.next()).toEqual({ value: undefined, done: true });
  });
});
