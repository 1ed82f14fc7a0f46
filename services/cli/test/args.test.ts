import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMEOUT_SECONDS, parseCliArgs } from '../src/index.ts';

describe('parseCliArgs', () => {
  it('defaults to every user, quiet, text output, 600 s', () => {
    expect(parseCliArgs([])).toEqual({
      kind: 'run',
      options: { mode: 'refresh', verbose: false, json: false, style: 'plain', timeoutSeconds: DEFAULT_TIMEOUT_SECONDS },
    });
    expect(DEFAULT_TIMEOUT_SECONDS).toBe(600);
  });

  it('reads every option, in both --name value and --name=value forms', () => {
    expect(parseCliArgs(['--user', 'ABC123', '--verbose', '--json', '--timeout', '30'])).toEqual({
      kind: 'run',
      options: { mode: 'refresh', userID: 'ABC123', verbose: true, json: true, style: 'plain', timeoutSeconds: 30 },
    });
    expect(parseCliArgs(['--user=uuid-like_id-1', '--timeout=5'])).toEqual({
      kind: 'run',
      options: { mode: 'refresh', userID: 'uuid-like_id-1', verbose: false, json: false, style: 'plain', timeoutSeconds: 5 },
    });
  });

  it('reads --failed, --clear-rejections (with or without --user) and --legacy-output', () => {
    const base = { verbose: false, json: false, style: 'plain', timeoutSeconds: DEFAULT_TIMEOUT_SECONDS };
    expect(parseCliArgs(['--failed', '--json', '--timeout', '60'])).toEqual({
      kind: 'run',
      options: { ...base, mode: 'failed', json: true, timeoutSeconds: 60 },
    });
    expect(parseCliArgs(['--clear-rejections'])).toEqual({ kind: 'run', options: { ...base, mode: 'clear-rejections' } });
    expect(parseCliArgs(['--clear-rejections', '--user', 'R1', '--json'])).toEqual({
      kind: 'run',
      options: { ...base, mode: 'clear-rejections', userID: 'R1', json: true },
    });
    expect(parseCliArgs(['--legacy-output', '--user', 'R1', '--verbose'])).toEqual({
      kind: 'run',
      options: { ...base, mode: 'refresh', userID: 'R1', verbose: true, style: 'legacy' },
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
    [['--failed', '--clear-rejections'], /two steps: lift the marks first, then run --failed/],
    [['--failed', '--user', 'R1'], /for one user use --user alone/],
    [['--clear-rejections', '--verbose'], /--clear-rejections takes --user and --json only/],
    [['--clear-rejections', '--timeout', '5'], /--clear-rejections takes --user and --json only/],
    [['--json', '--legacy-output'], /exclude each other/],
  ])('rejects %j', (argv, message) => {
    const parsed = parseCliArgs(argv);
    expect(parsed.kind).toBe('error');
    expect(parsed.kind === 'error' && parsed.message).toMatch(message);
  });
});
