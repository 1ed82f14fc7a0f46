import type { NatsConnection } from 'nats';
import { PersistenceApi } from '@refresher/contracts';
import { callService, ServiceCallError } from '@refresher/platform';
import type { CliOptions } from './args.ts';
import { ExitCode, reportServiceError, type Output } from './run-refresh.ts';

/**
 * `--clear-rejections [--user ID]`: the credentials were put right outside the system (an account
 * unlocked at IIFL), so the marks the broker's rejections left are lifted, of one user or of all,
 * and runs log those users in again. Prints the users whose mark was lifted (JSON with --json).
 */
export async function clearRejectionMarks(nc: NatsConnection, options: CliOptions, output: Output): Promise<ExitCode> {
  let cleared: string[];
  try {
    ({ cleared } = await callService(nc, PersistenceApi.clearRejections, options.userID ? { userID: options.userID } : {}));
  } catch (err) {
    if (err instanceof ServiceCallError) return reportServiceError(err, options, output, 'lift the marks');
    throw err;
  }
  if (options.json) {
    output.out(JSON.stringify({ cleared }, null, 2));
    return ExitCode.Ok;
  }
  if (cleared.length === 0) {
    output.out(
      options.userID ? `${options.userID} had no rejection mark: nothing to lift.` : 'No user had a rejection mark: nothing to lift.',
    );
    return ExitCode.Ok;
  }
  output.out(`Lifted the credential rejection mark of ${cleared.length} user(s):`);
  for (const userID of cleared) output.out(`  ${userID}`);
  output.out('Runs log them in again; to do it now: pnpm refresh-tokens --failed (or --user <userID>).');
  return ExitCode.Ok;
}
