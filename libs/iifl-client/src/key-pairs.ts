import { generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { clientPubOf } from './envelope.ts';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface ClientKeyPair {
  /** Base64 SPKI DER of the public key: IIFL's `clientPub`. */
  clientPub: string;
  privateKey: KeyObject;
  createdAt: number;
}

/** RSA-2048 on the libuv thread pool: about 190 ms of CPU that must not block the event loop. */
export async function generateClientKeyPair(now: () => Date): Promise<ClientKeyPair> {
  const { publicKey, privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
  return { clientPub: clientPubOf(publicKey), privateKey, createdAt: now().getTime() };
}

export interface KeyPairLease {
  readonly pair: ClientKeyPair;
  /** Gives the pair back; `reusable: false` discards it (for example after IIFL rejected it). */
  release(reusable: boolean): void;
}

export interface KeyPairSource {
  acquire(): Promise<KeyPairLease>;
  /** Pairs generated so far (for tests and measurements). */
  generated(): number;
}

export interface KeyPairSourceDeps {
  /** 0: a new pair for every login. Otherwise a pair is reused while younger than this. */
  maxAgeMs: number;
  now: () => Date;
  generate?: (now: () => Date) => Promise<ClientKeyPair>;
}

/**
 * Hands out client key pairs. A pair is lent to one login at a time and never shared between
 * concurrent logins: how IIFL associates a `clientPub` with its server key is undocumented, and
 * two key exchanges in flight under one `clientPub` could overwrite each other's association.
 */
export function createKeyPairSource(deps: KeyPairSourceDeps): KeyPairSource {
  const generate = deps.generate ?? generateClientKeyPair;
  const idle: ClientKeyPair[] = [];
  let count = 0;

  const fresh = (pair: ClientKeyPair): boolean => deps.now().getTime() - pair.createdAt < deps.maxAgeMs;

  return {
    async acquire() {
      let pair: ClientKeyPair | undefined;
      while (deps.maxAgeMs > 0 && (pair = idle.pop()) && !fresh(pair)) pair = undefined;
      if (!pair) {
        pair = await generate(deps.now);
        count += 1;
      }
      const lent = pair;
      let released = false;
      return {
        pair: lent,
        release(reusable) {
          if (released) return;
          released = true;
          if (reusable && deps.maxAgeMs > 0 && fresh(lent)) idle.push(lent);
        },
      };
    },
    generated: () => count,
  };
}
