import type pg from 'pg';
import { createIiflClient, createNodeHttpTransport, parseIiflClientConfig, type HttpTransport } from '@refresher/iifl-client';
import type { SimAccount } from '@refresher/iifl-sim';

export interface BaselineResult {
  users: number;
  failed: number;
  wallSeconds: number;
  usersPerSecond: number;
  /** CPU of the bench process while it ran (key generation on the thread pool included). */
  cpuMsPerUser: number;
}

/**
 * The legacy refresher's algorithm without its pauses (the 2 s between users and the 10 s key
 * association, which only flatter this comparison): one user after another, a new RSA key pair per
 * login, the four IIFL calls, then one row update per user, as the old code wrote it. The old code
 * never used a token before storing it, so the client's `profile` check is answered in the bench
 * process (see {@link withoutProfileCall}), not sent.
 */
export async function runLegacyBaseline(sql: pg.Client, baseUrl: string, accounts: readonly SimAccount[]): Promise<BaselineResult> {
  const config = parseIiflClientConfig({
    IIFL_BASE_URL: baseUrl,
    IIFL_KEY_ASSOCIATION_DELAY_MS: '0',
    IIFL_KEYPAIR_POLICY: 'per-login',
  });
  let current = '';
  const transport = withoutProfileCall(createNodeHttpTransport({ timeoutMs: config.timeoutMs }), () => current);
  const client = createIiflClient(config, { transport });
  let failed = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  try {
    for (const account of accounts) {
      current = account.clientId;
      try {
        const { token } = await client.login({
          userID: account.clientId,
          password: account.password,
          appKey: account.appKey,
          appSecret: account.appSecret,
          totpSecret: account.totpSecret,
        });
        const now = new Date();
        await sql.query(
          `update "IIFLUser" set token = $1, "tokenValidity" = $2, "lastLoginTime" = $3, "loginStatus" = 'success',
             "tradingStatus" = 'active', "updatedAt" = $3 where "userID" = $4`,
          [token, new Date(now.getTime() + 12 * 3_600_000), now, account.clientId],
        );
      } catch {
        failed += 1;
      }
    }
  } finally {
    await client.close();
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return {
    users: accounts.length,
    failed,
    wallSeconds,
    usersPerSecond: (accounts.length - failed) / wallSeconds,
    cpuMsPerUser: (used.user + used.system) / 1000 / accounts.length,
  };
}

/**
 * The transport with the `profile` call answered at once for the account being logged in: the
 * legacy algorithm made no such call, and the baseline must not be slowed by one it never made.
 */
function withoutProfileCall(inner: HttpTransport, clientId: () => string): HttpTransport {
  return {
    request: async (call) =>
      call.endpoint === 'profile'
        ? { status: 200, text: JSON.stringify({ status: 'Ok', message: 'Success', result: { clientId: clientId() } }) }
        : inner.request(call),
    close: () => inner.close(),
  };
}
