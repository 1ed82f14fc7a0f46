import type { KV, KvEntry } from 'nats';
import { z } from 'zod';
import { isWrongLastSequence } from './shared-totp-guard.ts';

/**
 * What the bucket `iifl-auth-token-checks` holds per user: when the user's stored token was last
 * checked, which token that was (its `loginTime`), and, once that token was found dead, when and
 * whether another refresh may be started for it. Every replica's watch reads and writes it with
 * compare-and-set, so a token is checked once per interval in all, not once per replica.
 */
export interface CheckMark {
  v: 1;
  /** When the last check of the user began (whichever replica made it). */
  checkedAt: string;
  /** The `loginTime` of the token that check was about. */
  loginTime: string;
  /** Set once that token was found dead: it is not checked, nor announced, again. */
  invalidatedAt: string | null;
  /** For a dead token: from when another refresh may be started; null: never (its refresh ended for good). */
  retryAt: string | null;
}

const Mark = z.object({
  v: z.literal(1),
  checkedAt: z.iso.datetime({ offset: true }),
  loginTime: z.iso.datetime({ offset: true }),
  invalidatedAt: z.iso.datetime({ offset: true }).nullable(),
  retryAt: z.iso.datetime({ offset: true }).nullable(),
});

/** A check this replica owns: the mark it wrote and the entry's revision after the write. */
export interface CheckClaim {
  mark: CheckMark;
  revision: number;
}

export interface TokenCheckMarks {
  /**
   * Claims the check of `userID`'s token (logged in at `loginTime`) at `now`; null when a check of
   * the user began less than `dueAfterMs` ago (here or on another replica) or another claim won the
   * race. A claimed mark keeps what was known about the same token (found dead, retry time).
   */
  claim(userID: string, loginTime: string, now: Date): Promise<CheckClaim | null>;
  /** Writes `mark` over the claim (compare-and-set); null when someone wrote the entry since. */
  record(userID: string, claim: CheckClaim, mark: CheckMark): Promise<CheckClaim | null>;
}

/** A mark as this service writes it; anything else (a delete, a foreign value) counts as none. */
export function readMark(entry: Pick<KvEntry, 'operation' | 'json'> | null): CheckMark | null {
  if (!entry || entry.operation !== 'PUT') return null;
  try {
    const parsed = Mark.safeParse(entry.json());
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** The mark a check at `now` writes, given the previous one (null: none, or not ours). */
export function nextMark(previous: CheckMark | null, loginTime: string, now: Date): CheckMark {
  const sameToken = previous !== null && Date.parse(previous.loginTime) === Date.parse(loginTime);
  return {
    v: 1,
    checkedAt: now.toISOString(),
    loginTime,
    invalidatedAt: sameToken ? previous.invalidatedAt : null,
    retryAt: sameToken ? previous.retryAt : null,
  };
}

/** Due when the last check began at least `dueAfterMs` before `now` (or there was none). */
export function isDue(previous: CheckMark | null, now: Date, dueAfterMs: number): boolean {
  return previous === null || now.getTime() - Date.parse(previous.checkedAt) >= dueAfterMs;
}

export function createTokenCheckMarks(deps: { kv: KV; dueAfterMs: number }): TokenCheckMarks {
  const { kv } = deps;
  const write = async (userID: string, mark: CheckMark, entry: KvEntry | null): Promise<CheckClaim | null> => {
    const value = JSON.stringify(mark);
    try {
      const revision = entry ? await kv.update(userID, value, entry.revision) : await kv.create(userID, value);
      return { mark, revision };
    } catch (err) {
      if (isWrongLastSequence(err)) return null;
      throw err;
    }
  };
  return {
    async claim(userID, loginTime, now) {
      const entry = await kv.get(userID);
      const previous = readMark(entry);
      if (!isDue(previous, now, deps.dueAfterMs)) return null;
      return write(userID, nextMark(previous, loginTime, now), entry && entry.operation === 'PUT' ? entry : null);
    },
    async record(userID, claim, mark) {
      const value = JSON.stringify(mark);
      try {
        return { mark, revision: await kv.update(userID, value, claim.revision) };
      } catch (err) {
        if (isWrongLastSequence(err)) return null;
        throw err;
      }
    },
  };
}
