import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The services, in the order they are started (persistence first: the others ask it). */
export const SERVICES = ['persistence', 'iifl-auth', 'scheduler', 'gateway', 'notifier'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** Health ports when several services share one host; `<NAME>_HEALTH_PORT` overrides each. */
const HEALTH_PORTS: Record<Exclude<ServiceName, 'gateway'>, string> = {
  persistence: '8082',
  scheduler: '8083',
  'iifl-auth': '8084',
  notifier: '8085',
};

function healthPortVar(name: ServiceName): string {
  return `${name.replace('-', '_').toUpperCase()}_HEALTH_PORT`;
}

/** The environment of one service when all of them run on one host from one environment. */
export function serviceEnv(name: ServiceName, base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...base };
  if (name !== 'gateway') env.HEALTH_PORT = base[healthPortVar(name)] ?? HEALTH_PORTS[name];
  // Only the services that read or write credentials in the clear get the credentials key.
  if (name === 'persistence' || name === 'scheduler' || name === 'notifier') {
    delete env.CREDENTIALS_KEY;
    delete env.CREDENTIALS_OLD_KEYS;
  }
  // The webhook key is the notifier's alone.
  if (name !== 'notifier') delete env.WEBHOOK_SECRET;
  return env;
}

export function healthUrl(name: ServiceName, base: NodeJS.ProcessEnv): string {
  const port = name === 'gateway' ? (base.PORT ?? '3001') : (serviceEnv(name, base).HEALTH_PORT as string);
  return `http://127.0.0.1:${port}/healthz`;
}

export interface Running {
  name: string;
  child: ChildProcess;
  exited: Promise<number | null>;
}

/**
 * Starts one service as its own Node process (as in production), its output prefixed with its name.
 * `pretty` turns the JSON log lines into short readable ones for a terminal.
 */
export function startService(
  name: ServiceName | 'iifl-sim',
  env: NodeJS.ProcessEnv,
  options: { args?: string[]; quiet?: boolean } = {},
): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', `services/${name}/src/main.ts`, ...(options.args ?? [])], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = `[${name}]`.padEnd(14);
  const forward = (chunk: Buffer) => {
    if (options.quiet) return;
    for (const line of chunk.toString().split('\n')) {
      if (line.trim()) process.stdout.write(`${prefix} ${readable(line)}\n`);
    }
  };
  child.stdout!.on('data', forward);
  child.stderr!.on('data', forward);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { name, child, exited };
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

function readable(line: string): string {
  try {
    const { level, time, msg, service, pid, hostname, name, ...rest } = JSON.parse(line);
    void service;
    void pid;
    void hostname;
    void name;
    const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
    return `${String(time ?? '').slice(11, 23)} ${LEVELS[level] ?? level} ${msg ?? ''}${extra}`;
  } catch {
    return line;
  }
}

export async function waitForHealth(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(url).catch(() => undefined);
    if (res?.ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not become healthy within ${timeoutMs} ms`);
}

export async function stopAll(running: Running[]): Promise<void> {
  for (const r of [...running].reverse()) {
    if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGTERM');
    await r.exited;
  }
}
