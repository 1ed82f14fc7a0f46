import { parseArgs } from 'node:util';
import { isValidUserId } from '@refresher/contracts';

/** What the command does: a run (every due user, or `--user`), a retry of the latest run's failures, or lifting rejection marks. */
export type CliMode = 'refresh' | 'failed' | 'clear-rejections';

/** `plain` is this command's own output; `legacy` the existing script's, emoji included (scripts/refresh-tokens-prisma.js). */
export type OutputStyle = 'plain' | 'legacy';

export interface CliOptions {
  mode: CliMode;
  /** One user; every due user (or every marked user, with --clear-rejections) when absent. */
  userID?: string;
  verbose: boolean;
  json: boolean;
  style: OutputStyle;
  /** How long to wait for the run to complete before giving up (the run itself goes on). */
  timeoutSeconds: number;
}

export type ParsedArgs = { kind: 'run'; options: CliOptions } | { kind: 'help' } | { kind: 'error'; message: string };

export const DEFAULT_TIMEOUT_SECONDS = 600;
const MAX_TIMEOUT_SECONDS = 24 * 60 * 60;

export const USAGE = `Usage: pnpm refresh-tokens [--user <userID>] [--verbose] [--json] [--timeout <seconds>]
       pnpm refresh-tokens --failed [--verbose] [--json] [--timeout <seconds>]
       pnpm refresh-tokens --clear-rejections [--user <userID>] [--json]

Refreshes the IIFL session token of every due user (or of one user) and prints a summary.

Options:
  --user <userID>      refresh this user only
  --failed             refresh the users that failed in the latest run over all users (and its retries)
  --clear-rejections   lift the marks the broker's rejections left (every user, or --user's) once the
                       credentials were put right outside the system, such as an account unlocked at IIFL
  --verbose            one line per outcome while the run goes, and each new token's validity
  --json               print only the summary, as JSON, on stdout
  --legacy-output      print as the existing scripts/refresh-tokens-prisma.js did (that script uses it)
  --timeout <seconds>  how long to wait for the run to complete (default ${DEFAULT_TIMEOUT_SECONDS}); the run
                       itself goes on after the wait ends
  -h, --help           show this help

Exit codes: 0 every user refreshed or skipped (or nobody failed, or the marks were lifted); 1 a user
failed, the user does not exist, or the run did not complete in time; 2 bad arguments, bad
configuration, or NATS/persistence not answering.

Environment: NATS_URL (default nats://127.0.0.1:4222), NATS_USER, NATS_PASSWORD, NATS_TOKEN,
NATS_CREDS_FILE.`;

type Values = ReturnType<typeof readArgs>['values'];

function readArgs(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      user: { type: 'string' },
      failed: { type: 'boolean', default: false },
      'clear-rejections': { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'legacy-output': { type: 'boolean', default: false },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

export function parseCliArgs(argv: readonly string[]): ParsedArgs {
  let values: Values;
  try {
    ({ values } = readArgs(argv));
  } catch (err) {
    return { kind: 'error', message: err instanceof Error ? firstLine(err.message) : 'invalid arguments' };
  }
  if (values.help) return { kind: 'help' };

  const refused = refuseCombinations(values);
  if (refused) return { kind: 'error', message: refused };
  const options: CliOptions = {
    mode: values.failed ? 'failed' : values['clear-rejections'] ? 'clear-rejections' : 'refresh',
    verbose: values.verbose,
    json: values.json,
    style: values['legacy-output'] ? 'legacy' : 'plain',
    timeoutSeconds: DEFAULT_TIMEOUT_SECONDS,
  };
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

/** Flags that mean nothing together, each refused with what to do instead. */
function refuseCombinations(values: Values): string | undefined {
  if (values.failed && values['clear-rejections']) {
    return '--failed and --clear-rejections are two steps: lift the marks first, then run --failed';
  }
  if (values.failed && values.user !== undefined) {
    return '--failed retries every user that failed in the latest run; for one user use --user alone';
  }
  if (values['clear-rejections'] && (values.verbose || values['legacy-output'] || values.timeout !== undefined)) {
    return '--clear-rejections takes --user and --json only';
  }
  if (values.json && values['legacy-output']) return '--json and --legacy-output exclude each other';
  return undefined;
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}
