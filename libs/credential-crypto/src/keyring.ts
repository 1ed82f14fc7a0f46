import { z } from 'zod';

/** A set of 32-byte keys by id; `current` encrypts, every key in `keys` can decrypt. */
export interface Keyring {
  readonly current: string;
  readonly keys: ReadonlyMap<string, Buffer>;
}

export class KeyringError extends Error {
  override name = 'KeyringError';
}

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

function decodeKey(id: string, base64: string): Buffer {
  const key = Buffer.from(base64.trim(), 'base64');
  if (key.length !== 32) {
    throw new KeyringError(`credentials key "${id}" must be 32 random bytes, base64 (e.g. openssl rand -base64 32)`);
  }
  return key;
}

/**
 * The key ring from the environment:
 * - `CREDENTIALS_KEY`: the current key (32 bytes, base64), required;
 * - `CREDENTIALS_KEY_ID`: its id (default `k1`), stored with every value it encrypts;
 * - `CREDENTIALS_OLD_KEYS`: earlier keys still needed to read old values, `id:base64,id:base64`.
 */
export function keyringFromEnv(env: Record<string, string | undefined>): Keyring {
  const base64 = env.CREDENTIALS_KEY;
  if (!base64) {
    throw new KeyringError('CREDENTIALS_KEY is not set: it must hold 32 random bytes, base64 (openssl rand -base64 32)');
  }
  const current = env.CREDENTIALS_KEY_ID ?? 'k1';
  if (!KEY_ID.test(current)) throw new KeyringError('CREDENTIALS_KEY_ID must be 1-32 characters of A-Z, a-z, 0-9, "_" or "-"');
  const keys = new Map<string, Buffer>([[current, decodeKey(current, base64)]]);
  for (const entry of (env.CREDENTIALS_OLD_KEYS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const at = entry.indexOf(':');
    const id = entry.slice(0, at);
    if (at < 1 || !KEY_ID.test(id)) throw new KeyringError('CREDENTIALS_OLD_KEYS must be a list of id:base64 pairs');
    if (keys.has(id)) throw new KeyringError(`credentials key id "${id}" is given twice`);
    keys.set(id, decodeKey(id, entry.slice(at + 1)));
  }
  return { current, keys };
}

/** For service config schemas: validates the variables and builds the ring once. */
export const keyringEnvSchema = z
  .object({
    CREDENTIALS_KEY: z.string().optional(),
    CREDENTIALS_KEY_ID: z.string().optional(),
    CREDENTIALS_OLD_KEYS: z.string().optional(),
  })
  .transform((env, ctx) => {
    try {
      return { keyring: keyringFromEnv(env) };
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message, path: ['CREDENTIALS_KEY'] });
      return z.NEVER;
    }
  });
