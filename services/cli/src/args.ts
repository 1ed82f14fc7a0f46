import { parseArgs } from 'node:util';
import { isValidUserId } from '@refresher/contracts';

export interface CliOptions {
  /** One user; every due user when absent. */
  userID?: string;
  verbose: boolean;
  json: boolean;
  /** How long to wait for the run to complete before giving up (the run itself goes on). */
  timeoutSeconds: number;
}

export type ParsedArgs = { kind: 'run'; options: CliOptions } | { kind: 'help' } | { kind: 'error'; message: string };

export const DEFAULT_TIMEOUT_SECONDS = 600;
const MAX_TIMEOUT_SECONDS = 24 * 60 * 60;

export const USAGE = `Usage: pnpm refresh-tokens [--user <userID>] [--verbose] [--json] [--timeout <seconds>]

Refreshes the IIFL session token of every due user (or of one user) and prints a summary.

Options:
  --user <userID>      refresh this user only
  --verbose            one line per outcome while the run goes, and each new token's validity
  --json               print only the summary, as JSON, on stdout
  --timeout <seconds>  how long to wait for the run to complete (default ${DEFAULT_TIMEOUT_SECONDS}); the run
                       itself goes on after the wait ends
  -h, --help           show this help

Exit codes: 0 every user refreshed or skipped; 1 a user failed, the user does not exist, or the run
did not complete in time; 2 bad arguments, bad configuration, or NATS/persistence not answering.

Environment: NATS_URL (default nats://127.0.0.1:4222), NATS_USER, NATS_PASSWORD, NATS_TOKEN,
NATS_CREDS_FILE.`;

export function parseCliArgs(argv: readonly string[]): ParsedArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        user: { type: 'string' },
        verbose: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    return { kind: 'error', message: err instanceof Error ? firstLine(err.message) : 'invalid arguments' };
  }
  if (values.help) return { kind: 'help' };

  const options: CliOptions = { verbose: values.verbose, json: values.json, timeoutSeconds: DEFAULT_TIMEOUT_SECONDS };
  if (values.user !== undefined) {
    if (!isValidUserId(values.user)) {
      return { kind: 'error', message: 'invalid --user: 1-64 characters of A-Z, a-z, 0-9, "_" or "-"' };
    }
    options.userID = values.user;
  }
  if (values.timeout !== undefined) {
    const seconds = /^\d+$/.test(values.timeout) ? Number(values.timeout) : Number.NaN;
    if (!(seconds >= 1 && seconds <= MAX_TIMEOUT_SECONDS)) {
      return { kind: 'error', message: `invalid --timeout: whole seconds from 1 to ${MAX_TIMEOUT_SECONDS}` };
    }
    options.timeoutSeconds = seconds;
  }
  return { kind: 'run', options };
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}
