import { describe, expect, it } from 'vitest';
import { startNats } from '@refresher/testkit';
import { runCli, type Output } from '../src/index.ts';

// The command's error paths, in-process (the full process is exercised in cli-process.test.ts).
function capture(): Output & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

describe('runCli errors', () => {
  it('exits 2 with a usage message on a bad argument, before connecting', async () => {
    const io = capture();
    expect(await runCli(['--user', 'a.b'], { NATS_URL: 'nats://127.0.0.1:1' }, io)).toBe(2);
    expect(io.stdout).toEqual([]);
    expect(io.stderr.join('\n')).toContain('invalid --user');
    expect(io.stderr.join('\n')).toContain('Usage: pnpm refresh-tokens');
  });

  it('prints help on stdout and exits 0', async () => {
    const io = capture();
    expect(await runCli(['--help'], {}, io)).toBe(0);
    expect(io.stdout.join('\n')).toContain('--timeout <seconds>');
  });

  it('exits 2 on a bad environment', async () => {
    const io = capture();
    expect(await runCli([], { LOG_LEVEL: 'loud' }, io)).toBe(2);
    expect(io.stderr.join('\n')).toContain('LOG_LEVEL');
  });

  it('exits 2 when NATS cannot be reached, without printing credentials', async () => {
    const io = capture();
    expect(await runCli([], { NATS_URL: 'nats://someone:hunter2@127.0.0.1:1' }, io)).toBe(2);
    expect(io.stderr.join('\n')).toContain('cannot connect to NATS at nats://127.0.0.1:1');
    expect(io.stderr.join('\n')).not.toContain('hunter2');
  });

  it('exits 2 when persistence does not answer', async () => {
    const nats = await startNats();
    try {
      const io = capture();
      expect(await runCli([], { NATS_URL: nats.url }, io)).toBe(2);
      expect(io.stdout).toEqual([]);
      expect(io.stderr.join('\n')).toContain('persistence is not answering');
    } finally {
      await nats.dispose();
    }
  });
});
