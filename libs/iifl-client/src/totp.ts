import { authenticator } from 'otplib';
import { HashAlgorithms } from 'otplib/core.js';

export const TOTP_STEP_SECONDS = 30;
export const TOTP_DIGITS = 6;

/** RFC 6238 code at `at`: HMAC-SHA1, 6 digits, 30 s step, from a base32 secret. */
export function totpCode(base32Secret: string, at: Date): string {
  return authenticator
    .clone({
      algorithm: HashAlgorithms.SHA1,
      digits: TOTP_DIGITS,
      step: TOTP_STEP_SECONDS,
      epoch: at.getTime(),
    })
    .generate(base32Secret.replace(/\s+/g, '').toUpperCase());
}

/** The RFC 6238 time-step counter for an instant. */
export function totpStep(at: Date, stepSeconds = TOTP_STEP_SECONDS): number {
  return Math.floor(at.getTime() / (stepSeconds * 1000));
}
