import { runCredentialsTool } from './tool.ts';

runCredentialsTool(process.argv.slice(2), process.env, {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    // The name only: a driver message could quote a row.
    process.stderr.write(`credentials: failed (${err instanceof Error ? err.name : 'error'})\n`);
    process.exitCode = 2;
  },
);
