import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ANSWER_SHAPES, generateAccounts, startSimulator, totpAt, type SimAccount, type Simulator } from '@refresher/iifl-sim';
import { runEntryPoint, submitLoginForm, type ProcessResult } from '@refresher/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCheckArgs } from '../src/args.ts';

/** `pnpm iifl-check` as an operator runs it, against the simulator in each answer shape. */
const accounts = generateAccounts(20, 'check');
let sim: Simulator;
let next = 0;
const dir = mkdtempSync(join(tmpdir(), 'iifl-check-'));

beforeAll(async () => {
  sim = await startSimulator({ port: 0, accounts });
});
afterAll(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

function credentialsFile(values: Record<string, string>): string {
  const file = join(dir, `credentials-${next}.json`);
  writeFileSync(file, JSON.stringify(values), { mode: 0o600 });
  return file;
}

function check(args: string[], at: Simulator = sim): Promise<ProcessResult> {
  return runEntryPoint('services/iifl-check/src/main.ts', args, { IIFL_BASE_URL: at.baseUrl, IIFL_IDAAS_URL: at.idaasUrl });
}

/** Nothing secret in the output: no credential, no token, no key. */
function expectNoSecrets(output: string, a: SimAccount, extra: string[] = []): void {
  for (const secret of [a.password, a.appKey, a.appSecret, a.totpSecret, ...extra]) expect(output).not.toContain(secret);
  expect(output).not.toMatch(/eyJ[A-Za-z0-9_-]{8,}/); // a JWT or a part of one
  expect(output).not.toMatch(/MIIB[A-Za-z0-9+/]{16,}/); // a DER key in base64
}

describe.each(ANSWER_SHAPES)('pnpm iifl-check, answers shaped %s', (shape) => {
  beforeAll(() => sim.setKnobs({ answerShape: shape, inject: [], passwordForbidden: false }));

  it.each(['headless-v1', 'headless-v2'])('%s: a good login, call by call, with the validity; no secret shown', async (flow) => {
    const a = accounts[next++]!;
    const { code, stdout, output } = await check(['--user', a.clientId, '--flow', flow, '--credentials', credentialsFile(a as never)]);
    expect(code, output).toBe(0);
    const password = flow === 'headless-v1' ? 'validatepassword' : 'v2-password';
    expect(stdout).toMatch(new RegExp(`\\d\\. ${password} +HTTP 200 `));
    expect(stdout).toMatch(/getusersession +HTTP 200 /);
    expect(stdout).toContain('Result: logged in. Session token:');
    expect(stdout).toContain('a JWT (alg RS256)');
    expect(stdout).toContain('preferred_username is the user: yes');
    expect(stdout).toMatch(/tokenValidity: \d{4}-\d\d-\d\dT18:30:00\.000Z \(the JWT's exp\)/);
    expect(stdout).toContain(`profile answers for ${a.clientId}: the token works`);
    if (shape === 'sealed') expect(stdout).toMatch(/sealed, opened: /);
    expectNoSecrets(output, a);
  });
});

// A wrong seed waits for the next TOTP step (IIFL's one allowance) before it fails: up to 30 s. The
// three shapes run side by side, each on a simulator of its own, so the suite waits once.
describe('pnpm iifl-check, a wrong TOTP seed', () => {
  it('in each answer shape: the code and message of the refusal, the failure class, no retry', async () => {
    const sims = await Promise.all(ANSWER_SHAPES.map((answerShape) => startSimulator({ port: 0, accounts, knobs: { answerShape } })));
    try {
      await Promise.all(
        sims.map(async (at) => {
          const a = accounts[next++]!;
          const wrongSeed = credentialsFile({ ...a, totpSecret: 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ' } as never);
          const { code, stdout, output } = await check(['--user', a.clientId, '--credentials', wrongSeed], at);
          expect(code, output).toBe(1);
          expect(stdout).toMatch(/validatetotp +HTTP 200 .*EC036/);
          expect(stdout).toContain('Result: failed at validatetotp: BAD_TOTP');
          expect(stdout).toContain('the system would retry it: no');
          expect(stdout).toMatch(/later runs skip the account .*: yes/);
          expectNoSecrets(output, a);
        }),
      );
    } finally {
      await Promise.all(sims.map((s) => s.close()));
    }
  }, 60_000);
});

describe('pnpm iifl-check, other cases', () => {
  beforeAll(() => sim.setKnobs({ answerShape: 'documented', inject: [] }));

  it('a bare 403 on the password step: shown as not JSON, classed IP_NOT_AUTHORISED, never retried', async () => {
    const a = accounts[next++]!;
    sim.setKnobs({ passwordForbidden: true });
    try {
      const { code, stdout, output } = await check(['--user', a.clientId, '--credentials', credentialsFile(a as never)]);
      expect(code, output).toBe(1);
      expect(stdout).toMatch(/validatepassword +HTTP 403 +not JSON \(9 chars: "Forbidden"\)/);
      expect(stdout).toContain('IP_NOT_AUTHORISED');
      expect(stdout).toContain('the system would retry it: no');
      expectNoSecrets(output, a);
    } finally {
      sim.setKnobs({ passwordForbidden: false });
    }
  });

  it('the redirect flow: an authCode from the login page turned into a session', async () => {
    const a = accounts[next++]!;
    const redirect = 'http://127.0.0.1:9/callback';
    const link = `${sim.loginPageUrl}?v=1&appkey=${encodeURIComponent(a.appKey)}&redirecturl=${encodeURIComponent(redirect)}`;
    const answer = await submitLoginForm(link, { clientId: a.clientId, password: a.password, totp: totpAt(a.totpSecret, Date.now()) });
    const authCode = new URL(answer.headers.get('location')!).searchParams.get('authCode')!;
    const { code, stdout, output } = await check([
      '--user',
      a.clientId,
      '--flow',
      'redirect',
      '--auth-code',
      authCode,
      '--credentials',
      credentialsFile({ appSecret: a.appSecret }),
    ]);
    expect(code, output).toBe(0);
    expect(stdout).toMatch(/1\. getusersession +HTTP 200 /);
    expect(stdout).toContain('Result: logged in.');
    expectNoSecrets(output, a, [authCode]);
  });

  it('bad arguments: exit 2 with the usage, and the credentials file is never echoed', async () => {
    const a = accounts[next++]!;
    const missing = await check(['--user', a.clientId]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--credentials <file|-> is required');
    const partial = await check(['--user', a.clientId, '--credentials', credentialsFile({ password: a.password, appSecret: a.appSecret })]);
    expect(partial.code).toBe(2);
    expect(partial.stderr).toContain('a headless login needs password, appKey, appSecret and totpSecret');
    expect(partial.output).not.toContain(a.password);
    const redirect = await check([
      '--user',
      a.clientId,
      '--flow',
      'redirect',
      '--credentials',
      credentialsFile({ appSecret: a.appSecret }),
    ]);
    expect(redirect.code).toBe(2);
    expect(redirect.stderr).toContain('--flow redirect needs --auth-code');
  });
});

describe('pnpm iifl-check --egress', () => {
  afterAll(() => sim.setKnobs({ allowedSources: {} }));

  it('leaves from the address the account is whitelisted for; without it, one bare 403', async () => {
    const a = accounts[next++]!;
    sim.setKnobs({ answerShape: 'documented', allowedSources: { [a.clientId]: ['127.0.0.2'] } });
    const own = await check(['--user', a.clientId, '--egress', '127.0.0.2', '--credentials', credentialsFile(a as never)]);
    expect(own.code, own.output).toBe(0);
    expect(own.stdout).toContain('from 127.0.0.2; retries off');
    expect(own.stdout).toContain(`profile answers for ${a.clientId}: the token works`);

    const b = accounts[next++]!;
    sim.setKnobs({ allowedSources: { [b.clientId]: ['127.0.0.2'] } });
    const host = await check(['--user', b.clientId, '--credentials', credentialsFile(b as never)]);
    expect(host.code, host.output).toBe(1);
    expect(host.stdout).toContain('from default route; retries off');
    expect(host.stdout).toMatch(/HTTP 403 +not JSON/);
    expect(host.stdout).toContain('IP_NOT_AUTHORISED');
    expectNoSecrets(own.output + host.output, a);
  });

  it('an egress that is neither an address nor a proxy URL is a usage error', () => {
    const args = ['--user', 'U1', '--egress', 'not-an-egress', '--credentials', '-'];
    const stdin = () => JSON.stringify({ password: 'p', appKey: 'k', appSecret: 's', totpSecret: 't' });
    expect(() => parseCheckArgs(args, stdin)).toThrow('--egress: an egress must be an IPv4 or IPv6 address or an http(s):// proxy URL');
    expect(parseCheckArgs(['--user', 'U1', '--egress', 'http://proxy.example:3128', '--credentials', '-'], stdin).egress).toEqual({
      proxyUrl: 'http://proxy.example:3128/',
    });
  });
});
