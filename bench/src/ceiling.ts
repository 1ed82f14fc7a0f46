import { createIiflClient, createNodeHttpTransport, IiflError, parseIiflClientConfig } from '@refresher/iifl-client';
import type { SimAccount } from '@refresher/iifl-sim';
import { IIFL_AUTH_DEFAULTS } from './iifl-settings.ts';
import { sampleProcess } from './proc-stats.ts';
import { round } from './stats.ts';

/** The bare IIFL client's logins against the run's simulator: what the pipeline's throughput is set against. */
export interface CeilingResult {
  logins: number;
  failed: number;
  /** Failure codes of the client (IiflError.code) and how often each occurred. */
  failureCodes: Record<string, number>;
  /** Logins in flight at once: the pipeline's concurrency. */
  concurrency: number;
  /** From the first timed login's start to the last one's end. */
  wallSeconds: number;
  loginsPerSecond: number;
  /** CPU of the bench process (the client, its HTTP and crypto) per login. */
  clientCpuMsPerLogin: number;
  /** The simulator's CPU per login over the same time; null when it could not be read. */
  simulatorCpuMsPerLogin: number | null;
}

export interface CeilingInputs {
  /** The client settings iifl-auth ran with (iiflClientEnv), IIFL_BASE_URL included. */
  clientEnv: Record<string, string>;
  /** One account to warm the client with (its key pair, its first connections), then the timed ones. */
  warmUp: SimAccount;
  accounts: readonly SimAccount[];
  concurrency: number;
  /** The simulator's process id, for its CPU. */
  simulatorPid: number | null;
}

const credentialsOf = (a: SimAccount) => ({
  userID: a.clientId,
  password: a.password,
  appKey: a.appKey,
  appSecret: a.appSecret,
  totpSecret: a.totpSecret,
});

/**
 * The IIFL client alone, in the bench process, as iifl-auth builds it (createIiflClient over the
 * `node:http` transport, the same client settings and iifl-auth's spare key pairs): every account
 * logged in once, `concurrency` at a time. Each login is what iifl-auth's login is at IIFL: the key
 * exchange (or the shared pair's reuse), password, TOTP, getusersession and the new token's
 * `profile` check. Left out, being the pipeline's own cost: the request from NATS, the credentials
 * from persistence, the account's lock and TOTP step in KV (the client's in-memory TOTP guard
 * stands in), the outcome event, and retries (a failure here is counted, not retried).
 *
 * The client is made and warmed by one login first, so neither its key pair nor its start is timed.
 */
export async function measureCeiling(inputs: CeilingInputs): Promise<CeilingResult> {
  const config = parseIiflClientConfig({ IIFL_KEYPAIR_SPARES: String(IIFL_AUTH_DEFAULTS.IIFL_KEYPAIR_SPARES), ...inputs.clientEnv });
  const client = createIiflClient(config, { transport: createNodeHttpTransport({ timeoutMs: config.timeoutMs }) });
  const failureCodes: Record<string, number> = {};
  let failed = 0;
  try {
    await client.login(credentialsOf(inputs.warmUp));
    const simBefore = inputs.simulatorPid === null ? null : sampleProcess(inputs.simulatorPid);
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < inputs.accounts.length) {
        const account = inputs.accounts[next++]!;
        try {
          await client.login(credentialsOf(account));
        } catch (err) {
          failed += 1;
          const code = err instanceof IiflError ? err.code : 'error';
          failureCodes[code] = (failureCodes[code] ?? 0) + 1;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(inputs.concurrency, inputs.accounts.length)) }, worker));
    const wallSeconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const simAfter = inputs.simulatorPid === null ? null : sampleProcess(inputs.simulatorPid);
    const logins = inputs.accounts.length;
    return {
      logins,
      failed,
      failureCodes,
      concurrency: inputs.concurrency,
      wallSeconds: round(wallSeconds, 2)!,
      loginsPerSecond: round((logins - failed) / wallSeconds, 1)!,
      clientCpuMsPerLogin: round((cpu.user + cpu.system) / 1000 / logins, 2)!,
      simulatorCpuMsPerLogin: simBefore && simAfter ? round(((simAfter.cpuSeconds - simBefore.cpuSeconds) * 1000) / logins, 2) : null,
    };
  } finally {
    await client.close();
  }
}
