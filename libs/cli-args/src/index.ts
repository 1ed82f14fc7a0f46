import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A command-line problem: the message is meant for the user. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The flags of a tool: `--help` (or `-h`), and the named ones, each taking a value. */
export type Flags<N extends string> = { help: boolean } & { [K in N]?: string };

/**
 * Reads `argv` (node:util parseArgs, strict, no positionals): `--help`/`-h` and the named flags,
 * each with a value; an unknown flag or a missing value is a UsageError.
 */
export function parseFlags<const N extends string>(argv: string[], names: readonly N[]): Flags<N> {
  const options: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } };
  for (const name of names) options[name] = { type: 'string' };
  let values;
  try {
    ({ values } = parseArgs({ args: argv, strict: true, options }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return { ...values, help: values['help'] === true } as Flags<N>;
}
