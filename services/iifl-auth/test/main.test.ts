import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@refresher/platform';
import { freePort, startNats, startServiceProcess, type TestNats } from '@refresher/testkit';
import { iiflAuthConfigSchema } from '../src/index.ts';

const CREDENTIALS_KEY = Buffer.alloc(32, 3).toString('base64');

describe('configuration', () => {
  it('has working defaults and a key-association delay that may be 0', () => {
    const config = loadConfig(iiflAuthConfigSchema, { IIFL_KEY_ASSOCIATION_DELAY_MS: '0', CREDENTIALS_KEY });
    expect(config).toMatchObject({
      HEALTH_PORT: 8084,
      AUTH_CONCURRENCY: 48,
      AUTH_RETRY_MAX_ATTEMPTS: 4,
      AUTH_RETRY_BASE_MS: 500,
      AUTH_RETRY_MAX_DELAY_MS: 8_000,
      AUTH_RETRY_DEADLINE_MS: 90_000,
      AUTH_SHUTDOWN_GRACE_MS: 20_000,
      IIFL_KEY_ASSOCIATION_DELAY_MS: 0,
    });
    expect(config.keyring.current).toBe('k1');
  });

  it('refuses to start without CREDENTIALS_KEY, saying what it must hold', () => {
    expect(() => loadConfig(iiflAuthConfigSchema, {})).toThrow(/CREDENTIALS_KEY is not set: it must hold 32 random bytes, base64/);
  });

  it('reports every problem at once', () => {
    const env = { AUTH_CONCURRENCY: '0', IIFL_BASE_URL: 'not a url', CREDENTIALS_KEY: 'c2hvcnQ=' };
    expect(() => loadConfig(iiflAuthConfigSchema, env)).toThrow(
      expect.objectContaining({
        name: 'ConfigError',
        problems: expect.arrayContaining([/AUTH_CONCURRENCY/, /IIFL_BASE_URL/, /CREDENTIALS_KEY/].map((p) => expect.stringMatching(p))),
      }),
    );
  });

  it('builds the key ring from CREDENTIALS_KEY', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const config = loadConfig(iiflAuthConfigSchema, { CREDENTIALS_KEY: key, CREDENTIALS_KEY_ID: 'k2' });
    expect(config.keyring?.current).toBe('k2');
    expect(config).not.toHaveProperty('CREDENTIALS_KEY');
    expect(() => loadConfig(iiflAuthConfigSchema, { CREDENTIALS_KEY: 'c2hvcnQ=' })).toThrow(/CREDENTIALS_KEY/);
  });
});

describe('main.ts as its own process', () => {
  let nats: TestNats;
  beforeAll(async () => {
    nats = await startNats();
  });
  afterAll(async () => {
    await nats?.dispose();
  });

  it('serves health and exits cleanly on SIGTERM', { timeout: 30_000 }, async () => {
    const port = await freePort();
    const service = await startServiceProcess({
      name: 'iifl-auth',
      entry: 'services/iifl-auth/src/main.ts',
      env: { NATS_URL: nats.url, HEALTH_PORT: String(port), AUTH_FETCH_EXPIRES_MS: '1000', LOG_LEVEL: 'info', CREDENTIALS_KEY },
      healthUrl: `http://127.0.0.1:${port}/healthz`,
    });
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(await res.json()).toEqual({ status: 'ok', inFlight: 0, keyPairsGenerated: expect.any(Number) });
    expect(await service.stop('SIGTERM')).toBe(0);
    expect(service.output()).toContain('"msg":"stopped"');
  });
});
