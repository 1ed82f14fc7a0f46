import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './ports.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface ServiceProcess {
  name: string;
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts a TypeScript entry point (path relative to the repository root) as its own Node process,
 * as production does, and waits until `ready` (a health URL answering 200, or a line of output).
 */
export async function startServiceProcess(options: {
  name: string;
  entry: string;
  env: Record<string, string>;
  args?: string[];
  healthUrl?: string;
  readyLine?: RegExp;
  timeoutMs?: number;
}): Promise<ServiceProcess> {
  const chunks: string[] = [];
  const child = spawn(process.execPath, ['--import', 'tsx', options.entry, ...(options.args ?? [])], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => chunks.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => chunks.push(d.toString()));
  const output = () => chunks.join('');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const service: ServiceProcess = {
    name: options.name,
    child,
    output,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  try {
    await waitFor(
      `${options.name} to be ready`,
      async () => {
        if (child.exitCode !== null) throw new Error(`${options.name} exited with ${child.exitCode}`);
        if (options.healthUrl) {
          const res = await fetch(options.healthUrl).catch(() => undefined);
          return res?.ok ? true : undefined;
        }
        if (options.readyLine) return options.readyLine.test(output()) ? true : undefined;
        return true;
      },
      // A process that exits fails at once; one still starting gets time on a loaded machine (a
      // service's start is mostly tsx compiling its sources: 5-20 s on two busy cores).
      options.timeoutMs ?? 45_000,
      100,
    );
  } catch (err) {
    await service.stop('SIGKILL');
    throw new Error(`${options.name} did not start:\n${output().slice(-4000)}`, { cause: err });
  }
  return service;
}

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved as they arrived. */
  output: string;
}

/**
 * Runs a command to its end from the repository root. Its environment holds PATH, HOME and `env`
 * only, so that nothing of the test process's own settings leaks into it.
 */
export function runToEnd(command: string, args: string[], env: Record<string, string>): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let output = '';
    child.stdout!.on('data', (d: Buffer) => ((stdout += d.toString()), (output += d.toString())));
    child.stderr!.on('data', (d: Buffer) => ((stderr += d.toString()), (output += d.toString())));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr, output }));
  });
}

/** Runs a TypeScript entry point (path relative to the repository root) to its end, in its own Node process. */
export function runEntryPoint(entry: string, args: string[], env: Record<string, string>): Promise<ProcessResult> {
  return runToEnd(process.execPath, ['--import', 'tsx', entry, ...args], env);
}
