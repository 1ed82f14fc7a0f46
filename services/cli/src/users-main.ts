import { runUsersCli } from './users.ts';

runUsersCli(process.argv.slice(2), process.env, {
  out: (line: string) => process.stdout.write(`${line}\n`),
  err: (line: string) => process.stderr.write(`${line}\n`),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`users: unexpected error (${err instanceof Error ? err.name : 'error'})\n`);
    process.exitCode = 2;
  },
);
