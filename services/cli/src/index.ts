export { runCli, cliConfigSchema } from './cli.ts';
export { parseCliArgs, USAGE, DEFAULT_TIMEOUT_SECONDS, type CliOptions, type CliMode, type OutputStyle, type ParsedArgs } from './args.ts';
export { runRefresh, ExitCode, type Output, type RunRefreshTuning } from './run-refresh.ts';
export { refreshFailed } from './failed-run.ts';
export { clearRejectionMarks } from './clear-rejections.ts';
export * from './summary-format.ts';
export { runUsersCli, USERS_USAGE, encryptCredentials, type UsersIo } from './users.ts';
