import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { LOGIN_FLOWS, UserId, type LoginFlow } from '@refresher/contracts';
import { describeZodError } from '@refresher/platform';
import { parseFlags, UsageError } from '@refresher/cli-args';
import { EgressFormatError, parseEgress, type Egress } from '@refresher/iifl-client';

export const USAGE = `Usage: pnpm iifl-check --user <ID> --credentials <file|-> [--flow <flow>] [--auth-code <code>] [--egress <egress>]

One login for one account at the configured IIFL (IIFL_BASE_URL and the other IIFL_* variables),
with retries off. Prints each call's HTTP status and the shape of each answer (field names, IIFL's
code and message; every secret and token masked), the token's validity, and how the system would
class a failure. See docs/first-morning.md before pointing it at the real host.

  --user <ID>            the IIFL client id
  --credentials <file|-> JSON {"password","appKey","appSecret","totpSecret"}; "-" reads standard input
  --flow <flow>          headless-v1 (default: IIFL_LOGIN_FLOW), headless-v2 or redirect
  --auth-code <code>     redirect flow: the authCode IIFL's login page gave (appSecret needed only)
  --egress <egress>      leave from this source address, or through this http(s):// proxy: the one
                         the account is whitelisted for (default: the host's own route)`;

export { UsageError };

const Credentials = z.object({
  password: z.string().min(1).optional(),
  appKey: z.string().min(1).optional(),
  appSecret: z.string().min(1),
  totpSecret: z.string().min(1).optional(),
});

export interface CheckArgs {
  userID: string;
  flow: LoginFlow | null;
  authCode: string | null;
  /** Where the calls leave from; undefined: the host's own route. */
  egress?: Egress | undefined;
  credentials: z.infer<typeof Credentials>;
  help: boolean;
}

export function parseCheckArgs(argv: string[], readStdin: () => string = () => readFileSync(0, 'utf8')): CheckArgs {
  const values = parseFlags(argv, ['user', 'credentials', 'flow', 'auth-code', 'egress']);
  if (values.help) return { userID: '', flow: null, authCode: null, credentials: { appSecret: '' }, help: true };
  const user = UserId.safeParse(values.user);
  if (!user.success) throw new UsageError('--user <ID> is required: 1-64 of A-Z a-z 0-9 _ -');
  const flow = values.flow ?? null;
  if (flow !== null && !(LOGIN_FLOWS as readonly string[]).includes(flow))
    throw new UsageError(`--flow must be one of ${LOGIN_FLOWS.join(', ')}`);
  if (!values.credentials) throw new UsageError('--credentials <file|-> is required');
  const text = values.credentials === '-' ? readStdin() : readFile(values.credentials);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError('--credentials: not JSON');
  }
  const credentials = Credentials.safeParse(parsed);
  // Field names only: the values are secrets.
  if (!credentials.success) throw new UsageError(`--credentials: ${describeZodError(credentials.error)}`);
  const authCode = values['auth-code'] ?? null;
  if (flow === 'redirect' && authCode === null) {
    throw new UsageError(
      '--flow redirect needs --auth-code: open the login link (GET /api/integration/iifl/login/<ID> on the gateway) and paste the authCode',
    );
  }
  if (flow !== 'redirect' && (!credentials.data.password || !credentials.data.appKey || !credentials.data.totpSecret)) {
    throw new UsageError('--credentials: a headless login needs password, appKey, appSecret and totpSecret');
  }
  const egress = values.egress === undefined ? undefined : egressOf(values.egress);
  return { userID: user.data, flow: flow as LoginFlow | null, authCode, egress, credentials: credentials.data, help: false };
}

function egressOf(text: string): Egress {
  try {
    return parseEgress(text);
  } catch (err) {
    if (err instanceof EgressFormatError) throw new UsageError(`--egress: ${err.message}`);
    throw err;
  }
}

function readFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--credentials: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}
