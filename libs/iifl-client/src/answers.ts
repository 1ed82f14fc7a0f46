/** Reading IIFL's answers: `{ status: "Ok" | "Not_Ok", message, result }`. */

export function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

export function isOk(body: unknown): boolean {
  return record(body)?.['status'] === 'Ok';
}

/**
 * The first non-empty string at one of `paths`, each a list of keys where `0` indexes an array:
 * `[['result', 'token'], ['result', 0, 'token'], ['token']]`.
 */
export function pickString(body: unknown, paths: ReadonlyArray<ReadonlyArray<string | number>>): string | null {
  for (const path of paths) {
    let value: unknown = body;
    for (const key of path) {
      if (typeof key === 'number') value = Array.isArray(value) ? (value as unknown[])[key] : undefined;
      else value = record(value)?.[key];
    }
    if (typeof value === 'string' && value.trim() !== '') return value;
  }
  return null;
}

/** Where each login step's answer may carry what it returns (spec, steps 2 to 5). */
export const AnswerFields = {
  serverKey: [['cPubKey'], ['result', 0, 'seData'], ['result', 'seData']],
  loginToken: [['result', 'token'], ['result', 0, 'token'], ['token']],
  authCode: [['result', 'authCode'], ['result', 0, 'authCode'], ['authCode']],
  userSession: [['userSession'], ['result', 'userSession'], ['result', 0, 'userSession'], ['accessToken']],
  clientId: [['result', 'clientId'], ['result', 0, 'clientId'], ['clientId']],
} as const satisfies Record<string, ReadonlyArray<ReadonlyArray<string | number>>>;
