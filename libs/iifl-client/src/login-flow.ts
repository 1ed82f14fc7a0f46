import { FailureCode } from '@refresher/contracts';
import type { KeyObject } from 'node:crypto';
import { sessionChecksum } from './checksum.ts';
import type { IiflClientConfig } from './config.ts';
import { INVALID_TOTP_CODE } from './broker-codes.ts';
import { publicKeyFromBase64 } from './envelope.ts';
import { IiflError, type IiflEndpoint } from './errors.ts';
import type { IiflCaller } from './iifl-caller.ts';
import type { KeyAssociation } from './key-association.ts';
import type { KeyPairSource } from './key-pairs.ts';
import { checkNewSession } from './session-check.ts';
import type { Sleep } from './sleep.ts';
import { totpCode } from './totp.ts';
import type { TotpStepGuard } from './totp-step-guard.ts';
import type { LoginCredentials } from './types.ts';

export interface LoginFlowContext {
  caller: IiflCaller;
  config: IiflClientConfig;
  keyPairs: KeyPairSource;
  keyAssociation: KeyAssociation;
  totpGuard: TotpStepGuard;
  sleep: Sleep;
  /** Every value that must not appear in an error: the flow adds what it learns on the way. */
  secrets: string[];
}

/** One way of turning credentials into a session token (`userSession`). */
export type LoginFlow = (context: LoginFlowContext, credentials: LoginCredentials, signal?: AbortSignal) => Promise<string>;

export function opt(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal === undefined ? {} : { signal };
}

/** The key exchange: the server's public key for `clientPub`. */
export async function exchangeKey(
  context: LoginFlowContext,
  call: { endpoint: IiflEndpoint; url: string; clientPub: string; privateKey: KeyObject },
  signal?: AbortSignal,
): Promise<KeyObject> {
  const text = await context.caller.expect(
    {
      endpoint: call.endpoint,
      method: 'POST',
      url: call.url,
      json: { ceData: call.clientPub },
      privateKey: call.privateKey,
      ...opt(signal),
    },
    'serverKey',
  );
  try {
    return publicKeyFromBase64(text);
  } catch (error) {
    throw new IiflError(`IIFL ${call.endpoint}: server key is not an RSA public key (${FailureCode.UnexpectedResponse})`, {
      code: FailureCode.UnexpectedResponse,
      endpoint: call.endpoint,
      cause: error,
    });
  }
}

/**
 * The TOTP step with IIFL's one allowance (spec, the code table): after EC036 (invalid T-OTP) the
 * code of the next 30 s step is sent once more, with the same login token; whatever that second try
 * meets, the login ends there as BAD_TOTP, never retried, so no password is resent for it.
 */
export async function totpStep<T>(
  context: LoginFlowContext,
  credentials: Pick<LoginCredentials, 'userID' | 'totpSecret'>,
  send: (totp: string) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const nextCode = async () => {
    // The guard never hands out a step this user has used: the second code is of a later step.
    const totp = totpCode(credentials.totpSecret, await context.totpGuard.claim(credentials.userID, signal));
    context.secrets.push(totp);
    return totp;
  };
  try {
    return await send(await nextCode());
  } catch (first) {
    if (!(first instanceof IiflError) || first.brokerCode !== INVALID_TOTP_CODE) throw first;
    try {
      return await send(await nextCode());
    } catch (second) {
      if (second instanceof IiflError && second.code === FailureCode.BadTotp) throw second;
      const why = second instanceof IiflError ? second.message : 'no answer';
      throw new IiflError(`${first.message}; the next step's code met: ${why}`, {
        code: FailureCode.BadTotp,
        brokerCode: first.brokerCode,
        endpoint: first.endpoint,
        httpStatus: first.httpStatus,
        cause: second,
      });
    }
  }
}

/**
 * The last step of every flow (the headless ones and the redirect's authCode): `getusersession`
 * with `sha256_hex(userID + authCode + appSecret)`, then the new token used once (`profile`, see
 * session-check.ts): only a token that answers for this client is a login.
 */
export async function sessionStep(
  context: LoginFlowContext,
  input: { userID: string; authCode: string; appSecret: string },
  privateKey: KeyObject | undefined,
  signal?: AbortSignal,
): Promise<string> {
  const checkSum = sessionChecksum(input.userID, input.authCode, input.appSecret);
  context.secrets.push(checkSum);
  const session = await context.caller.expect(
    {
      endpoint: 'getusersession',
      method: 'POST',
      url: `${context.config.baseUrl}${context.config.paths.userSession}`,
      json: { checkSum },
      ...(privateKey ? { privateKey } : {}),
      ...opt(signal),
    },
    'userSession',
  );
  context.secrets.push(session);
  await checkNewSession(context, { userID: input.userID, session }, privateKey, signal);
  return session;
}

/**
 * Runs a flow with a key pair from the source. A pair IIFL refused is given back as not reusable,
 * so the next login exchanges a fresh one.
 */
export async function withKeyPair<T>(
  context: LoginFlowContext,
  use: (pair: { clientPub: string; privateKey: KeyObject }) => Promise<T>,
): Promise<T> {
  const lease = await context.keyPairs.acquire();
  let reusable = true;
  try {
    return await use(lease.pair);
  } catch (error) {
    if (error instanceof IiflError && error.code === FailureCode.EncryptionKeyRejected) reusable = false;
    throw error;
  } finally {
    lease.release(reusable);
  }
}
