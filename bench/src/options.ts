import { resolve } from 'node:path';
import { parseFlags, UsageError } from '@refresher/cli-args';

export const USAGE = `Usage: pnpm bench [options]

Starts a fresh database, NATS, the IIFL simulator and the four services as processes, refreshes
every user once, and times the legacy algorithm on a sample against the same simulator. Then the
IIFL client alone, in the bench process, logs as many other accounts in at the pipeline's
concurrency against the same simulator: the ceiling the run is reported against.

Options:
  --users <n>                users in the refresh (default 2000)
  --auth-replicas <n>        iifl-auth processes (default 1)
  --auth-concurrency <n>     AUTH_CONCURRENCY of each iifl-auth (default: the service's default)
  --nats-cluster <n>         NATS as a local cluster of n servers (3 to 5), STREAM_REPLICAS=n
                             (default: one server, replicas 1)
  --latency-ms <n>           simulator latency per IIFL call (default 20)
  --jitter-ms <n>            plus a random 0..n ms per call (default 4)
  --key-association-ms <n>   simulator key-association wait, and the client's delay (default 0: not set)
  --keypair-policy <name>    IIFL_KEYPAIR_POLICY: shared or per-login (default: not set, the service's own)
  --baseline-users <n>       users the legacy algorithm logs in (default 20; 0 skips it)
  --idle-probes <n>          one-user refreshes through the gateway on the idle system (default 15)
  --log-level <level>        LOG_LEVEL of the services (default info)
  --timeout-s <n>            give up on the run after this long (default 900)
  --cpu-prof <dir>           run the services with --cpu-prof, profiles written to <dir>
  --json <file>              also write the figures as JSON
  --help                     show this text
Relative paths are taken from the directory pnpm was run in.`;

export { UsageError };

export interface BenchOptions {
  users: number;
  authReplicas: number;
  authConcurrency: number | null;
  /** Servers in the local NATS cluster, each stream with as many replicas; null: one server. */
  natsCluster: number | null;
  latencyMs: number;
  jitterMs: number;
  keyAssociationMs: number;
  /** null: IIFL_KEYPAIR_POLICY is not set, the service's default applies. */
  keyPairPolicy: 'shared' | 'per-login' | null;
  baselineUsers: number;
  idleProbes: number;
  logLevel: string;
  timeoutSeconds: number;
  cpuProfDir: string | null;
  json: string | null;
  help: boolean;
}

export function parseOptions(argv: string[], cwd: string): BenchOptions {
  const values = parseFlags(argv, [
    'users',
    'auth-replicas',
    'auth-concurrency',
    'nats-cluster',
    'latency-ms',
    'jitter-ms',
    'key-association-ms',
    'keypair-policy',
    'baseline-users',
    'idle-probes',
    'log-level',
    'timeout-s',
    'cpu-prof',
    'json',
  ]);
  const int = (flag: keyof typeof values, fallback: number, min = 0): number => {
    const raw = values[flag];
    if (raw === undefined) return fallback;
    if (typeof raw !== 'string' || !/^\d+$/.test(raw) || Number(raw) < min) {
      throw new UsageError(`--${flag} must be an integer of at least ${min}, got "${String(raw)}"`);
    }
    return Number(raw);
  };
  const keyPairPolicy = values['keypair-policy'] ?? null;
  if (keyPairPolicy !== null && keyPairPolicy !== 'shared' && keyPairPolicy !== 'per-login') {
    throw new UsageError(`--keypair-policy must be shared or per-login, got "${keyPairPolicy}"`);
  }
  const natsCluster = values['nats-cluster'] === undefined ? null : int('nats-cluster', 0, 3);
  // JetStream keeps at most 5 replicas of a stream (and STREAM_REPLICAS accepts at most 5).
  if (natsCluster !== null && natsCluster > 5) throw new UsageError(`--nats-cluster must be 3 to 5, got "${natsCluster}"`);
  const logLevel = values['log-level'] ?? 'info';
  if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'].includes(logLevel)) {
    throw new UsageError(`--log-level must be a pino level, got "${logLevel}"`);
  }
  return {
    users: int('users', 2_000, 1),
    authReplicas: int('auth-replicas', 1, 1),
    authConcurrency: values['auth-concurrency'] === undefined ? null : int('auth-concurrency', 0, 1),
    natsCluster,
    latencyMs: int('latency-ms', 20),
    jitterMs: int('jitter-ms', 4),
    keyAssociationMs: int('key-association-ms', 0),
    keyPairPolicy,
    baselineUsers: int('baseline-users', 20),
    idleProbes: int('idle-probes', 15),
    logLevel,
    timeoutSeconds: int('timeout-s', 900, 1),
    cpuProfDir: values['cpu-prof'] === undefined ? null : resolve(cwd, values['cpu-prof']),
    json: values.json === undefined ? null : resolve(cwd, values.json),
    help: values.help === true,
  };
}
