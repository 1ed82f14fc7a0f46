import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { iiflAuthConfigSchema } from '../../services/iifl-auth/src/config.ts';
import { IIFL_AUTH_DEFAULTS, iiflClientEnv, pipelineConcurrency } from '../src/iifl-settings.ts';

describe('the ceiling runs at the pipeline concurrency', () => {
  it("knows iifl-auth's defaults as the service has them", () => {
    const config = iiflAuthConfigSchema.parse({ CREDENTIALS_KEY: randomBytes(32).toString('base64') });
    expect({
      AUTH_CONCURRENCY: config.AUTH_CONCURRENCY,
      AUTH_MAX_IN_FLIGHT: config.AUTH_MAX_IN_FLIGHT,
      IIFL_KEYPAIR_SPARES: config.IIFL_KEYPAIR_SPARES,
    }).toEqual(IIFL_AUTH_DEFAULTS);
  });

  it('is replicas x AUTH_CONCURRENCY (flag or default), at most AUTH_MAX_IN_FLIGHT', () => {
    expect(pipelineConcurrency({ authReplicas: 1, authConcurrency: null })).toBe(48);
    expect(pipelineConcurrency({ authReplicas: 2, authConcurrency: null })).toBe(96);
    expect(pipelineConcurrency({ authReplicas: 3, authConcurrency: 16 })).toBe(48);
    expect(pipelineConcurrency({ authReplicas: 8, authConcurrency: null })).toBe(256);
  });

  it('gives the client only the settings a flag asks for', () => {
    expect(iiflClientEnv({ keyAssociationMs: 0, keyPairPolicy: null }, 'http://sim/v1')).toEqual({ IIFL_BASE_URL: 'http://sim/v1' });
    expect(iiflClientEnv({ keyAssociationMs: 250, keyPairPolicy: 'per-login' }, 'http://sim/v1')).toEqual({
      IIFL_BASE_URL: 'http://sim/v1',
      IIFL_KEY_ASSOCIATION_DELAY_MS: '250',
      IIFL_KEYPAIR_POLICY: 'per-login',
    });
  });
});
