import { parseArgs, type ParseArgsConfig } from 'node:util';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** A command-line problem: the message is meant for the user. */
export class UsageError extends Error {
  override name = 'UsageError';
}

type FlagValues<O extends ParseArgsOptionsConfig> = ReturnType<typeof parseArgs<{ args: string[]; strict: true; options: O }>>['values'];

/** The flags of `argv` (node:util parseArgs, strict, no positionals); an unknown or malformed flag is a UsageError. */
export function parseFlags<const O extends ParseArgsOptionsConfig>(argv: string[], options: O): FlagValues<O> {
  try {
    return parseArgs({ args: argv, strict: true, options }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
