// A test-only client for the IIFL login protocol, written from the spec with node:crypto so the
// simulator is checked against the spec rather than against its own code.
import {
  constants,
  createCipheriv,
  createHash,
  createHmac,
  createPublicKey,
  generateKeyPairSync,
  publicEncrypt,
  randomBytes,
} from 'node:crypto';

export interface ClientKey {
  clientPub: string;
}

let sharedKey: ClientKey | undefined;

/** One RSA-2048 client key pair per test process (key generation is the expensive part). */
export function clientKey(): ClientKey {
  sharedKey ??= freshClientKey(2048);
  return sharedKey;
}

/** Another client key; 1024 bits keeps tests quick (the simulator accepts any RSA SPKI key). */
export function freshClientKey(bits = 1024): ClientKey {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return { clientPub: publicKey.export({ type: 'spki', format: 'der' }).toString('base64') };
}

const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

/** The `cEncData` envelope: len, clientPub, len, IV, len, RSA(aesKey), AES-256-CBC(text). */
export function envelope(clientPub: string, serverPubDerB64: string, text: string): string {
  const aesKey = randomBytes(32);
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', aesKey, iv);
  const ciphertext = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
  const encryptedKey = publicEncrypt(
    {
      key: createPublicKey({ key: Buffer.from(serverPubDerB64, 'base64'), format: 'der', type: 'spki' }),
      padding: constants.RSA_PKCS1_PADDING,
    },
    aesKey,
  );
  const pub = Buffer.from(clientPub, 'utf8');
  return Buffer.concat([int32(pub.length), pub, int32(iv.length), iv, int32(encryptedKey.length), encryptedKey, ciphertext]).toString('base64');
}

export const checksum = (clientId: string, authCode: string, appSecret: string): string =>
  createHash('sha256').update(`${clientId}${authCode}${appSecret}`).digest('hex');

function base32(secret: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of secret.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  const bytes: number[] = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** RFC 6238: HMAC-SHA1, 6 digits, 30-second step. */
export function totp(secret: string, timeMs: number, stepOffset = 0): string {
  const counter = Math.floor(timeMs / 30_000) + stepOffset;
  const msg = Buffer.alloc(8);
  msg.writeUInt32BE(Math.floor(counter / 2 ** 32), 0);
  msg.writeUInt32BE(counter >>> 0, 4);
  const h = createHmac('sha1', base32(secret)).update(msg).digest();
  const o = h[19]! & 0xf;
  const code = (((h[o]! & 0x7f) << 24) | (h[o + 1]! << 16) | (h[o + 2]! << 8) | h[o + 3]!) % 1_000_000;
  return String(code).padStart(6, '0');
}

export interface Reply {
  status: number;
  body: Record<string, any>;
}

export async function call(
  baseUrl: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<Reply> {
  const init: RequestInit = { method, headers: { 'content-type': 'application/json', ...headers } };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  if (signal) init.signal = signal;
  const res = await fetch(`${baseUrl}${path}`, init);
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, any>) };
}

export interface LoginAccount {
  clientId: string;
  password: string;
  appKey: string;
  appSecret: string;
  totpSecret: string;
}

/** The five steps, each reply kept, stopping at the first failure. */
export async function login(
  baseUrl: string,
  account: LoginAccount,
  timeMs: number,
  options: { clientPub?: string; totp?: string } = {},
): Promise<{ ok: boolean; failedAt?: string; reply: Reply; userSession?: string; authCode?: string }> {
  const clientPub = options.clientPub ?? clientKey().clientPub;
  const enc = await call(baseUrl, 'POST', '/get/enckey', { ceData: clientPub });
  if (enc.body['status'] !== 'Ok') return { ok: false, failedAt: 'enckey', reply: enc };
  const serverPub = enc.body['cPubKey'] as string;
  const pw = await call(baseUrl, 'POST', '/validatepassword', {
    cEncData: envelope(clientPub, serverPub, JSON.stringify({ clientId: account.clientId, password: account.password })),
  });
  if (pw.body['status'] !== 'Ok') return { ok: false, failedAt: 'validatepassword', reply: pw };
  const token = pw.body['result'].token as string;
  const tt = await call(
    baseUrl,
    'POST',
    '/validatetotp',
    { clientId: account.clientId, totp: options.totp ?? totp(account.totpSecret, timeMs), appKey: account.appKey },
    { authorization: `Bearer ${token}` },
  );
  if (tt.body['status'] !== 'Ok') return { ok: false, failedAt: 'validatetotp', reply: tt };
  const authCode = tt.body['result'].authCode as string;
  const us = await call(baseUrl, 'POST', '/getusersession', { checkSum: checksum(account.clientId, authCode, account.appSecret) });
  if (us.body['status'] !== 'Ok') return { ok: false, failedAt: 'getusersession', reply: us, authCode };
  return { ok: true, reply: us, userSession: us.body['userSession'] as string, authCode };
}
