import { parseArgs } from 'node:util';
import { z } from 'zod';
import { keyringFromEnv, KeyringError, type Keyring } from '@refresher/credential-crypto';
import { createDb } from '@refresher/db';
import { ConfigError, loadConfig } from '@refresher/platform';
import { reencryptAll, type ReencryptMode, type ReencryptReport } from './reencrypt.ts';
import { credentialsStatus, type StatusReport } from './status.ts';

export const USAGE = `Usage: pnpm credentials <encrypt|rotate|status> [--json]

  encrypt  encrypts every plain-text broker credential in "IIFLUser" under the current key (a
           column holding INTEGRATION_MANAGED stays as it is, every other value is encrypted, in
           integration-managed rows too); safe to stop and run again
  rotate   re-encrypts every value under the current key (CREDENTIALS_KEY / CREDENTIALS_KEY_ID),
           opening old values with the keys in CREDENTIALS_OLD_KEYS; plain-text values are encrypted too
  status   counts users, plain-text values and encrypted values per key id (needs no key)

Environment: DATABASE_URL (required); for encrypt and rotate CREDENTIALS_KEY (32 random bytes,
base64), CREDENTIALS_KEY_ID (default k1), CREDENTIALS_OLD_KEYS (id:base64,...).

Exit codes: 0 done; 1 some rows could not be opened (listed; left unchanged); 2 bad arguments or configuration.`;

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

const configSchema = z.object({
  DATABASE_URL: z.string({ error: 'DATABASE_URL is required' }).min(1, 'DATABASE_URL is required'),
});

type Invocation =
  | { command: 'status'; json: boolean; databaseUrl: string }
  | { command: ReencryptMode; json: boolean; databaseUrl: string; keyring: Keyring };

/** A usage problem: printed, exit code 2. */
class UsageError extends Error {}

export async function runCredentialsTool(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  output: Output,
): Promise<number> {
  let invocation;
  try {
    invocation = parseInvocation(argv, env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    output.err(err.message);
    return 2;
  }
  if (invocation === 'help') {
    output.out(USAGE);
    return 0;
  }
  const { json } = invocation;
  const db = createDb(invocation.databaseUrl, { max: 2 });
  try {
    if (invocation.command === 'status') {
      const status = await credentialsStatus(db);
      output.out(json ? JSON.stringify(status, null, 2) : formatStatus(status).join('\n'));
      return 0;
    }
    const report = await reencryptAll(db, invocation.keyring, invocation.command, {
      onProgress: (r) => output.err(`... ${r.usersScanned} users scanned, ${r.usersRewritten} rewritten`),
    });
    output.out(json ? JSON.stringify(report, null, 2) : formatReport(report).join('\n'));
    return report.failures.length > 0 ? 1 : 0;
  } finally {
    await db.destroy();
  }
}

/** Arguments and environment, checked before anything opens: the key is needed by encrypt and rotate only. */
function parseInvocation(argv: readonly string[], env: Record<string, string | undefined>): 'help' | Invocation {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
    });
  } catch (err) {
    throw new UsageError(`credentials: ${(err as Error).message.split('\n')[0]}\n${USAGE}`);
  }
  const [command, ...extra] = parsed.positionals;
  if (parsed.values.help) return 'help';
  if ((command !== 'encrypt' && command !== 'rotate' && command !== 'status') || extra.length > 0) throw new UsageError(USAGE);
  try {
    const databaseUrl = loadConfig(configSchema, env).DATABASE_URL;
    const { json } = parsed.values;
    if (command === 'status') return { command, json, databaseUrl };
    return { command, json, databaseUrl, keyring: keyringFromEnv(env) };
  } catch (err) {
    if (err instanceof ConfigError || err instanceof KeyringError) throw new UsageError(`credentials: ${err.message}`);
    throw err;
  }
}

export function formatReport(r: ReencryptReport): string[] {
  const lines = [
    `${r.mode === 'encrypt' ? 'Encrypt' : 'Rotate'} under key "${r.keyId}":`,
    `  users scanned:              ${r.usersScanned}`,
    `  users rewritten:            ${r.usersRewritten}`,
    `  integration-managed:        ${r.integrationManaged}`,
    `  values encrypted:           ${r.valuesEncrypted}`,
    `  values re-encrypted:        ${r.valuesReencrypted}`,
    `  rejection marks carried:    ${r.marksCarried}`,
  ];
  if (r.valuesUnderOtherKeys > 0) lines.push(`  values under other keys:    ${r.valuesUnderOtherKeys} (run "rotate" to move them)`);
  if (r.failures.length > 0) {
    lines.push(`  rows that could not be opened (left unchanged): ${r.failures.length}`);
    for (const f of r.failures) lines.push(`    ${f.userID}: ${f.reason}`);
  } else if (r.usersRewritten === 0) {
    lines.push('  nothing to do');
  }
  return lines;
}

export function formatStatus(s: StatusReport): string[] {
  const byKey =
    Object.entries(s.valuesByKeyId)
      .map(([id, n]) => `${id}: ${n}`)
      .join(', ') || 'none';
  return [
    `users:                   ${s.users}`,
    `integration-managed:     ${s.integrationManaged}`,
    `plain-text values:       ${s.plainTextValues} (in ${s.usersWithPlainText} users)`,
    `encrypted values by key: ${byKey}`,
  ];
}
