import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeZodError, zodIssueLines } from '../src/index.ts';

const schema = z.object({
  name: z.string().min(1, 'name must not be empty'),
  port: z.number({ error: 'not a number' }),
  nested: z.object({ key: z.string({ error: 'missing' }) }),
});

function errorOf(value: unknown, s: z.ZodType = schema): z.ZodError {
  const parsed = s.safeParse(value);
  if (parsed.success) throw new Error('expected a failure');
  return parsed.error;
}

describe('zod errors for people', () => {
  it.each([
    ['a path and its problem', { name: 'x', port: 'p', nested: { key: 'k' } }, ['port: not a number']],
    ['a nested path joined by dots', { name: 'x', port: 1, nested: {} }, ['nested.key: missing']],
    ['a message that names its path keeps it once', { name: '', port: 1, nested: { key: 'k' } }, ['name must not be empty']],
    [
      'every problem, in order',
      { name: '', port: 'p', nested: {} },
      ['name must not be empty', 'port: not a number', 'nested.key: missing'],
    ],
  ])('%s', (_, value, lines) => {
    expect(zodIssueLines(errorOf(value))).toEqual(lines);
  });

  it('names a problem with the whole value by its root label', () => {
    const error = errorOf('text', z.object({}, { error: 'not an object' }));
    expect(zodIssueLines(error)).toEqual(['(root): not an object']);
    expect(zodIssueLines(error, '(env)')).toEqual(['(env): not an object']);
  });

  it('puts the problems on one line', () => {
    expect(describeZodError(errorOf({ name: 'x', port: 'p', nested: {} }))).toBe('port: not a number; nested.key: missing');
  });
});
