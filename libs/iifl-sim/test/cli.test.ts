import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCliOptions, UsageError } from '../src/cli-options.ts';
import { demoAccounts, generateAccounts } from '../src/index.ts';
import { totp } from './protocol-client.ts';

const dir = mkdtempSync(join(tmpdir(), 'iifl-sim-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('built-in accounts', () => {
  it('demoAccounts: 3 to 5 accounts, exactly one blocked, the same on every call', () => {
    const demo = demoAccounts();
    expect(demo.length).toBeGreaterThanOrEqual(3);
    expect(demo.length).toBeLessThanOrEqual(5);
    expect(demo.filter((a) => a.blocked === true)).toHaveLength(1);
    expect(demoAccounts()).toEqual(demo);
    demo[0]!.password = 'changed';
    expect(demoAccounts()[0]!.password).not.toBe('changed');
  });

  it('generateAccounts: deterministic per seed, unique ids, valid base32 TOTP secrets', () => {
    const a = generateAccounts(50, 's1');
    expect(generateAccounts(50, 's1')).toEqual(a);
    expect(generateAccounts(50, 's2')[0]!.password).not.toBe(a[0]!.password);
    expect(new Set(a.map((x) => x.clientId)).size).toBe(50);
    for (const account of a) {
      expect(account.totpSecret).toMatch(/^[A-Z2-7]{32}$/);
      expect(totp(account.totpSecret, 0)).toMatch(/^\d{6}$/);
    }
    expect(generateAccounts(10_000).at(-1)!.clientId).toBe('SIM010000');
  });
});

describe('command-line options', () => {
  it('defaults to port 7070 on 127.0.0.1 with the demo accounts', () => {
    const options = parseCliOptions([], dir);
    expect(options).toMatchObject({ help: false, port: 7070, host: '127.0.0.1', accountsSource: 'demo', knobs: {} });
    expect(options.accounts).toEqual(demoAccounts());
  });

  it('reads --accounts relative to the given directory, and takes the knob flags', () => {
    const accounts = generateAccounts(2, 'file');
    writeFileSync(join(dir, 'accounts.json'), JSON.stringify(accounts));
    const options = parseCliOptions(
      ['--port', '0', '--accounts', 'accounts.json', '--latency-ms', '5', '--jitter-ms', '2', '--key-association-ms', '10000'],
      dir,
    );
    expect(options.accounts).toEqual(accounts);
    expect(options.accountsSource).toBe('file');
    expect(options.port).toBe(0);
    expect(options.knobs).toEqual({ latencyMs: 5, jitterMs: 2, minKeyAssociationMs: 10_000 });
  });

  it('takes --answer-shape and --session-exp, and refuses bad values', () => {
    expect(parseCliOptions(['--answer-shape', 'legacy', '--session-exp', 'none'], dir).knobs).toEqual({
      answerShape: 'legacy',
      sessionExp: 'none',
    });
    expect(parseCliOptions(['--answer-shape', 'sealed', '--session-exp', '3600000'], dir).knobs).toEqual({
      answerShape: 'sealed',
      sessionExp: 3_600_000,
    });
    expect(() => parseCliOptions(['--answer-shape', 'xml'], dir)).toThrow(/--answer-shape/);
    expect(() => parseCliOptions(['--session-exp', '0'], dir)).toThrow(/--session-exp/);
  });

  it('generates accounts with --generate and --seed', () => {
    expect(parseCliOptions(['--generate', '3', '--seed', 'x'], dir).accounts).toEqual(generateAccounts(3, 'x'));
  });

  it('lists every bad entry of an accounts file', () => {
    const [good] = generateAccounts(1);
    writeFileSync(join(dir, 'bad.json'), JSON.stringify([good, { ...good, clientId: 'has space' }, { clientId: 'X1' }]));
    let error: unknown;
    try {
      parseCliOptions(['--accounts', 'bad.json'], dir);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UsageError);
    const message = (error as Error).message;
    expect(message).toContain('1.clientId');
    expect(message).toContain('2.password');
    expect(message).toContain('2.totpSecret');
  });

  it('refuses unknown flags, bad numbers, a missing file, and --accounts with --generate', () => {
    expect(() => parseCliOptions(['--nope'], dir)).toThrow(UsageError);
    expect(() => parseCliOptions(['--port', 'abc'], dir)).toThrow(/--port/);
    expect(() => parseCliOptions(['--latency-ms', '-3'], dir)).toThrow(UsageError);
    expect(() => parseCliOptions(['--accounts', 'missing.json'], dir)).toThrow(/cannot read/);
    expect(() => parseCliOptions(['--accounts', 'a.json', '--generate', '2'], dir)).toThrow(/either/);
  });
});

describe('the program', () => {
  it('prints the base URL, serves, and exits cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--port', '0', '--generate', '2'], {
      cwd: join(import.meta.dirname, '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const lines = createInterface({ input: child.stdout });
    let baseUrl: string | undefined;
    for await (const line of lines) {
      const match = /^IIFL_BASE_URL=(\S+)$/.exec(line);
      if (match) {
        baseUrl = match[1];
        break;
      }
    }
    expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const stats = await fetch(`${baseUrl!.replace(/\/v1$/, '')}/admin/stats`);
    expect(stats.status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
