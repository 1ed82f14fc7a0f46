import type { BenchOptions } from './options.ts';

/**
 * iifl-auth's own defaults (services/iifl-auth/src/config.ts; bench/test/iifl-settings.test.ts
 * checks they still agree): logins in flight per replica, in flight across all replicas (the
 * request consumer's max_ack_pending), and spare key pairs.
 */
export const IIFL_AUTH_DEFAULTS = { AUTH_CONCURRENCY: 48, AUTH_MAX_IN_FLIGHT: 256, IIFL_KEYPAIR_SPARES: 2 } as const;

/**
 * The logins the pipeline can have in flight at once: each replica's AUTH_CONCURRENCY (the flag,
 * else the service default), bounded overall by AUTH_MAX_IN_FLIGHT, which the bench leaves at its
 * default.
 */
export function pipelineConcurrency(options: Pick<BenchOptions, 'authReplicas' | 'authConcurrency'>): number {
  const perReplica = options.authConcurrency ?? IIFL_AUTH_DEFAULTS.AUTH_CONCURRENCY;
  return Math.min(options.authReplicas * perReplica, IIFL_AUTH_DEFAULTS.AUTH_MAX_IN_FLIGHT);
}

/**
 * The IIFL client's settings of a run, the same for iifl-auth (its environment) and for the bare
 * client of the ceiling: only what a flag asks for, so that both otherwise run the defaults.
 */
export function iiflClientEnv(
  options: Pick<BenchOptions, 'keyAssociationMs' | 'keyPairPolicy'>,
  iiflBaseUrl: string,
): Record<string, string> {
  return {
    IIFL_BASE_URL: iiflBaseUrl,
    ...(options.keyAssociationMs > 0 ? { IIFL_KEY_ASSOCIATION_DELAY_MS: String(options.keyAssociationMs) } : {}),
    ...(options.keyPairPolicy === null ? {} : { IIFL_KEYPAIR_POLICY: options.keyPairPolicy }),
  };
}
