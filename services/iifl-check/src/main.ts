import { z } from 'zod';
import { parseCheckArgs, UsageError, USAGE } from './args.ts';
import { clientConfigFrom, runCheck } from './check.ts';
import { describeZodError } from '@refresher/platform';

async function main(): Promise<number> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  let args;
  try {
    args = parseCheckArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`iifl-check: ${err.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    out(USAGE);
    return 0;
  }
  let config;
  try {
    config = clientConfigFrom(process.env);
  } catch (err) {
    if (!(err instanceof z.ZodError)) throw err;
    process.stderr.write(`iifl-check: ${describeZodError(err)}\n`);
    return 2;
  }
  return runCheck(args, config, { out });
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // The name only: a message could quote an answer.
    process.stderr.write(`iifl-check: failed (${err instanceof Error ? err.name : 'error'})\n`);
    process.exitCode = 2;
  },
);
