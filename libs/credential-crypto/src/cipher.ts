import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Keyring } from './keyring.ts';

/**
 * Encrypted values are stored as `enc:v1:<keyId>:<iv>:<ciphertext+tag>` (base64url parts), so a
 * column can hold old plain-text values and encrypted ones side by side while a table is migrated.
 */
const PREFIX = 'enc:v1:';

/** Where a value lives: bound into the ciphertext, so a value copied to another row or column fails. */
export interface FieldContext {
  table: string;
  column: string;
  /** The row's stable key (the broker user id). */
  row: string;
}

export class CredentialDecryptError extends Error {
  override name = 'CredentialDecryptError';
}

export function isEncrypted(value: string): boolean {
  return value.startsWith(PREFIX);
}

function aad(context: FieldContext): Buffer {
  return Buffer.from(JSON.stringify([context.table, context.column, context.row]));
}

export function encryptField(keyring: Keyring, plaintext: string, context: FieldContext): string {
  const key = keyring.keys.get(keyring.current)!;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad(context));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${PREFIX}${keyring.current}:${iv.toString('base64url')}:${body.toString('base64url')}`;
}

/** The key id a value was encrypted with, or null for a plain-text value. */
export function keyIdOf(value: string): string | null {
  return isEncrypted(value) ? (value.slice(PREFIX.length).split(':')[0] ?? null) : null;
}

/**
 * Opens a value. A plain-text (legacy) value is returned as it is. Errors never include the value.
 */
export function decryptField(keyring: Keyring, value: string, context: FieldContext): string {
  if (!isEncrypted(value)) return value;
  const [keyId, ivText, bodyText, ...rest] = value.slice(PREFIX.length).split(':');
  if (!keyId || !ivText || !bodyText || rest.length) throw new CredentialDecryptError(`malformed encrypted ${context.column}`);
  const key = keyring.keys.get(keyId);
  if (!key) throw new CredentialDecryptError(`no key "${keyId}" to open ${context.column}: is it in CREDENTIALS_OLD_KEYS?`);
  const iv = Buffer.from(ivText, 'base64url');
  const body = Buffer.from(bodyText, 'base64url');
  if (iv.length !== 12 || body.length < 16) throw new CredentialDecryptError(`malformed encrypted ${context.column}`);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(aad(context));
    decipher.setAuthTag(body.subarray(body.length - 16));
    return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString('utf8');
  } catch {
    throw new CredentialDecryptError(`${context.column} of ${context.row} failed authentication (tampered, moved or wrong key)`);
  }
}
