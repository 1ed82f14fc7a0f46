import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from 'nats';
import pg from 'pg';
import { IiflAuthApi, LoginRequired, PersistenceApi, Subjects } from '@refresher/contracts';
import { generateAccounts, startSimulator, totpAt, type Simulator } from '@refresher/iifl-sim';
import { getCurrentToken, watchTokens } from '@refresher/token-feed';
import {
  REPO_ROOT,
  createTestDatabase,
  freePort,
  startNats,
  startServiceProcess,
  submitLoginForm,
  waitFor,
  type ServiceProcess,
  type TestDatabase,
  type TestNats,
  runEntryPoint,
  startWebhookReceiver,
  type WebhookReceiver,
} from '@refresher/testkit';

/**
 * The pipeline against a nats-server running deploy/nats/nats.conf: every service with its own
 * identity works, and a trading engine's identity reads tokens but is refused everything else.
 */
const IDENTITIES = ['persistence', 'iifl-auth', 'scheduler', 'gateway', 'operator', 'engine', 'notifier'] as const;
type Identity = (typeof IDENTITIES)[number];
// As deploy/env.example makes them: hex after a letter (nats-server reads an environment value that
// starts with a digit as a number when it can, "4e1..." for one, and does not start).
const passwords = Object.fromEntries(IDENTITIES.map((id) => [id, `s${randomBytes(24).toString('hex')}`])) as Record<Identity, string>;
const natsEnv = (id: Identity) => ({ NATS_USER: id, NATS_PASSWORD: passwords[id], NATS_INBOX_PREFIX: `_INBOX_${id}` });

