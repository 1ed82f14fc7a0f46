import { describe, expect, it } from 'vitest';
import { ServiceCallError } from '@refresher/platform';
import { decideStartRetry, type StartRetry } from '../src/start-run.ts';
import { catchUpDecision, type CatchUp } from '../src/firings.ts';

const unavailable = new ServiceCallError('persistence.runs.start', 503, 'no answer');
const half = () => 0.5;

describe('decideStartRetry', () => {
  it.each<[string, unknown, { attempts: number; elapsedMs: number; budgetMs: number }, StartRetry]>([
    [
      'no answer: retried, half the first ceiling (1 s) with random 0.5',
      unavailable,
      { attempts: 1, elapsedMs: 0, budgetMs: 600_000 },
      { retry: true, delayMs: 500 },
    ],
    [
      'the ceiling doubles per attempt',
      unavailable,
      { attempts: 3, elapsedMs: 10_000, budgetMs: 600_000 },
      { retry: true, delayMs: 2_000 },
    ],
    ['the ceiling stops at 30 s', unavailable, { attempts: 20, elapsedMs: 10_000, budgetMs: 600_000 }, { retry: true, delayMs: 15_000 }],
    [
      'a failed publish is retried too',
      new Error('publish failed'),
      { attempts: 1, elapsedMs: 0, budgetMs: 600_000 },
      { retry: true, delayMs: 500 },
    ],
    ['no wait runs past the budget', unavailable, { attempts: 20, elapsedMs: 599_000, budgetMs: 600_000 }, { retry: true, delayMs: 1_000 }],
    ['the budget spent', unavailable, { attempts: 5, elapsedMs: 600_000, budgetMs: 600_000 }, { retry: false, reason: 'budget-spent' }],
    ['no budget at all', unavailable, { attempts: 1, elapsedMs: 0, budgetMs: 0 }, { retry: false, reason: 'budget-spent' }],
    [
      'a 4xx answer will not change',
      new ServiceCallError('persistence.runs.start', 400, 'bad'),
      { attempts: 1, elapsedMs: 0, budgetMs: 600_000 },
      { retry: false, reason: 'not-retryable' },
    ],
  ])('%s', (_, err, state, decision) => {
    expect(decideStartRetry(err, state, half)).toEqual(decision);
  });
});

describe('catchUpDecision', () => {
  it.each<[string, unknown, CatchUp]>([
    ['the run was found: it already ran', undefined, 'already-ran'],
    ['persistence says there is no such run: fire it', new ServiceCallError('persistence.runs.get', 404, 'not found'), 'fire'],
    ['no answer: not caught up', new ServiceCallError('persistence.runs.get', 503, 'no answer'), 'unknown'],
    ['any other error: not caught up', new Error('boom'), 'unknown'],
  ])('%s', (_, lookupError, decision) => {
    expect(catchUpDecision(lookupError)).toBe(decision);
  });
});
