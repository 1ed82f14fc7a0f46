/**
 * CPU per login with a new client key pair per login versus one reused pair.
 * Usage: pnpm --filter @refresher/iifl-client run measure:cpu [logins per mode, default 30]
 *
 * The simulator runs in a child process so that process.cpuUsage() (all threads of this process,
 * the libuv pool included) counts the client only. Logins run one after another, each for a
 * different generated account, so neither the TOTP step guard nor a rate limit makes them wait.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { generateAccounts } from '@refresher/iifl-sim';
import { createIiflClient, parseIiflClientConfig, type LoginCredentials } from '../src/index.ts';

const perMode = Number(process.argv[2] ?? 30);
const warmup = 3;
const modes = [
  { name: 'new key pair per login (IIFL_KEYPAIR_POLICY=per-login)', policy: 'per-login' },
  { name: 'one shared key pair (IIFL_KEYPAIR_POLICY=shared, the default)', policy: 'shared' },
] as const;
const total = modes.length * (perMode + warmup);

const simMain = fileURLToPath(new URL('../../../libs/iifl-sim/src/main.ts', import.meta.url));
const tsx = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));
const sim = spawn(tsx, [simMain, '--port', '0', '--generate', String(total)], { stdio: ['ignore', 'pipe', 'inherit'] });

async function baseUrlOf(): Promise<string> {
  for await (const line of createInterface({ input: sim.stdout! })) {
    const match = /^IIFL_BASE_URL=(\S+)/.exec(line);
    if (match?.[1]) return match[1];
  }
  throw new Error('simulator exited before printing IIFL_BASE_URL');
}

const credentials: LoginCredentials[] = generateAccounts(total).map((a) => ({
  userID: a.clientId,
  password: a.password,
  appKey: a.appKey,
  appSecret: a.appSecret,
  totpSecret: a.totpSecret,
}));

try {
  const baseUrl = await baseUrlOf();
  console.log(`node ${process.version}, ${perMode} logins per mode after ${warmup} warm-up logins\n`);
  let next = 0;
  for (const mode of modes) {
    const client = createIiflClient(
      parseIiflClientConfig({ IIFL_BASE_URL: baseUrl, IIFL_KEY_ASSOCIATION_DELAY_MS: '0', IIFL_KEYPAIR_POLICY: mode.policy }),
    );
    for (let i = 0; i < warmup; i++) await client.login(credentials[next++]!);
    const start = process.cpuUsage();
    const wallStart = performance.now();
    for (let i = 0; i < perMode; i++) await client.login(credentials[next++]!);
    const cpu = process.cpuUsage(start);
    const wall = performance.now() - wallStart;
    const perLogin = (cpu.user + cpu.system) / 1000 / perMode;
    console.log(
      `${mode.name}: ${perLogin.toFixed(1)} ms CPU per login ` +
        `(user ${(cpu.user / 1000 / perMode).toFixed(1)}, system ${(cpu.system / 1000 / perMode).toFixed(1)}), ` +
        `${(wall / perMode).toFixed(1)} ms wall per login, key pairs generated: ${client.keyPairsGenerated()}`,
    );
    await client.close();
  }
} finally {
  sim.kill('SIGTERM');
  await once(sim, 'exit');
}
