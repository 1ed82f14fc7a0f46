import {
  constants,
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto';

/** The parts of a `cEncData` / `cRespEncData` envelope (spec, "The envelope"). */
export interface EnvelopeParts {
  /** The sender's public key: base64 SPKI DER text. */
  clientPub: string;
  iv: Buffer;
  encryptedKey: Buffer;
  ciphertext: Buffer;
}

/**
 * Parsed server keys, by their text. The broker hands out few distinct keys and parsing one costs
 * about half a millisecond of CPU, a good share of a login's client-side cost.
 */
const parsedKeys = new Map<string, KeyObject>();
const PARSED_KEYS_MAX = 64;

/** Reads an RSA public key given as base64 SPKI DER (or, tolerated, PEM). */
export function publicKeyFromBase64(key: string): KeyObject {
  const text = key.trim();
  const cached = parsedKeys.get(text);
  if (cached) return cached;
  const parsed = text.startsWith('-----BEGIN')
    ? createPublicKey({ key: text, format: 'pem' })
    : createPublicKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'spki' });
  if (parsedKeys.size >= PARSED_KEYS_MAX) parsedKeys.delete(parsedKeys.keys().next().value!);
  parsedKeys.set(text, parsed);
  return parsed;
}

/** The public half as base64 SPKI DER, no armour, no whitespace: IIFL's `clientPub`. */
export function clientPubOf(publicKey: KeyObject): string {
  return publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
}

function lengthPrefixed(bytes: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** Lays out the parts: int32 BE length + clientPub, IV, RSA(key); then the ciphertext; base64. */
export function encodeEnvelope(parts: EnvelopeParts): string {
  return Buffer.concat([
    lengthPrefixed(Buffer.from(parts.clientPub, 'utf8')),
    lengthPrefixed(parts.iv),
    lengthPrefixed(parts.encryptedKey),
    parts.ciphertext,
  ]).toString('base64');
}

export class EnvelopeFormatError extends Error {
  override name = 'EnvelopeFormatError';
}

export function decodeEnvelope(envelope: string): EnvelopeParts {
  const bytes = Buffer.from(envelope, 'base64');
  let offset = 0;
  const next = (): Buffer => {
    if (offset + 4 > bytes.length) throw new EnvelopeFormatError('envelope is truncated');
    const length = bytes.readInt32BE(offset);
    offset += 4;
    if (length < 0 || offset + length > bytes.length) throw new EnvelopeFormatError('envelope length out of range');
    const part = bytes.subarray(offset, offset + length);
    offset += length;
    return part;
  };
  const clientPub = next().toString('utf8');
  const iv = next();
  const encryptedKey = next();
  return { clientPub, iv, encryptedKey, ciphertext: bytes.subarray(offset) };
}

/**
 * Seals `plaintext` for the server: AES-256-CBC (random key and IV, PKCS#7), the AES key
 * RSA-encrypted with the server's public key (PKCS#1 v1.5).
 */
export function sealEnvelope(plaintext: string, clientPub: string, serverPublicKey: KeyObject): string {
  const aesKey = randomBytes(32);
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', aesKey, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const encryptedKey = publicEncrypt({ key: serverPublicKey, padding: constants.RSA_PKCS1_PADDING }, aesKey);
  return encodeEnvelope({ clientPub, iv, encryptedKey, ciphertext });
}

/**
 * Removes PKCS#1 v1.5 type-2 padding (`00 02 PS 00 M`, PS at least 8 non-zero bytes). Node refuses
 * PKCS#1 v1.5 private decryption (CVE-2023-46809), so the raw RSA result is unpadded here.
 */
export function stripPkcs1Type2(block: Buffer): Buffer {
  if (block.length < 11 || block[0] !== 0x00 || block[1] !== 0x02) {
    throw new EnvelopeFormatError('bad RSA padding');
  }
  const separator = block.indexOf(0x00, 2);
  if (separator < 10) throw new EnvelopeFormatError('bad RSA padding');
  return block.subarray(separator + 1);
}

/** Opens an envelope sealed for `privateKey` (an encrypted answer, `cRespEncData`). */
export function openEnvelope(envelope: string, privateKey: KeyObject): { clientPub: string; plaintext: string } {
  const parts = decodeEnvelope(envelope);
  const block = privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, parts.encryptedKey);
  const aesKey = stripPkcs1Type2(block);
  if (aesKey.length !== 32) throw new EnvelopeFormatError('AES key is not 256 bits');
  const decipher = createDecipheriv('aes-256-cbc', aesKey, parts.iv);
  const plaintext = Buffer.concat([decipher.update(parts.ciphertext), decipher.final()]).toString('utf8');
  return { clientPub: parts.clientPub, plaintext };
}
