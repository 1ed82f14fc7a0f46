/**
 * Client CPU per login for each HTTP transport, with one reused key pair per login slot and
 * `concurrency` logins in flight, as iifl-auth runs them.
 * Usage: pnpm --filter @refresher/iifl-client run measure:transports [logins per transport, default 1000] [concurrency, default 64]
 *
 * The simulator runs in a child process (20 ms per call), so process.cpuUsage() counts the client only.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { generateAccounts } from '@refresher/iifl-sim';
import { createIiflClient, HTTP_TRANSPORT_NAMES, parseIiflClientConfig, type LoginCredentials } from '../src/index.ts';

const perTransport = Number(process.argv[2] ?? 1000);
const concurrency = Number(process.argv[3] ?? 64);
const warmup = concurrency;
const total = HTTP_TRANSPORT_NAMES.length * (perTransport + warmup);

const simMain = fileURLToPath(new URL('../../../libs/iifl-sim/src/main.ts', import.meta.url));
const sim = spawn(process.execPath, ['--import', 'tsx', simMain, '--port', '0', '--generate', String(total), '--seed', 'transports', '--latency-ms', '20'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});

async function baseUrlOf(): Promise<string> {
  for await (const line of createInterface({ input: sim.stdout! })) {
    const match = /^IIFL_BASE_URL=(\S+)/.exec(line);
    if (match?.[1]) return match[1];
  }
  throw new Error('simulator exited before printing IIFL_BASE_URL');
}

const credentials: LoginCredentials[] = generateAccounts(total, 'transports').map((a) => ({
  userID: a.clientId,
  password: a.password,
  appKey: a.appKey,
  appSecret: a.appSecret,
  totpSecret: a.totpSecret,
}));

async function inParallel(list: LoginCredentials[], login: (c: LoginCredentials) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < list.length) await login(list[next++]!);
    }),
  );
}

try {
  const baseUrl = await baseUrlOf();
  console.log(`node ${process.version}, ${perTransport} logins per transport, ${concurrency} in flight, reused key pairs\n`);
  let offset = 0;
  for (const transport of HTTP_TRANSPORT_NAMES) {
    const client = createIiflClient(
      parseIiflClientConfig({ IIFL_BASE_URL: baseUrl, IIFL_HTTP_TRANSPORT: transport }),
    );
    const login = (c: LoginCredentials) => client.login(c);
    await inParallel(credentials.slice(offset, offset + warmup), login);
    offset += warmup;
    const start = process.cpuUsage();
    const wallStart = performance.now();
    await inParallel(credentials.slice(offset, offset + perTransport), login);
    offset += perTransport;
    const cpu = process.cpuUsage(start);
    const wall = (performance.now() - wallStart) / 1000;
    console.log(
      `${transport.padEnd(9)}: ${((cpu.user + cpu.system) / 1000 / perTransport).toFixed(2)} ms CPU per login, ` +
        `${(perTransport / wall).toFixed(0)} logins/s`,
    );
    await client.close();
  }
} finally {
  sim.kill('SIGTERM');
  await once(sim, 'exit');
}
