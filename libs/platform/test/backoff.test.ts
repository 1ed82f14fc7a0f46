import { describe, expect, it } from 'vitest';
import { backoffCeiling, backoffDelay } from '../src/index.ts';

const backoff = { baseMs: 1_000, maxDelayMs: 30_000 };
const almostOne = () => 0.999_999;

describe('backoffCeiling (exponential, capped)', () => {
  it.each([
    [0, 1_000],
    [1, 1_000],
    [2, 2_000],
    [3, 4_000],
    [5, 16_000],
    [6, 30_000],
    [2_000, 30_000],
  ])('after %i attempts the ceiling is %i ms', (attempts, ceiling) => {
    expect(backoffCeiling(backoff, attempts)).toBe(ceiling);
  });

  it('stays a number with a base of 0', () => {
    expect(backoffCeiling({ baseMs: 0, maxDelayMs: 1_000 }, 2_000)).toBe(0);
  });
});

describe('backoffDelay (full jitter below the ceiling)', () => {
  it.each([
    [1, () => 0, 0],
    [1, () => 0.5, 500],
    [1, almostOne, 999],
    [3, () => 0.5, 2_000],
    [3, almostOne, 3_999],
    [40, almostOne, 29_999],
  ])('after %i attempts, random %#: %i ms', (attempts, random, delay) => {
    expect(backoffDelay(backoff, attempts, random)).toBe(delay);
  });
});
