/**
 * An answer's shape for a person to read: field names and structure, IIFL's status and message in
 * full, every other string replaced by its length. Tokens, keys and codes never show; a message is
 * scrubbed of every secret the check knows of before it is shown.
 */

/** Fields whose text is IIFL's own wording or verdict, shown as they are (after scrubbing). */
const SHOWN_FIELDS = new Set(['status', 'message', 'Message', 'Status', 'errorCode', 'code']);
const MAX_DEPTH = 5;

export function describeShape(value: unknown, scrub: (text: string) => string, key = '', depth = 0): string {
  if (value === null) return 'null';
  if (typeof value === 'string') {
    if (SHOWN_FIELDS.has(key) || /^EC\d{3}$/i.test(value))
      return JSON.stringify(scrub(value.length > 160 ? `${value.slice(0, 160)}…` : value));
    return `<${value.length} chars>`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return SHOWN_FIELDS.has(key) ? String(value) : `<${typeof value}>`;
  if (depth >= MAX_DEPTH) return '…';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const first = describeShape(value[0], scrub, key, depth + 1);
    return value.length === 1 ? `[${first}]` : `[${first}, … ${value.length} items]`;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k}: ${describeShape(v, scrub, k, depth + 1)}`);
    return `{${entries.join(', ')}}`;
  }
  return `<${typeof value}>`;
}

/** Every string in an answer long enough to be a token or key: the check treats them as secrets. */
export function stringsIn(value: unknown, into: string[] = [], key = ''): string[] {
  if (typeof value === 'string') {
    if (value.length >= 6 && !SHOWN_FIELDS.has(key)) into.push(value);
  } else if (Array.isArray(value)) {
    for (const item of value) stringsIn(item, into, key);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) stringsIn(v, into, k);
  }
  return into;
}
