export { parseCheckArgs, UsageError, USAGE, type CheckArgs } from './args.ts';
export { runCheck, clientConfigFrom, type CheckOutput } from './check.ts';
export { describeShape } from './answer-shape.ts';
