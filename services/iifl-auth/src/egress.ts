import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { EgressSetting } from '@refresher/contracts';
import { describeEgress, parseEgress, type Egress } from '@refresher/iifl-client';

/**
 * Where each login leaves from (IIFL answers only the static IPs whitelisted for an app; from April
 * 2026 one IP may not serve many clients): the user's own setting, else the app key's entry in
 * IIFL_EGRESS_MAP_FILE, else IIFL_EGRESS_DEFAULT, else none (the OS picks the route).
 */
export interface EgressPolicy {
  /**
   * The egress of one login, and of any other call made for the account (account-egress.ts):
   * `userEgress` from persistence, `appKey` opened (plain); null for a user without stored app
   * credentials (integration-managed), who has no map entry.
   */
  forLogin(userEgress: string | null | undefined, appKey: string | null): Egress | undefined;
  /** App keys in the map. */
  readonly mapped: number;
  /** The default, as it may be logged (a proxy without its credentials); null without one. */
  readonly fallback: string | null;
}

export class EgressMapError extends Error {
  override name = 'EgressMapError';
}

/** A short, stable stand-in for an app key in logs and errors: never the key itself. */
export function appKeyFingerprint(appKey: string): string {
  return createHash('sha256').update(appKey).digest('hex').slice(0, 12);
}

export function createEgressPolicy(input: { map?: Readonly<Record<string, string>>; fallback?: string | undefined }): EgressPolicy {
  const byAppKey = new Map(Object.entries(input.map ?? {}).map(([appKey, text]) => [appKey, parseEgress(text)]));
  const fallback = input.fallback === undefined ? undefined : parseEgress(input.fallback);
  return {
    forLogin(userEgress, appKey) {
      if (userEgress !== null && userEgress !== undefined) return parseEgress(userEgress);
      return (appKey === null ? undefined : byAppKey.get(appKey)) ?? fallback;
    },
    mapped: byAppKey.size,
    fallback: fallback === undefined ? null : describeEgress(fallback),
  };
}

const EgressMapFile = z.record(z.string().min(1), z.unknown());

/**
 * IIFL_EGRESS_MAP_FILE: JSON `{ "<appKey>": "<address or proxy URL>" }`. Every entry is checked;
 * an error names an entry by its app key's fingerprint, never by the key.
 */
export function parseEgressMap(text: string, path: string): Record<string, string> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new EgressMapError(`IIFL_EGRESS_MAP_FILE ${path}: not JSON`);
  }
  const top = EgressMapFile.safeParse(json);
  if (!top.success) throw new EgressMapError(`IIFL_EGRESS_MAP_FILE ${path}: must be an object of app key to address or proxy URL`);
  const problems: string[] = [];
  const map: Record<string, string> = {};
  for (const [appKey, value] of Object.entries(top.data)) {
    const setting = EgressSetting.safeParse(value);
    if (setting.success) map[appKey] = setting.data;
    else problems.push(`app key ${appKeyFingerprint(appKey)}: ${setting.error.issues[0]?.message ?? 'invalid'}`);
  }
  if (problems.length > 0) throw new EgressMapError(`IIFL_EGRESS_MAP_FILE ${path}: ${problems.join('; ')}`);
  return map;
}

/** The policy from the configuration, the map file read once (at start). */
export function loadEgressPolicy(config: {
  IIFL_EGRESS_MAP_FILE?: string | undefined;
  IIFL_EGRESS_DEFAULT?: string | undefined;
}): EgressPolicy {
  const path = config.IIFL_EGRESS_MAP_FILE;
  let map: Record<string, string> = {};
  if (path !== undefined) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new EgressMapError(`IIFL_EGRESS_MAP_FILE ${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    map = parseEgressMap(text, path);
  }
  return createEgressPolicy({ map, fallback: config.IIFL_EGRESS_DEFAULT });
}
