#!/usr/bin/env node
// The existing system's manual script, kept by path for the cron jobs and runbooks that call it:
//   node scripts/refresh-tokens-prisma.js [--user <userID>] [--verbose]
// It runs `pnpm refresh-tokens` (services/cli) with the same flags and the existing script's output:
// the users found and skipped, the REFRESH SUMMARY block, the failed users and its closing line.
// Exit code as the CLI's: 0 everyone refreshed or skipped, 1 a user failed (or the run did not end
// in time), 2 bad arguments or NATS/persistence not answering. Configuration: the CLI's (NATS_URL...).
// Plain JavaScript, because Node cannot run the TypeScript of the CLI by itself: tsx loads it.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = fileURLToPath(new URL('../services/cli/src/main.ts', import.meta.url));

const child = spawn(process.execPath, ['--import', 'tsx', cli, '--legacy-output', ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});

// A cron job or a terminal that stops this script stops the run's follower with it (the run goes on).
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => child.kill(signal));
}

child.on('error', (err) => {
  process.stderr.write(`refresh-tokens-prisma: cannot start the refresh-tokens command: ${err.message}\n`);
  process.exitCode = 2;
});

child.on('exit', (code, signal) => {
  // Killed by a signal: the shell's convention, 128 + its number.
  process.exitCode = code ?? 128 + (constants.signals[signal] ?? 0);
});
