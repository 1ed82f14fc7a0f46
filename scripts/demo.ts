/**
 * `pnpm demo`: the whole system against the IIFL simulator with a few demo users.
 *
 * Uses the local NATS (NATS_URL) and Postgres (a `refresher_demo` database unless DATABASE_URL is
 * set; with neither DATABASE_URL nor a PostgreSQL on 127.0.0.1:5432, an embedded one), starts the simulator and the four services as separate processes, seeds the demo users,
 * asks the gateway to refresh everyone and prints each token as a trading engine receives it, then
 * refreshes one user through the CLI. `--once` stops afterwards; otherwise the system keeps running
 * (Ctrl-C stops it) with the gateway on http://127.0.0.1:3001.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import pg from 'pg';
import { INTEGRATION_MANAGED } from '@refresher/contracts';
import { demoAccounts, startSimulator } from '@refresher/iifl-sim';
import { EMBEDDED_POOL_MAX, embeddedDataDir, natsMissing, needsEmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres.ts';
import { ROOT, SERVICES, healthUrl, serviceEnv, startService, stopAll, waitForHealth, type Running } from './services.ts';

const once = process.argv.includes('--once');
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const ADMIN_DB_URL = process.env.DEMO_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DEMO_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/refresher_demo';
const API_KEY = process.env.INTEGRATION_API_KEY ?? 'demo-integration-key-0123456789';
// A fresh key per demo run unless one is given: the demo users are (re)imported under it.
const CREDENTIALS_KEY = process.env.CREDENTIALS_KEY ?? randomBytes(32).toString('base64');
const PORT = process.env.PORT ?? '3001';
const GATEWAY = `http://127.0.0.1:${PORT}/api/integration`;

function say(line = '') {
  process.stdout.write(`${line}\n`);
}

/**
 * DATABASE_URL; else an embedded database when no PostgreSQL answers on 127.0.0.1:5432 (PGlite has
 * one database: used as it is); else `refresher_demo` there, created if new. Returns how to stop it.
 */
async function prepareDatabase(): Promise<() => Promise<void>> {
  if (await needsEmbeddedPostgres(process.env)) {
    const embedded = await startEmbeddedPostgres(embeddedDataDir(process.env, 'demo-postgres'));
    say(`No PostgreSQL on 127.0.0.1:5432: using an embedded one (PGlite, data in ${embedded.dataDir}) at ${embedded.url}`);
    process.env.DATABASE_URL = embedded.url;
    process.env.DB_POOL_MAX ??= EMBEDDED_POOL_MAX;
    return embedded.stop;
  }
  if (process.env.DATABASE_URL) return async () => {};
  const admin = new pg.Client({ connectionString: ADMIN_DB_URL });
  await admin.connect();
  const { rowCount } = await admin.query("select 1 from pg_database where datname = 'refresher_demo'");
  if (!rowCount) await admin.query('create database refresher_demo');
  await admin.end();
  return async () => {};
}

function runToEnd(args: string[], env: NodeJS.ProcessEnv, echo: boolean): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', echo ? 'inherit' : 'ignore', 'inherit'],
    });
    child.once('exit', (code) => resolve(code));
  });
}

type DemoAccount = ReturnType<typeof demoAccounts>[number];
type Simulator = Awaited<ReturnType<typeof startSimulator>>;

/** DEMO003 logs in through IIFL's browser login (the redirect flow): the run sends it a link. */
const REDIRECT_USER = 'DEMO003';
const DEMO_NAMES = ['Asha Rao', 'Vikram Shah', 'Meera Iyer', 'Kabir Sen', 'Nisha Das'];

/** The users the demo imports: each simulator account with a name, and one partner-managed user. */
function demoUsers(accounts: readonly DemoAccount[]): object[] {
  return [
    ...accounts.map((a, i) =>
      a.clientId === REDIRECT_USER
        ? {
            clientId: a.clientId,
            clientName: DEMO_NAMES[i % DEMO_NAMES.length]!,
            appKey: a.appKey,
            appSecret: a.appSecret,
            loginFlow: 'redirect',
          }
        : { ...a, clientName: DEMO_NAMES[i % DEMO_NAMES.length]!, email: '', phoneNumber: '' },
    ),
    {
      clientId: 'demo-integration-managed',
      clientName: 'Partner-managed user',
      password: INTEGRATION_MANAGED,
      appKey: INTEGRATION_MANAGED,
      appSecret: INTEGRATION_MANAGED,
      totpSecret: INTEGRATION_MANAGED,
    },
  ];
}

/** Writes the users to a private temporary file (the users tool's import format); returns its path. */
function writeUsersFile(users: readonly object[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'refresher-demo-'));
  const usersFile = join(dir, 'users.json');
  writeFileSync(usersFile, JSON.stringify(users), { mode: 0o600 });
  return usersFile;
}

/** The environment the services and the tools run with, pointed at the simulator. */
function demoEnv(sim: Simulator): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NATS_URL,
    DATABASE_URL: process.env.DATABASE_URL ?? DEMO_DATABASE_URL,
    INTEGRATION_API_KEY: API_KEY,
    CREDENTIALS_KEY,
    PORT,
    IIFL_BASE_URL: sim.baseUrl,
    IIFL_IDAAS_URL: sim.idaasUrl,
    IIFL_LOGIN_URL: sim.loginPageUrl,
    IIFL_REDIRECT_URL: `http://127.0.0.1:${PORT}/api/integration/iifl/callback`,
    LOGIN_LINK_SECRET: process.env.LOGIN_LINK_SECRET ?? randomBytes(32).toString('base64'),
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  };
}

