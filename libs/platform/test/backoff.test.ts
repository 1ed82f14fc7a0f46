import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../src/index.ts';

const backoff = { baseMs: 1_000, maxDelayMs: 30_000 };
const almostOne = () => 0.999_999;

describe('backoffDelay (exponential, full jitter, capped)', () => {
  it.each([
    [1, 1_000],
    [2, 2_000],
    [3, 4_000],
    [5, 16_000],
    [6, 30_000],
    [40, 30_000],
  ])('after %i attempts the ceiling is %i ms', (attempts, ceiling) => {
    expect(backoffDelay(backoff, attempts, () => 0)).toBe(0);
    expect(backoffDelay(backoff, attempts, almostOne)).toBe(ceiling - 1);
    expect(backoffDelay(backoff, attempts, () => 0.5)).toBe(ceiling / 2);
  });

  it('treats zero attempts like the first', () => {
    expect(backoffDelay(backoff, 0, () => 0.5)).toBe(500);
  });
});
