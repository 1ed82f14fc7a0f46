/**
 * A queue read as an async iterator: values pushed while nobody waits are kept in order; it ends
 * once, with or without an error (an error comes out after the values already queued).
 */
export class AsyncQueue<T> implements AsyncIterator<T> {
  private readonly items: T[] = [];
  private waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  private failure: unknown;
  private ended = false;

  /** `onEnd` runs once, when the queue ends (to release what feeds it). */
  constructor(private readonly onEnd: () => void = () => {}) {}

  get isEnded(): boolean {
    return this.ended;
  }

  push(value: T): void {
    if (this.ended) return;
    const waiting = this.takeWaiting();
    if (waiting) waiting.resolve({ value, done: false });
    else this.items.push(value);
  }

  end(err?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    if (err !== undefined) this.failure = err;
    this.onEnd();
    const waiting = this.takeWaiting();
    if (!waiting) return;
    if (this.failure !== undefined && this.items.length === 0) waiting.reject(this.failure);
    else waiting.resolve({ value: undefined, done: true });
  }

  next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) return Promise.resolve({ value: this.items.shift()!, done: false });
    if (!this.ended) return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
    if (this.failure === undefined) return Promise.resolve({ value: undefined, done: true });
    const err = this.failure;
    this.failure = undefined;
    return Promise.reject(err);
  }

  /** Ends the queue and drops what it still holds (`break` out of a `for await`). */
  return(): Promise<IteratorResult<T>> {
    this.end();
    this.items.length = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  private takeWaiting() {
    const waiting = this.waiting;
    this.waiting = undefined;
    return waiting;
  }
}
