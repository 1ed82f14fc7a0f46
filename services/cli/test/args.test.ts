import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMEOUT_SECONDS, parseCliArgs } from '../src/index.ts';

describe('parseCliArgs', () => {
  it('defaults to every user, quiet, text output, 600 s', () => {
    expect(parseCliArgs([])).toEqual({
      kind: 'run',
      options: { verbose: false, json: false, timeoutSeconds: DEFAULT_TIMEOUT_SECONDS },
    });
    expect(DEFAULT_TIMEOUT_SECONDS).toBe(600);
  });

  it('reads every option, in both --name value and --name=value forms', () => {
    expect(parseCliArgs(['--user', 'ABC123', '--verbose', '--json', '--timeout', '30'])).toEqual({
      kind: 'run',
      options: { userID: 'ABC123', verbose: true, json: true, timeoutSeconds: 30 },
    });
    expect(parseCliArgs(['--user=uuid-like_id-1', '--timeout=5'])).toEqual({
      kind: 'run',
      options: { userID: 'uuid-like_id-1', verbose: false, json: false, timeoutSeconds: 5 },
    });
  });

  it('answers help', () => {
    expect(parseCliArgs(['--help'])).toEqual({ kind: 'help' });
    expect(parseCliArgs(['-h'])).toEqual({ kind: 'help' });
  });

  it.each([
    [['--frobnicate'], /frobnicate/],
    [['extra'], /extra/],
    [['--user'], /--user/],
    [['--user', 'a.b'], /invalid --user/],
    [['--user', 'x>'], /invalid --user/],
    [['--user', ''], /invalid --user/],
    [['--user', 'a'.repeat(65)], /invalid --user/],
    [['--timeout', '0'], /invalid --timeout/],
    [['--timeout', '-5'], /--timeout/],
    [['--timeout', '1.5'], /invalid --timeout/],
    [['--timeout', 'soon'], /invalid --timeout/],
    [['--timeout', '86401'], /invalid --timeout/],
  ])('rejects %j', (argv, message) => {
    const parsed = parseCliArgs(argv);
    expect(parsed.kind).toBe('error');
    expect(parsed.kind === 'error' && parsed.message).toMatch(message);
  });
});
