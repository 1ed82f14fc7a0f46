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
  /** Unused pairs ready now (for tests and measurements). */
  spares(): number;
  /** Stops making spares. */
  close(): void;
}

export interface KeyPairSourceDeps {
  /** 0: a new pair for every login. Otherwise a pair is reused while younger than this. */
  maxAgeMs: number;
  /**
   * Never-used pairs kept ready, made in the background (0: none). A login takes one instead of
   * waiting for a key generation, so a lone login does not pay for it; under load every pair is
   * still made once and used by one login first.
   */
  spares?: number;
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
  const wantedSpares = deps.spares ?? 0;
  const idle: ClientKeyPair[] = [];
  const spares: ClientKeyPair[] = [];
  let making = 0;
  let closed = false;
  let count = 0;

  const fresh = (pair: ClientKeyPair): boolean => deps.now().getTime() - pair.createdAt < deps.maxAgeMs;

  const make = async (): Promise<ClientKeyPair> => {
    const pair = await generate(deps.now);
    count += 1;
    return pair;
  };

  /** Tops the spares up in the background; a failed generation is tried again at the next acquire. */
  const refill = () => {
    while (!closed && spares.length + making < wantedSpares) {
      making += 1;
      make().then(
        (pair) => {
          making -= 1;
          if (!closed) spares.push(pair);
        },
        () => {
          making -= 1;
        },
      );
    }
  };
  refill();

  return {
    async acquire() {
      let pair: ClientKeyPair | undefined;
      while (deps.maxAgeMs > 0 && (pair = idle.pop()) && !fresh(pair)) pair = undefined;
      pair ??= spares.shift();
      refill();
      pair ??= await make();
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
    spares: () => spares.length,
    close: () => {
      closed = true;
      spares.length = 0;
    },
  };
}
