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
  /** `shared`: one pair for every login, replaced when older than maxAgeMs. `per-login`: a new pair each time. */
  policy: 'shared' | 'per-login';
  maxAgeMs: number;
  /**
   * per-login: never-used pairs kept ready, made in the background (0: none), so a lone login does
   * not wait for a key generation.
   */
  spares?: number;
  now: () => Date;
  generate?: (now: () => Date) => Promise<ClientKeyPair>;
}

/**
 * Hands out client key pairs. `shared`, as IIFL's own published code does: one pair made once
 * (concurrent first logins wait for the same generation), lent to every login at once, replaced
 * when older than the maximum age or after IIFL refused it. `per-login`, as the existing system
 * did: a new pair for each login, from spares made in the background when asked for.
 */
export function createKeyPairSource(deps: KeyPairSourceDeps): KeyPairSource {
  const generate = deps.generate ?? generateClientKeyPair;
  let count = 0;
  const make = async (): Promise<ClientKeyPair> => {
    const pair = await generate(deps.now);
    count += 1;
    return pair;
  };
  const source = deps.policy === 'shared' ? sharedPairs(deps, make) : perLoginPairs(deps.spares ?? 0, make);
  return { ...source, generated: () => count };
}

type Make = () => Promise<ClientKeyPair>;

function sharedPairs(deps: KeyPairSourceDeps, make: Make): Omit<KeyPairSource, 'generated'> {
  let current: Promise<ClientKeyPair> | undefined;
  let currentPair: ClientKeyPair | undefined;
  const old = (pair: ClientKeyPair) => deps.now().getTime() - pair.createdAt >= deps.maxAgeMs;
  const next = (): Promise<ClientKeyPair> => {
    const made = make().then(
      (pair) => (currentPair = pair),
      (error: unknown) => {
        if (current === made) current = undefined;
        throw error;
      },
    );
    return (current = made);
  };
  return {
    async acquire() {
      if (currentPair && current && old(currentPair)) current = undefined;
      const pair = await (current ?? next());
      return {
        pair,
        release(reusable) {
          // A refused pair is dropped once, whichever login saw the refusal first.
          if (!reusable && currentPair === pair) {
            current = undefined;
            currentPair = undefined;
          }
        },
      };
    },
    spares: () => 0,
    close: () => {},
  };
}

function perLoginPairs(wantedSpares: number, make: Make): Omit<KeyPairSource, 'generated'> {
  const spares: ClientKeyPair[] = [];
  let making = 0;
  let closed = false;
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
      const spare = spares.shift();
      refill();
      const pair = spare ?? (await make());
      return { pair, release: () => {} };
    },
    spares: () => spares.length,
    close: () => {
      closed = true;
      spares.length = 0;
    },
  };
}
