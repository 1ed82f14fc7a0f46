// A test-only client for the IIFL login protocol, written from the spec with node:crypto so the
// simulator is checked against the spec rather than against its own code.
import {
  constants,
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPublicKey,
  generateKeyPairSync,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto';

export interface ClientKey {
  clientPub: string;
  privateKey: KeyObject;
}

let sharedKey: ClientKey | undefined;

/** One RSA-2048 client key pair per test process (key generation is the expensive part). */
export function clientKey(): ClientKey {
  sharedKey ??= freshClientKey(2048);
  return sharedKey;
}

/** Another client key; 1024 bits keeps tests quick (the simulator accepts any RSA SPKI key). */
export function freshClientKey(bits = 1024): ClientKey {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return { clientPub: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'), privateKey };
}

/**
 * Opens a `cRespEncData` envelope with the client's private key: the spec's layout, the AES key
 * under PKCS#1 v1.5 (decrypted raw, the padding checked here: Node refuses v1.5 private decryption).
 */
export function openResponse(envelopeText: string, privateKey: KeyObject): { senderPub: string; text: string } {
  const bytes = Buffer.from(envelopeText, 'base64');
  let offset = 0;
  const take = (): Buffer => {
    const length = bytes.readInt32BE(offset);
    const part = bytes.subarray(offset + 4, offset + 4 + length);
    offset += 4 + length;
    return part;
  };
  const senderPub = take().toString('utf8');
  const iv = take();
  const block = privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, take());
  if (block[0] !== 0 || block[1] !== 2) throw new Error('bad RSA padding');
  const aesKey = block.subarray(block.indexOf(0, 2) + 1);
  const decipher = createDecipheriv('aes-256-cbc', aesKey, iv);
  const text = Buffer.concat([decipher.update(bytes.subarray(offset)), decipher.final()]).toString('utf8');
  return { senderPub, text };
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
  return Buffer.concat([int32(pub.length), pub, int32(iv.length), iv, int32(encryptedKey.length), encryptedKey, ciphertext]).toString(
    'base64',
  );
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
  /** The JSON body ({} when empty or not JSON). */
  body: Record<string, any>;
  text: string;
  headers: Headers;
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
  let json: Record<string, any> = {};
  try {
    if (text !== '') json = JSON.parse(text) as Record<string, any>;
  } catch {
    json = {};
  }
  return { status: res.status, body: json, text, headers: res.headers };
}

const EC = /^EC\d{3}$/;

/** The answer with any `cRespEncData` opened (with the given private key). */
export function opened(reply: Reply, privateKey: KeyObject = clientKey().privateKey): Record<string, any> {
  const sealed = reply.body['cRespEncData'];
  return typeof sealed === 'string' ? (JSON.parse(openResponse(sealed, privateKey).text) as Record<string, any>) : reply.body;
}

/** The IIFL code of an answer in any shape: in `status`, or in `result[0].status`. */
export function codeOf(body: Record<string, any>): string | undefined {
  if (typeof body['status'] === 'string' && EC.test(body['status'])) return body['status'];
  const first = Array.isArray(body['result']) ? body['result'][0] : undefined;
  return typeof first?.status === 'string' && EC.test(first.status) ? first.status : undefined;
}

/** A field of a step's answer in any shape: top level, `result.x` or `result[0].x`. */
export function fieldOf(body: Record<string, any>, name: string): string | undefined {
  const result = body['result'];
  const value = body[name] ?? (Array.isArray(result) ? result[0]?.[name] : result?.[name]);
  return typeof value === 'string' ? value : undefined;
}

export interface LoginAccount {
  clientId: string;
  password: string;
  appKey: string;
  appSecret: string;
  totpSecret: string;
}

export interface LoginResult {
  ok: boolean;
  failedAt?: string;
  reply: Reply;
  /** The last answer, opened. */
  body: Record<string, any>;
  userSession?: string;
  authCode?: string;
}

/** One step: the reply, its opened body, and the wanted field when the answer is good. */
async function stepOf(request: Promise<Reply>, field: string, key: ClientKey) {
  const reply = await request;
  const body = opened(reply, key.privateKey);
  const value = codeOf(body) === undefined && body['status'] !== 'Not_Ok' ? fieldOf(body, field) : undefined;
  return { reply, body, value };
}

/** The five v1 steps in any answer shape, stopping at the first failure. */
export async function login(
  baseUrl: string,
  account: LoginAccount,
  timeMs: number,
  options: { key?: ClientKey; totp?: string } = {},
): Promise<LoginResult> {
  const key = options.key ?? clientKey();
  const enc = await stepOf(call(baseUrl, 'POST', '/get/enckey', { ceData: key.clientPub }), 'cPubKey', key);
  const serverPub = enc.value ?? fieldOf(enc.body, 'seData');
  if (serverPub === undefined) return { ok: false, failedAt: 'enckey', ...enc };
  const text = JSON.stringify({ clientId: account.clientId, password: account.password });
  const pw = await stepOf(call(baseUrl, 'POST', '/validatepassword', { cEncData: envelope(key.clientPub, serverPub, text) }), 'token', key);
  if (pw.value === undefined) return { ok: false, failedAt: 'validatepassword', ...pw };
  const totpBody = { clientId: account.clientId, totp: options.totp ?? totp(account.totpSecret, timeMs), appKey: account.appKey };
  const tt = await stepOf(call(baseUrl, 'POST', '/validatetotp', totpBody, { authorization: `Bearer ${pw.value}` }), 'authCode', key);
  if (tt.value === undefined) return { ok: false, failedAt: 'validatetotp', ...tt };
  const sum = checksum(account.clientId, tt.value, account.appSecret);
  const us = await stepOf(call(baseUrl, 'POST', '/getusersession', { checkSum: sum }), 'userSession', key);
  if (us.value === undefined) return { ok: false, failedAt: 'getusersession', ...us, authCode: tt.value };
  return { ok: true, ...us, userSession: us.value, authCode: tt.value };
}

/** The second headless variant: vendor details, v2 key exchange, password, TOTP, authorize, session. */
export async function loginV2(
  urls: { baseUrl: string; idaasUrl: string },
  account: LoginAccount,
  timeMs: number,
  options: { key?: ClientKey; totp?: string } = {},
): Promise<LoginResult> {
  const key = options.key ?? clientKey();
  const details = await stepOf(call(urls.baseUrl, 'POST', '/sso/vendor/details', { vendor: account.appKey }), 'vendor', key);
  if (details.value === undefined) return { ok: false, failedAt: 'vendor-details', ...details };
  const enc = await stepOf(call(urls.idaasUrl, 'POST', '/get/encKey', { ceData: key.clientPub }), 'cPubKey', key);
  if (enc.value === undefined) return { ok: false, failedAt: 'v2-enckey', ...enc };
  const device = { deviceId: 'test-device', appName: 'IIFLMARKETSWEB', osName: 'WEBINTERNAL' };
  const pwText = JSON.stringify({ userId: account.clientId, password: account.password, ...device, versionNo: 'A.0.0.1' });
  const pw = await stepOf(
    call(urls.idaasUrl, 'POST', '/pwd/validate', { cEncData: envelope(key.clientPub, enc.value, pwText) }),
    'token',
    key,
  );
  if (pw.value === undefined) return { ok: false, failedAt: 'v2-password', ...pw };
  const code = options.totp ?? totp(account.totpSecret, timeMs);
  const tText = JSON.stringify({ userId: account.clientId, totp: code, ...device });
  const tt = await stepOf(
    call(
      urls.idaasUrl,
      'POST',
      '/topt/verify',
      { cEncData: envelope(key.clientPub, enc.value, tText) },
      { authorization: `Bearer ${pw.value}` },
    ),
    'accessToken',
    key,
  );
  if (tt.value === undefined) return { ok: false, failedAt: 'v2-totp', ...tt };
  const authBody = { userId: account.clientId, vendor: account.appKey };
  const au = await stepOf(
    call(urls.baseUrl, 'POST', '/sso/vendor/authorize', authBody, { authorization: `Bearer ${tt.value}` }),
    'authCode',
    key,
  );
  if (au.value === undefined) return { ok: false, failedAt: 'vendor-authorize', ...au };
  const sum = checksum(account.clientId, au.value, account.appSecret);
  const us = await stepOf(call(urls.baseUrl, 'POST', '/getusersession', { checkSum: sum }), 'userSession', key);
  if (us.value === undefined) return { ok: false, failedAt: 'getusersession', ...us, authCode: au.value };
  return { ok: true, ...us, userSession: us.value, authCode: au.value };
}
