import { FailureCode } from '@refresher/contracts';
import type { KeyObject } from 'node:crypto';
import { sessionChecksum } from './checksum.ts';
import type { IiflPaths, LoginFlowName } from './config.ts';
import { publicKeyFromBase64, sealEnvelope } from './envelope.ts';
import { IiflEndpoint, IiflError } from './errors.ts';
import type { IiflCaller } from './iifl-caller.ts';
import type { KeyPairSource } from './key-pairs.ts';
import { sleepWithSignal, type Sleep } from './sleep.ts';
import { totpCode } from './totp.ts';
import type { TotpStepGuard } from './totp-step-guard.ts';
import type { LoginCredentials } from './types.ts';

export interface LoginFlowContext {
  caller: IiflCaller;
  paths: IiflPaths;
  keyPairs: KeyPairSource;
  totpGuard: TotpStepGuard;
  sleep: Sleep;
  keyAssociationDelayMs: number;
  /** Every value that must not appear in an error: the flow adds what it learns on the way. */
  secrets: string[];
}

/** One way of turning credentials into a session token (`userSession`). */
export type LoginFlow = (
  context: LoginFlowContext,
  credentials: LoginCredentials,
  signal?: AbortSignal,
) => Promise<string>;

/**
 * The flow the existing system uses (spec, "The headless login"): key exchange, password in an
 * envelope, TOTP with the login token, session from the checksum.
 */
export const enckeyLoginFlow: LoginFlow = async (context, credentials, signal) => {
  const { caller, paths, secrets } = context;
  const { userID } = credentials;
  const lease = await context.keyPairs.acquire();
  let reusable = true;
  try {
    const { clientPub, privateKey } = lease.pair;

    const serverKeyText = await caller.expect(
      { endpoint: IiflEndpoint.EncKey, method: 'POST', path: paths.encKey, json: { ceData: clientPub }, privateKey, ...opt(signal) },
      'serverKey',
    );
    const serverKey = readServerKey(serverKeyText);

    if (context.keyAssociationDelayMs > 0) await sleepWithSignal(context.sleep, context.keyAssociationDelayMs, signal);

    const cEncData = sealEnvelope(JSON.stringify({ clientId: userID, password: credentials.password }), clientPub, serverKey);
    const loginToken = await caller.expect(
      { endpoint: IiflEndpoint.ValidatePassword, method: 'POST', path: paths.validatePassword, json: { cEncData }, privateKey, ...opt(signal) },
      'loginToken',
    );
    secrets.push(loginToken);

    const totpAt = await context.totpGuard.claim(userID, signal);
    const totp = totpCode(credentials.totpSecret, totpAt);
    secrets.push(totp);
    const authCode = await caller.expect(
      {
        endpoint: IiflEndpoint.ValidateTotp,
        method: 'POST',
        path: paths.validateTotp,
        json: { clientId: userID, totp, appKey: credentials.appKey },
        bearer: loginToken,
        privateKey,
        ...opt(signal),
      },
      'authCode',
    );
    secrets.push(authCode);

    const checkSum = sessionChecksum(userID, authCode, credentials.appSecret);
    secrets.push(checkSum);
    const session = await caller.expect(
      { endpoint: IiflEndpoint.UserSession, method: 'POST', path: paths.userSession, json: { checkSum }, privateKey, ...opt(signal) },
      'userSession',
    );
    secrets.push(session);
    return session;
  } catch (error) {
    // A rejected key exchange is retried with a fresh pair, never with this one.
    if (error instanceof IiflError && error.code === FailureCode.EncryptionKeyRejected) reusable = false;
    throw error;
  } finally {
    lease.release(reusable);
  }
};

function readServerKey(text: string): KeyObject {
  try {
    return publicKeyFromBase64(text);
  } catch (error) {
    throw new IiflError(`IIFL ${IiflEndpoint.EncKey}: server key is not an RSA public key (${FailureCode.UnexpectedResponse})`, {
      code: FailureCode.UnexpectedResponse,
      endpoint: IiflEndpoint.EncKey,
      cause: error,
    });
  }
}

function opt(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal === undefined ? {} : { signal };
}

/** Login flows by name (IIFL_LOGIN_FLOW): a second variant is one more module and entry here. */
export const LOGIN_FLOWS: Readonly<Record<LoginFlowName, LoginFlow>> = {
  enckey: enckeyLoginFlow,
};
