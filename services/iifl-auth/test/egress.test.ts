import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '@refresher/platform';
import { appKeyFingerprint, createEgressPolicy, EgressMapError, loadEgressPolicy, parseEgressMap } from '../src/egress.ts';
import { iiflAuthConfigSchema } from '../src/index.ts';

const APP_A = 'app-key-a-0123456789';
const APP_B = 'app-key-b-0123456789';

describe('which egress a login takes', () => {
  const policy = createEgressPolicy({ map: { [APP_A]: '127.0.0.3', [APP_B]: 'http://proxy.internal:3128' }, fallback: '127.0.0.4' });

  it('takes the user setting first, whatever the map and the default say', () => {
    expect(policy.forLogin('127.0.0.2', APP_A)).toEqual({ localAddress: '127.0.0.2' });
    expect(policy.forLogin('https://u:p@proxy.user:8443', 'unmapped')).toEqual({ proxyUrl: 'https://u:p@proxy.user:8443/' });
  });

  it('then the app key entry of the map', () => {
    expect(policy.forLogin(null, APP_A)).toEqual({ localAddress: '127.0.0.3' });
    expect(policy.forLogin(undefined, APP_B)).toEqual({ proxyUrl: 'http://proxy.internal:3128/' });
  });

  it('then the default, then none (the OS picks)', () => {
    expect(policy.forLogin(null, 'unmapped')).toEqual({ localAddress: '127.0.0.4' });
    const bare = createEgressPolicy({});
    expect(bare.forLogin(null, APP_A)).toBeUndefined();
    expect({ mapped: bare.mapped, fallback: bare.fallback }).toEqual({ mapped: 0, fallback: null });
    expect({ mapped: policy.mapped, fallback: policy.fallback }).toEqual({ mapped: 2, fallback: '127.0.0.4' });
  });

  it('describes a proxy default without its credentials', () => {
    expect(createEgressPolicy({ fallback: 'http://user:secret@proxy.internal:3128' }).fallback).toBe('proxy http://proxy.internal:3128');
  });
});

describe('IIFL_EGRESS_MAP_FILE', () => {
  it('reads the map from its file at start', () => {
    const dir = mkdtempSync(join(tmpdir(), 'egress-map-'));
    const file = join(dir, 'map.json');
    writeFileSync(file, JSON.stringify({ [APP_A]: '127.0.0.3' }));
    const policy = loadEgressPolicy({ IIFL_EGRESS_MAP_FILE: file });
    expect(policy.forLogin(null, APP_A)).toEqual({ localAddress: '127.0.0.3' });
    expect(() => loadEgressPolicy({ IIFL_EGRESS_MAP_FILE: join(dir, 'missing.json') })).toThrow(/cannot be read \(ENOENT\)/);
  });

  it('refuses a bad entry naming its app key by fingerprint, never by the key', () => {
    const text = JSON.stringify({ [APP_A]: '127.0.0.3', [APP_B]: 'localhost' });
    let error: unknown;
    try {
      parseEgressMap(text, '/etc/map.json');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(EgressMapError);
    const message = (error as Error).message;
    expect(message).toContain(appKeyFingerprint(APP_B));
    expect(message).not.toContain(APP_B);
    expect(message).not.toContain(APP_A);
    expect(() => parseEgressMap('not json', 'm.json')).toThrow(/not JSON/);
    expect(() => parseEgressMap('["127.0.0.2"]', 'm.json')).toThrow(/must be an object/);
  });
});

describe('IIFL_EGRESS_DEFAULT', () => {
  const base = { NATS_URL: 'nats://127.0.0.1:4222', CREDENTIALS_KEY: Buffer.alloc(32, 1).toString('base64') };

  it('takes an address or a proxy URL and refuses anything else', () => {
    expect(loadConfig(iiflAuthConfigSchema, { ...base, IIFL_EGRESS_DEFAULT: '10.0.0.7' }).IIFL_EGRESS_DEFAULT).toBe('10.0.0.7');
    expect(() => loadConfig(iiflAuthConfigSchema, { ...base, IIFL_EGRESS_DEFAULT: 'eth0' })).toThrow(/IIFL_EGRESS_DEFAULT/);
  });
});
