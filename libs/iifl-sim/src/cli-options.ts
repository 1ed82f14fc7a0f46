import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseFlags, UsageError } from '@refresher/cli-args';
import { demoAccounts, generateAccounts } from './accounts.ts';
import { parseAccounts } from './server.ts';
import { ANSWER_SHAPES, type AnswerShape, type SessionExp, type SimAccount, type SimKnobs } from './types.ts';

export const USAGE = `Usage: pnpm iifl-sim [options]

A simulator of IIFL's login API (see docs/iifl-simulator.md).

Options:
  --port <n>                 port to listen on (default 7070; 0 = any free port)
  --host <addr>              address to bind (default 127.0.0.1)
  --accounts <file.json>     JSON array of accounts {clientId, password, appKey, appSecret, totpSecret, blocked?}
  --generate <n>             use n generated accounts (SIM000001...) instead
  --seed <s>                 seed for --generate (default "iifl-sim")
  --latency-ms <n>           latency added to every API call
  --jitter-ms <n>            plus a random 0..n ms
  --key-association-ms <n>   password step sooner than this after the key exchange fails with EC062
  --answer-shape <shape>     documented (default), legacy or sealed
  --session-exp <rule>       session JWT exp: ist-midnight (default), none, or milliseconds after issue
  --help                     show this text
Without --accounts or --generate the built-in demo accounts are used and printed.`;

export { UsageError };

export interface CliOptions {
  help: boolean;
  port: number;
  host: string;
  accounts: SimAccount[];
  accountsSource: 'demo' | 'file' | 'generated';
  knobs: Partial<SimKnobs>;
}

function nonNegativeInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${flag} must be a non-negative integer, got "${value}"`);
  return Number(value);
}

function answerShape(value: string | undefined): AnswerShape | undefined {
  if (value === undefined) return undefined;
  const shape = ANSWER_SHAPES.find((s) => s === value);
  if (!shape) throw new UsageError(`--answer-shape must be one of ${ANSWER_SHAPES.join(', ')}, got "${value}"`);
  return shape;
}

function sessionExp(value: string | undefined): SessionExp | undefined {
  if (value === undefined || value === 'ist-midnight' || value === 'none') return value;
  if (!/^[1-9]\d*$/.test(value)) throw new UsageError(`--session-exp must be ist-midnight, none or a positive integer, got "${value}"`);
  return Number(value);
}

/** The knob flags that were given. */
function knobsFrom(values: Record<string, string | boolean | undefined>): Partial<SimKnobs> {
  const text = (flag: string): string | undefined => (typeof values[flag] === 'string' ? values[flag] : undefined);
  const knobs: Partial<SimKnobs> = {};
  const latency = nonNegativeInt('latency-ms', text('latency-ms'));
  const jitter = nonNegativeInt('jitter-ms', text('jitter-ms'));
  const association = nonNegativeInt('key-association-ms', text('key-association-ms'));
  const shape = answerShape(text('answer-shape'));
  const exp = sessionExp(text('session-exp'));
  if (latency !== undefined) knobs.latencyMs = latency;
  if (jitter !== undefined) knobs.jitterMs = jitter;
  if (association !== undefined) knobs.minKeyAssociationMs = association;
  if (shape !== undefined) knobs.answerShape = shape;
  if (exp !== undefined) knobs.sessionExp = exp;
  return knobs;
}

/** `cwd`: where relative paths are resolved (pnpm --filter runs in the package dir; INIT_CWD is the user's). */
export function parseCliOptions(argv: string[], cwd: string): CliOptions {
  const values = parseFlags(argv, [
    'port',
    'host',
    'accounts',
    'generate',
    'seed',
    'latency-ms',
    'jitter-ms',
    'key-association-ms',
    'answer-shape',
    'session-exp',
  ]);
  const port = nonNegativeInt('port', values.port) ?? 7070;
  if (port > 65535) throw new UsageError('--port must be at most 65535');
  if (values.accounts !== undefined && values.generate !== undefined) {
    throw new UsageError('use either --accounts or --generate, not both');
  }
  let accounts: SimAccount[];
  let accountsSource: CliOptions['accountsSource'] = 'demo';
  if (values.accounts !== undefined) {
    accounts = readAccountsFile(resolve(cwd, values.accounts));
    accountsSource = 'file';
  } else if (values.generate !== undefined) {
    accounts = generateAccounts(nonNegativeInt('generate', values.generate) ?? 0, values.seed);
    accountsSource = 'generated';
  } else {
    accounts = demoAccounts();
  }
  const knobs = knobsFrom(values);
  return {
    help: values.help === true,
    port,
    host: values.host ?? '127.0.0.1',
    accounts,
    accountsSource,
    knobs,
  };
}

function readAccountsFile(path: string): SimAccount[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read accounts file ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`accounts file ${path} is not JSON: ${(err as Error).message}`);
  }
  try {
    return parseAccounts(json);
  } catch (err) {
    const issues = (err as { issues?: string[] }).issues ?? [(err as Error).message];
    throw new UsageError(`accounts file ${path} has invalid entries:\n  ${issues.join('\n  ')}`);
  }
}
