import { spawn, type ChildProcess } from 'node:child_process';
import { REPO_ROOT, waitFor } from '@refresher/testkit';

export interface BenchProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  /** The last lines it wrote (for error reports; older lines are dropped). */
  tail(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const TAIL_LINES = 60;

/** Spawns a command; its output is kept only as a short tail so a long run holds no memory for it. */
export function spawnProcess(name: string, command: string, args: string[], env: Record<string, string>): BenchProcess {
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  const keep = (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    if (lines.length > TAIL_LINES) lines.splice(0, lines.length - TAIL_LINES);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  if (child.pid === undefined) throw new Error(`${name} could not be started`);
  return {
    name,
    pid: child.pid,
    child,
    tail: () => [...lines, partial].join('\n'),
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** A TypeScript entry point run as production runs it: `node --import tsx <entry>`. */
export function spawnService(
  name: string,
  entry: string,
  env: Record<string, string>,
  nodeArgs: string[] = [],
  args: string[] = [],
): BenchProcess {
  return spawnProcess(name, process.execPath, [...nodeArgs, '--import', 'tsx', entry, ...args], env);
}

export async function waitUntilHealthy(proc: BenchProcess, url: string, timeoutMs = 60_000): Promise<void> {
  try {
    await waitFor(
      `${proc.name} to be healthy`,
      async () => {
        if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited with ${proc.child.exitCode}`);
        const res = await fetch(url).catch(() => undefined);
        return res?.ok ? true : undefined;
      },
      timeoutMs,
      100,
    );
  } catch (err) {
    throw new Error(`${proc.name} did not start:\n${proc.tail()}`, { cause: err });
  }
}

export async function waitForLine(proc: BenchProcess, pattern: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
  try {
    return await waitFor(
      `${proc.name} to print ${pattern}`,
      () => {
        if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited with ${proc.child.exitCode}`);
        return pattern.exec(proc.tail()) ?? undefined;
      },
      timeoutMs,
      50,
    );
  } catch (err) {
    throw new Error(`${proc.name} did not start:\n${proc.tail()}`, { cause: err });
  }
}