describe('NATS with per-service permissions', () => {
  const accounts = generateAccounts(2, 'nats-perms');
  // Logs in through IIFL's login page (the browser redirect), not headlessly.
  const redirectAccount = generateAccounts(3, 'nats-perms-redirect')[2]!;
  let nats: TestNats;
  let db: TestDatabase;
  let sim: Simulator;
  const services: ServiceProcess[] = [];
  let gatewayUrl: string;
  const apiKey = 'nats-perms-integration-key-0123456789';
  const credentialsKey = randomBytes(32).toString('base64');
  let engine: NatsConnection;
  const webhookSecret = randomBytes(24).toString('hex');
  let webhook: WebhookReceiver;

  beforeAll(async () => {
    [nats, db] = await Promise.all([
      startNats({
        configFile: join(REPO_ROOT, 'deploy/nats/nats.conf'),
        env: Object.fromEntries(IDENTITIES.map((id) => [`NATS_PASSWORD_${id.replace('-', '_').toUpperCase()}`, passwords[id]])),
      }),
      createTestDatabase(),
    ]);
    sim = await startSimulator({ port: 0, accounts: [...accounts, redirectAccount] });
    const base = { NATS_URL: nats.url, LOG_LEVEL: 'warn' };
    const gatewayPort = String(await freePort());
    webhook = await startWebhookReceiver(webhookSecret);
    const start = async (name: 'persistence' | 'iifl-auth' | 'scheduler' | 'gateway' | 'notifier', own: Record<string, string>) => {
      const port = name === 'gateway' ? gatewayPort : String(await freePort());
      const portEnv = name === 'gateway' ? { PORT: port } : { HEALTH_PORT: port };
      services.push(
        await startServiceProcess({
          name,
          entry: `services/${name}/src/main.ts`,
          env: { ...base, ...natsEnv(name), ...portEnv, ...own },
          healthUrl: `http://127.0.0.1:${port}/healthz`,
        }),
      );
      return port;
    };
    await start('persistence', { DATABASE_URL: db.url });
    await Promise.all([
      start('iifl-auth', {
        IIFL_BASE_URL: sim.baseUrl,
        IIFL_KEY_ASSOCIATION_DELAY_MS: '0',
        CREDENTIALS_KEY: credentialsKey,
        IIFL_LOGIN_URL: sim.loginPageUrl,
        LOGIN_LINK_SECRET: randomBytes(32).toString('base64'),
        IIFL_REDIRECT_URL: `http://127.0.0.1:${gatewayPort}/api/integration/iifl/callback`,
        // The day watch of tokens under this identity too (tokens bucket, its checks, runs it starts).
        TOKEN_CHECK_INTERVAL_MS: '1500',
      }),
      start('scheduler', { REFRESH_SCHEDULE: '0 0 1 1 *' }),
      start('gateway', { INTEGRATION_API_KEY: apiKey, CREDENTIALS_KEY: credentialsKey }),
      start('notifier', { WEBHOOK_URLS: webhook.url, WEBHOOK_SECRET: webhookSecret }),
    ]);
    gatewayUrl = `http://127.0.0.1:${gatewayPort}/api/integration`;

    // The operator's identity imports the users (encrypted by the tool).
    const dir = mkdtempSync(join(tmpdir(), 'nats-perms-'));
    const redirectUser = {
      userID: redirectAccount.clientId,
      loginFlow: 'redirect',
      appKey: redirectAccount.appKey,
      appSecret: redirectAccount.appSecret,
    };
    const records = [...accounts.map((a) => ({ ...a, clientName: a.clientId })), redirectUser];
    writeFileSync(join(dir, 'users.json'), JSON.stringify(records), { mode: 0o600 });
    const imported = await runEntryPoint('services/cli/src/users-main.ts', ['import', join(dir, 'users.json')], {
      NATS_URL: nats.url,
      ...natsEnv('operator'),
      CREDENTIALS_KEY: credentialsKey,
    });
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);

    engine = await connect({ servers: nats.url, user: 'engine', pass: passwords.engine, inboxPrefix: '_INBOX_engine' });
  }, 120_000);

  afterAll(async () => {
    await engine?.close().catch(() => {});
    await Promise.allSettled(services.map((s) => s.stop('SIGTERM')));
    await sim?.close();
    await webhook?.close();
    await Promise.allSettled([nats?.dispose(), db?.dispose()]);
  });

  it('runs a full refresh with each service under its own identity; the redirect user is sent a link', async () => {
    const operator = await connect({ servers: nats.url, user: 'operator', pass: passwords.operator, inboxPrefix: '_INBOX_operator' });
    try {
      const links = operator.subscribe(Subjects.loginRequired(redirectAccount.clientId), { max: 1 });
      await operator.flush();
      const res = await fetch(`${gatewayUrl}/tokens/refresh-all`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}` } });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ success: true, refreshed: 2, failed: 0 });
      for await (const msg of links) expect(LoginRequired.parse(msg.json()).loginUrl).toMatch(/^http/);
    } finally {
      await operator.close();
    }
    // Persistence published the run's report to TOKEN_NOTICES, the notifier delivered it, signed.
    const report = await waitFor('the run report at the webhook', () =>
      [...webhook.delivered().values()].find((d) => d.type === 'tokens.run.completed'),
    );
    expect(report.verified).toBe(true);
    expect(JSON.parse(report.body)).toMatchObject({ counts: { total: 3, refreshed: 2 } });
  });

  it('walks the browser redirect login: gateway and iifl-auth under their identities', async () => {
    const link = await fetch(`${gatewayUrl}/iifl/login/${redirectAccount.clientId}`, {
      headers: { authorization: `Bearer ${apiKey}` },
      redirect: 'manual',
    });
    expect(link.status).toBe(302);
    const loginPage = new URL(link.headers.get('location')!);
    const back = await submitLoginForm(loginPage, { ...redirectAccount, totp: totpAt(redirectAccount.totpSecret, Date.now()) });
    expect(back.status).toBe(302);
    const page = await fetch(back.headers.get('location')!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Logged in');
    expect(await getCurrentToken(engine, redirectAccount.clientId)).toMatchObject({
      userID: redirectAccount.clientId,
      source: 'login',
      runId: null,
    });
  });

  it('lets a trading engine read the current tokens from the KV bucket and the published ones', async () => {
    const token = await getCurrentToken(engine, accounts[0]!.clientId);
    expect(token).toMatchObject({ userID: accounts[0]!.clientId, source: 'login' });
    // Both feeds open a KV watch (a consumer filtered on every key, then on one): a refusal would reject the loop.
    const watch = watchTokens(engine);
    const seen = new Set<string>();
    for await (const t of watch) {
      seen.add(t.userID);
      if (seen.size === accounts.length) break;
    }
    expect([...seen].sort()).toEqual(accounts.map((a) => a.clientId).sort());
    const one = watchTokens(engine, { userID: accounts[0]!.clientId });
    for await (const t of one) {
      expect(t.eventId).toBe(token!.eventId);
      break;
    }
    expect([watch.watchFailures, one.watchFailures]).toEqual([0, 0]);
  });

  it(
    'lets iifl-auth watch the stored tokens: a session ended at IIFL is announced, recorded and refreshed',
    { timeout: 90_000 },
    async () => {
      const userID = accounts[1]!.clientId;
      const before = (await getCurrentToken(engine, userID))!;
      const logout = await fetch(`${sim.baseUrl}/profile/logout`, {
        method: 'POST',
        headers: { authorization: `Bearer ${before.token}`, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(logout.status).toBe(200);
      const after = await waitFor(
        'a newer token from the watch run',
        async () => {
          const current = await getCurrentToken(engine, userID);
          return current && current.loginTime > before.loginTime ? current : undefined;
        },
        60_000,
        250,
      );
      expect(after.runId).toEqual(expect.any(String));
      const sql = new pg.Client({ connectionString: db.url });
      await sql.connect();
      try {
        const { rows: runs } = await sql.query('select trigger from refresh_runs where run_id = $1', [after.runId]);
        expect(runs).toEqual([{ trigger: 'watch' }]);
        const { rows: states } = await sql.query('select token_invalidated_reason from user_refresh_state where user_id = $1', [userID]);
        expect(states).toEqual([{ token_invalidated_reason: 'SESSION_INVALID' }]);
      } finally {
        await sql.end();
      }
    },
  );

  it('refuses a trading engine the credentials endpoint, refresh requests and other subscriptions', async () => {
    const credentials = await engine
      .request(PersistenceApi.getCredentials.subject, new TextEncoder().encode(JSON.stringify({ userID: accounts[0]!.clientId })), {
        timeout: 3_000,
      })
      .then(
        () => 'answered',
        (err: Error) => err.message,
      );
    expect(credentials).toMatch(/permissions violation/i);

    const published = await engine
      .jetstream()
      .publish(Subjects.refreshRequested(accounts[0]!.clientId), new Uint8Array(), { timeout: 3_000 })
      .then(
        () => 'stored',
        (err: Error) => err.message,
      );
    expect(published).toMatch(/permissions violation/i);

    const stolen = await engine.request('$JS.API.CONSUMER.INFO.TOKEN_REQUESTS.iifl-auth', new Uint8Array(), { timeout: 3_000 }).then(
      () => 'answered',
      (err: Error) => err.message,
    );
    expect(stolen).toMatch(/permissions violation/i);

    const redeem = await engine.request(IiflAuthApi.redeemLogin.subject, new TextEncoder().encode('{}'), { timeout: 3_000 }).then(
      () => 'answered',
      (err: Error) => err.message,
    );
    expect(redeem).toMatch(/permissions violation/i);

    // Its consumers are on the tokens bucket only: no other stream or bucket can be read, and no consumer deleted.
    for (const subject of [
      '$JS.API.CONSUMER.CREATE.TOKEN_EVENTS',
      '$JS.API.CONSUMER.CREATE.TOKEN_EVENTS.x.tokens.refreshed.>',
      '$JS.API.CONSUMER.CREATE.KV_iifl-auth-totp',
      '$JS.API.STREAM.MSG.GET.TOKEN_EVENTS',
      '$JS.API.DIRECT.GET.KV_iifl-auth-logins',
      '$JS.API.STREAM.INFO.TOKEN_REQUESTS',
      '$JS.API.CONSUMER.DELETE.KV_tokens.x',
      '$JS.API.CONSUMER.CREATE.TOKEN_NOTICES.x',
      '$JS.API.STREAM.INFO.TOKEN_NOTICES',
    ]) {
      const refused = await engine.request(subject, new TextEncoder().encode('{}'), { timeout: 3_000 }).then(
        () => 'answered',
        (err: Error) => err.message,
      );
      expect(refused, subject).toMatch(/permissions violation/i);
    }

    // Replies to others (credentials on their way to iifl-auth) are out of reach.
    const other = await connect({ servers: nats.url, user: 'engine', pass: passwords.engine, inboxPrefix: '_INBOX_engine' });
    try {
      const refused = new Promise<string>((resolve) => {
        other.subscribe('_INBOX_iifl-auth.>', { callback: (err) => resolve(err ? err.message : 'message received') });
      });
      expect(await refused).toMatch(/permissions violation/i);
    } finally {
      await other.close();
    }
  });

  it('refuses the credentials endpoint to every identity but iifl-auth, and login links to all but the gateway', async () => {
    for (const id of ['gateway', 'scheduler', 'operator'] as const) {
      const nc = await connect({ servers: nats.url, user: id, pass: passwords[id], inboxPrefix: `_INBOX_${id}` });
      try {
        const ask = (subject: string) =>
          nc.request(subject, new TextEncoder().encode('{}'), { timeout: 3_000 }).then(
            () => 'answered',
            (err: Error) => err.message,
          );
        expect(await ask(PersistenceApi.getCredentials.subject), id).toMatch(/permissions violation/i);
        if (id !== 'gateway') expect(await ask(IiflAuthApi.loginLink.subject), id).toMatch(/permissions violation/i);
      } finally {
        await nc.close();
      }
    }
  });

  it('lets the operator list runs and lift rejection marks, and the gateway list runs and accounts; not an engine', async () => {
    const operator = (args: string[]) => runEntryPoint('services/cli/src/main.ts', args, { NATS_URL: nats.url, ...natsEnv('operator') });
    const failed = await operator(['--failed', '--json']);
    expect(failed.code, failed.stderr).toBe(0);
    expect(JSON.parse(failed.stdout)).toMatchObject({ failed: 0 });
    const cleared = await operator(['--clear-rejections', '--json']);
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(JSON.parse(cleared.stdout)).toEqual({ cleared: [] });

    const listed = await fetch(`${gatewayUrl}/tokens/runs?limit=1`, { headers: { authorization: `Bearer ${apiKey}` } });
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as { runs: unknown[] }).runs).toHaveLength(1);

    // The status page reads the accounts, the runs and the morning under the gateway's identity.
    const signIn = await fetch(`${gatewayUrl.replace('/api/integration', '')}/status/sign-in`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ key: apiKey }).toString(),
    });
    expect(signIn.status).toBe(303);
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
    const status = await fetch(`${gatewayUrl.replace('/api/integration', '')}/status/data`, { headers: { cookie } });
    expect(status.status).toBe(200);
    expect(((await status.json()) as { accounts: unknown[] }).accounts).toHaveLength(accounts.length + 1);

    for (const subject of [PersistenceApi.listRuns.subject, PersistenceApi.clearRejections.subject, PersistenceApi.listAccounts.subject]) {
      const refused = await engine.request(subject, new TextEncoder().encode('{}'), { timeout: 3_000 }).then(
        () => 'answered',
        (err: Error) => err.message,
      );
      expect(refused, subject).toMatch(/permissions violation/i);
    }
  });

  it('gave no service a permission error along the way', () => {
    for (const service of services) {
      expect(service.output(), service.name).not.toMatch(/permission|NATS connection trouble/i);
    }
  });

  it('refuses connections without the right password', async () => {
    for (const options of [{}, { user: 'engine', pass: 'wrong' }, { user: 'nobody', pass: passwords.engine }]) {
      const result = await connect({ servers: nats.url, reconnect: false, ...options }).then(
        async (nc) => {
          await nc.close();
          return 'connected';
        },
        (err: Error) => err.message,
      );
      expect(result).toMatch(/authorization violation/i);
    }
  });
});
