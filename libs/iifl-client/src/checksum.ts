import { createHash } from 'node:crypto';

/** `sha256_hex(userID + authCode + appSecret)`: plain concatenation, lower-case hex. */
export function sessionChecksum(userID: string, authCode: string, appSecret: string): string {
  return createHash('sha256').update(`${userID}${authCode}${appSecret}`, 'utf8').digest('hex');
}