/** Starts the four services in order (into `running`), importing the users as soon as persistence is healthy. */
async function startServicesAndImport(env: NodeJS.ProcessEnv, running: Running[], usersFile: string, userCount: number): Promise<void> {
  for (const name of SERVICES) {
    // Persistence and the scheduler never get the credentials key: only ciphertext passes them.
    const own = name === 'iifl-auth' || name === 'gateway' ? env : { ...env, CREDENTIALS_KEY: undefined };
    running.push(startService(name, serviceEnv(name, own)));
    if (name === 'persistence') {
      await waitForHealth(healthUrl(name, env));
      // The users tool encrypts the credentials (CREDENTIALS_KEY); persistence stores ciphertext only.
      const seeded = await runToEnd(['services/cli/src/users-main.ts', 'import', usersFile], env, false);
      if (seeded !== 0) throw new Error('importing the demo users failed');
      say(`Imported ${userCount} demo users (credentials encrypted) into ${env.DATABASE_URL!.replace(/\/\/[^@]*@/, '//')}`);
    }
  }
  for (const name of SERVICES) await waitForHealth(healthUrl(name, env));
}

/** The lines a trading engine would print for one token event (`tokens.<kind>.<userID>`). */
function describeTokenEvent(subject: string, event: Record<string, unknown>, accounts: readonly DemoAccount[]): string[] {
  const [, kind, userID] = subject.split('.');
  if (kind === 'refreshed') {
    return [`  engine got token for ${userID}: ${String(event.token).slice(0, 12)}... valid until ${event.tokenValidity}`];
  }
  if (kind === 'failed') {
    return [`  engine saw failure for ${userID}: ${event.code} (${event.message})`];
  }
  if (kind === 'skipped') {
    return [`  skipped ${userID}: ${event.reason}`];
  }
  if (kind === 'login-required') {
    const account = accounts.find((x) => x.clientId === userID);
    const lines = [`  ${userID} logs in on IIFL's page, the simulator's here: ${event.loginUrl}`];
    // Demo values, safe to print: any RFC 6238 app gives the code from the seed.
    if (account) lines.push(`    (demo password ${account.password}, TOTP seed ${account.totpSecret})`);
    return lines;
  }
  return [];
}

/** A trading engine's view: prints every token event as it is published, until the connection drains. */
function printTokenEvents(nc: NatsConnection, accounts: readonly DemoAccount[]): void {
  const feed = nc.subscribe('tokens.*.*');
  void (async () => {
    for await (const msg of feed) {
      const event = JSON.parse(new TextDecoder().decode(msg.data));
      for (const line of describeTokenEvent(msg.subject, event, accounts)) say(line);
    }
  })();
}

/** `POST /tokens/refresh-all` (synchronous answer), printed with each user's result. */
async function refreshEveryone(): Promise<void> {
  say('\nPOST /api/integration/tokens/refresh-all');
  const res = await fetch(`${GATEWAY}/tokens/refresh-all`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}` },
  });
  const body = (await res.json()) as Record<string, unknown>;
  say(`  HTTP ${res.status}: refreshed ${body.refreshed}, failed ${body.failed}, total ${body.total}, run ${body.runId}`);
  for (const r of (body.results as Array<Record<string, unknown>>) ?? []) {
    say(`    ${r.success ? 'ok  ' : 'FAIL'} ${r.userID} ${r.clientName}${r.error ? ` - ${r.error}` : ''}`);
  }
}

async function showTokenStatus(userID: string): Promise<void> {
  const status = await fetch(`${GATEWAY}/users/${userID}/token`, { headers: { authorization: `Bearer ${API_KEY}` } });
  say(`\nGET /api/integration/users/${userID}/token\n  ${JSON.stringify(await status.json())}`);
}

async function refreshThroughCli(userID: string, env: NodeJS.ProcessEnv): Promise<void> {
  say(`\npnpm refresh-tokens --user ${userID}   (it waits for the next 30-second TOTP step: this user logged in moments ago)`);
  await runToEnd(['services/cli/src/main.ts', '--user', userID], env, true);
}

async function main() {
  const noNats = await natsMissing(NATS_URL);
  if (noNats) {
    console.error(noNats);
    process.exit(1);
  }
  const stopDatabase = await prepareDatabase();
  const accounts = demoAccounts();
  const sim = await startSimulator({ port: 0, accounts, knobs: { latencyMs: 20, jitterMs: 10 } });
  say(`IIFL simulator: ${sim.baseUrl} (${accounts.length} demo accounts)`);

  const users = demoUsers(accounts);
  const usersFile = writeUsersFile(users);
  const env = demoEnv(sim);

  const running: Running[] = [];
  const shutdown = async (code: number) => {
    await stopAll(running);
    await sim.close();
    await stopDatabase();
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  await startServicesAndImport(env, running, usersFile, users.length);
  say(`Services up: persistence, iifl-auth, scheduler, gateway (http://127.0.0.1:${PORT})`);
  say(`Status page: http://127.0.0.1:${PORT}/ (sign in with the API key ${API_KEY})`);

  const nc = await connect({ servers: NATS_URL });
  printTokenEvents(nc, accounts);
  await refreshEveryone();
  const first = accounts[0]!.clientId;
  await showTokenStatus(first);
  await refreshThroughCli(first, env);
  await nc.drain();

  if (once) {
    await shutdown(0);
    return;
  }
  say(
    `\nThe system keeps running. Try:\n  curl -X POST -H 'Authorization: Bearer ${API_KEY}' ${GATEWAY}/tokens/refresh-all\nCtrl-C stops it.`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
