import { constants, generateKeyPairSync, privateDecrypt, publicEncrypt } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  clientPubOf,
  decodeEnvelope,
  encodeEnvelope,
  EnvelopeFormatError,
  openEnvelope,
  publicKeyFromBase64,
  sealEnvelope,
  sessionChecksum,
} from '../src/index.ts';

const server = generateKeyPairSync('rsa', { modulusLength: 2048 });
const client = generateKeyPairSync('rsa', { modulusLength: 2048 });
const clientPub = clientPubOf(client.publicKey);

describe('clientPub', () => {
  it('is base64 SPKI DER without armour or whitespace, and reads back as the same key', () => {
    expect(clientPub).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(clientPub).not.toContain('BEGIN');
    const back = publicKeyFromBase64(clientPub);
    expect(back.equals(client.publicKey)).toBe(true);
  });

  it('tolerates a PEM server key', () => {
    const pem = server.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(publicKeyFromBase64(pem).equals(server.publicKey)).toBe(true);
  });
});

describe('envelope', () => {
  const plaintext = JSON.stringify({ clientId: 'AB123', password: 'pässwörd' });

  it('lays out big-endian int32 lengths: clientPub text, IV (16), RSA(aesKey) (256), then ciphertext', () => {
    const bytes = Buffer.from(sealEnvelope(plaintext, clientPub, server.publicKey), 'base64');
    const pubLength = bytes.readInt32BE(0);
    expect(bytes.subarray(4, 4 + pubLength).toString('utf8')).toBe(clientPub);
    let offset = 4 + pubLength;
    expect(bytes.readInt32BE(offset)).toBe(16);
    offset += 4 + 16;
    expect(bytes.readInt32BE(offset)).toBe(256);
    offset += 4 + 256;
    const ciphertextLength = bytes.length - offset;
    // AES-CBC with PKCS#7: the next multiple of 16 above the plaintext length.
    const plainLength = Buffer.byteLength(plaintext, 'utf8');
    expect(ciphertextLength).toBe(plainLength + (16 - (plainLength % 16)));
  });

  it('encrypts the AES key with PKCS#1 v1.5 for the server key; the server recovers the JSON', () => {
    const parts = decodeEnvelope(sealEnvelope(plaintext, clientPub, server.publicKey));
    // Node refuses PKCS#1 v1.5 private decryption; a raw decryption shows the 00 02 ... 00 layout.
    const block = privateDecrypt({ key: server.privateKey, padding: constants.RSA_NO_PADDING }, parts.encryptedKey);
    expect(block[0]).toBe(0x00);
    expect(block[1]).toBe(0x02);
    expect(block.length - block.indexOf(0x00, 2) - 1).toBe(32);
    const opened = openEnvelope(sealEnvelope(plaintext, clientPub, server.publicKey), server.privateKey);
    expect(opened).toEqual({ clientPub, plaintext });
  });

  it('uses a fresh AES key and IV every time', () => {
    const a = decodeEnvelope(sealEnvelope(plaintext, clientPub, server.publicKey));
    const b = decodeEnvelope(sealEnvelope(plaintext, clientPub, server.publicKey));
    expect(a.iv.equals(b.iv)).toBe(false);
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
  });

  it('opens an answer sealed for the client (cRespEncData layout)', () => {
    const sealed = sealEnvelope('{"result":{"token":"t"}}', clientPubOf(server.publicKey), client.publicKey);
    expect(openEnvelope(sealed, client.privateKey).plaintext).toBe('{"result":{"token":"t"}}');
  });

  it('round-trips the layout and rejects a truncated envelope', () => {
    const parts = { clientPub: 'abc', iv: Buffer.alloc(16, 1), encryptedKey: Buffer.alloc(3, 2), ciphertext: Buffer.alloc(5, 3) };
    expect(decodeEnvelope(encodeEnvelope(parts))).toEqual(parts);
    expect(() => decodeEnvelope(Buffer.from([0, 0, 0, 9, 1]).toString('base64'))).toThrow(EnvelopeFormatError);
  });

  it('rejects a wrongly padded RSA block', () => {
    const raw = Buffer.alloc(256, 7);
    raw[0] = 0;
    const encrypted = publicEncrypt({ key: client.publicKey, padding: constants.RSA_NO_PADDING }, raw);
    const envelope = encodeEnvelope({ clientPub, iv: Buffer.alloc(16), encryptedKey: encrypted, ciphertext: Buffer.alloc(16) });
    expect(() => openEnvelope(envelope, client.privateKey)).toThrow(EnvelopeFormatError);
  });
});

describe('sessionChecksum', () => {
  it('is lower-case hex SHA-256 of userID + authCode + appSecret', () => {
    // echo -n 'AB123authSECRET' | sha256sum
    expect(sessionChecksum('AB123', 'auth', 'SECRET')).toBe('e930c66f6d14bebfb12a412279123ab0769122d72c07961f99f917996bf94692');
  });
});
