import { constants, createCipheriv, createDecipheriv, privateDecrypt, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';

/** The envelope could not be opened: wrong layout, wrong server key, bad padding. */
export class BadEnvelopeError extends Error {
  override name = 'BadEnvelopeError';
}

export interface OpenedEnvelope {
  /** The client's public key as the base64 text it sent at the key exchange. */
  clientPub: string;
  iv: Buffer;
  encryptedKey: Buffer;
  ciphertext: Buffer;
}

/**
 * Splits `base64(len, clientPub, len, IV, len, RSA(aesKey), ciphertext)` (big-endian int32 lengths).
 * Cheap: no cryptography, so the client key can be checked before the RSA work.
 */
export function splitEnvelope(envelope: string): OpenedEnvelope {
  const bytes = Buffer.from(envelope, 'base64');
  let offset = 0;
  const take = (what: string): Buffer => {
    if (offset + 4 > bytes.length) throw new BadEnvelopeError(`envelope too short for the ${what} length`);
    const length = bytes.readInt32BE(offset);
    offset += 4;
    if (length <= 0 || offset + length > bytes.length) throw new BadEnvelopeError(`bad ${what} length`);
    const part = bytes.subarray(offset, offset + length);
    offset += length;
    return part;
  };
  const clientPub = take('client key').toString('utf8');
  const iv = take('IV');
  const encryptedKey = take('encrypted key');
  const ciphertext = bytes.subarray(offset);
  if (iv.length !== 16) throw new BadEnvelopeError('IV must be 16 bytes');
  if (ciphertext.length === 0 || ciphertext.length % 16 !== 0) {
    throw new BadEnvelopeError('ciphertext must be a non-empty multiple of 16 bytes');
  }
  return { clientPub, iv, encryptedKey, ciphertext };
}

/**
 * RSA PKCS#1 v1.5 decryption of the AES key. Node refuses v1.5 padding for private decryption
 * (CVE-2023-46809), so decrypt raw and check `00 02 <8+ non-zero bytes> 00 <key>` here.
 */
function decryptAesKey(serverKey: KeyObject, encryptedKey: Buffer): Buffer {
  let block: Buffer;
  try {
    block = privateDecrypt({ key: serverKey, padding: constants.RSA_NO_PADDING }, encryptedKey);
  } catch (err) {
    throw new BadEnvelopeError('RSA decryption failed', { cause: err });
  }
  if (block[0] !== 0x00 || block[1] !== 0x02) throw new BadEnvelopeError('bad RSA padding');
  const separator = block.indexOf(0x00, 2);
  if (separator < 10) throw new BadEnvelopeError('bad RSA padding');
  const aesKey = block.subarray(separator + 1);
  if (aesKey.length !== 32) throw new BadEnvelopeError('AES key must be 32 bytes');
  return aesKey;
}

/** Decrypts the envelope's payload (AES-256-CBC, PKCS#7) to text. */
export function decryptEnvelope(serverKey: KeyObject, parts: OpenedEnvelope): string {
  const aesKey = decryptAesKey(serverKey, parts.encryptedKey);
  try {
    const decipher = createDecipheriv('aes-256-cbc', aesKey, parts.iv);
    return Buffer.concat([decipher.update(parts.ciphertext), decipher.final()]).toString('utf8');
  } catch (err) {
    throw new BadEnvelopeError('AES decryption failed', { cause: err });
  }
}

const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

/**
 * Seals `text` for a client (an encrypted answer, `cRespEncData`): the same layout as `cEncData`,
 * the AES key RSA-encrypted (PKCS#1 v1.5) with the client's public key. `senderPub` goes in the
 * first slot: the simulator puts its own public key there, as a client puts its own in a request.
 */
export function sealEnvelope(text: string, senderPub: string, recipient: KeyObject): string {
  const aesKey = randomBytes(32);
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', aesKey, iv);
  const ciphertext = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
  const encryptedKey = publicEncrypt({ key: recipient, padding: constants.RSA_PKCS1_PADDING }, aesKey);
  const pub = Buffer.from(senderPub, 'utf8');
  return Buffer.concat([int32(pub.length), pub, int32(iv.length), iv, int32(encryptedKey.length), encryptedKey, ciphertext]).toString(
    'base64',
  );
}
