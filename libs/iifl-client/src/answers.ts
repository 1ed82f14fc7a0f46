import type { KeyObject } from 'node:crypto';
import { openEnvelope } from './envelope.ts';

/**
 * Reading IIFL's answers. IIFL's shapes vary (spec, "Responses and errors"): `{status, message,
 * result}` with `"Ok"`/`"Not_Ok"` or an error code in `status`; `result` an object or an array;
 * the key exchange's `{cPubKey}` alone; and answers sealed in `cRespEncData`.
 */

export function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

export type FieldPath = ReadonlyArray<string | number>;

/**
 * The first non-empty string at one of `paths`, each a list of keys where `0` indexes an array:
 * `[['result', 'token'], ['result', 0, 'token'], ['token']]`.
 */
export function pickString(body: unknown, paths: ReadonlyArray<FieldPath>): string | null {
  for (const path of paths) {
    let value: unknown = body;
    for (const key of path) {
      if (typeof key === 'number') value = Array.isArray(value) ? (value as unknown[])[key] : undefined;
      else value = asRecord(value)?.[key];
    }
    if (typeof value === 'string' && value.trim() !== '') return value;
  }
  return null;
}

/** Where each answer may carry what its step returns (spec, the login steps and the variants). */
export const AnswerFields = {
  serverKey: [['cPubKey'], ['result', 0, 'seData'], ['result', 'seData'], ['result', 'cPubKey'], ['result', 0, 'cPubKey']],
  loginToken: [['result', 'token'], ['result', 0, 'token'], ['token']],
  authCode: [['result', 'authCode'], ['result', 0, 'authCode'], ['authCode']],
  accessToken: [['result', 'accessToken'], ['result', 0, 'accessToken'], ['accessToken']],
  userSession: [['userSession'], ['result', 'userSession'], ['result', 0, 'userSession'], ['accessToken']],
  clientId: [['result', 'clientId'], ['result', 0, 'clientId'], ['clientId']],
  vendor: [['result', 'vendor'], ['result', 0, 'vendor'], ['vendor'], ['result', 'appName'], ['status']],
} as const satisfies Record<string, ReadonlyArray<FieldPath>>;
export type AnswerField = keyof typeof AnswerFields;

const SEALED_PATHS: ReadonlyArray<FieldPath> = [['cRespEncData'], ['result', 'cRespEncData'], ['result', 0, 'cRespEncData']];

export class SealedAnswerError extends Error {
  override name = 'SealedAnswerError';
}

/**
 * The answer with any `cRespEncData` opened: the sealed JSON replaces the body (fields beside it are
 * kept where the sealed text has none of its own). Unchanged when nothing is sealed.
 * Throws SealedAnswerError when a sealed answer cannot be opened.
 */
export function unseal(body: unknown, privateKey: KeyObject | undefined): unknown {
  const sealed = pickString(body, SEALED_PATHS);
  if (sealed === null) return body;
  if (!privateKey) throw new SealedAnswerError('sealed answer, but no client key to open it');
  let inner: unknown;
  try {
    inner = parseJson(openEnvelope(sealed, privateKey).plaintext);
  } catch (error) {
    throw new SealedAnswerError('cRespEncData could not be opened', { cause: error });
  }
  if (inner === undefined) throw new SealedAnswerError('cRespEncData does not hold JSON');
  const outer = asRecord(body) ?? {};
  const { cRespEncData: _sealed, ...rest } = outer;
  return asRecord(inner) ? { ...rest, ...(inner as Record<string, unknown>) } : inner;
}
