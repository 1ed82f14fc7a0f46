import type { KV } from 'nats';
import { TokenRefreshed } from '@refresher/contracts';
import { decodeJson, encodeJson } from '@refresher/platform';

export class KvUpdateConflictError extends Error {
  override name = 'KvUpdateConflictError';
}

const MAX_ATTEMPTS = 5;

/**
 * Puts a token event into the `tokens` bucket under its userID unless the bucket already holds one
 * from the same or a later login. Compare-and-set on the entry's revision, so two writers cannot
 * replace a newer token with an older one. Returns whether the entry was written.
 */
export async function putTokenIfNewer(kv: KV, event: TokenRefreshed): Promise<boolean> {
  const incoming = Date.parse(event.loginTime);
  let lastError: unknown;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const entry = await kv.get(event.userID);
    if (entry && entry.operation === 'PUT') {
      const current = TokenRefreshed.safeParse(decodeJson(entry.value));
      if (current.success && Date.parse(current.data.loginTime) >= incoming) return false;
    }
    try {
      if (entry) await kv.update(event.userID, encodeJson(event), entry.revision);
      else await kv.create(event.userID, encodeJson(event));
      return true;
    } catch (err) {
      // Another writer got in between: read again and decide again.
      lastError = err;
    }
  }
  throw new KvUpdateConflictError(`could not update the token entry of ${event.userID}`, { cause: lastError });
}
