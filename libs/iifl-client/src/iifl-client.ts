import { FailureCode } from '@refresher/contracts';
import type { IiflClientConfig } from './config.ts';
import { IiflEndpoint, IiflError, withoutSecrets } from './errors.ts';
import type { HttpTransport } from './http-transport.ts';
import { createHttpTransport } from './transports.ts';
import { createIiflCaller } from './iifl-caller.ts';
import { createKeyPairSource, type KeyPairSource } from './key-pairs.ts';
import { LOGIN_FLOWS } from './login-flow.ts';
import { realSleep, type Sleep } from './sleep.ts';
import { tokenValidity } from './token-validity.ts';
import { createTotpStepGuard, type TotpStepGuard } from './totp-step-guard.ts';
import type { IiflClient, LoginCredentials, LoginResult } from './types.ts';

export interface IiflClientDeps {
  now?: () => Date;
  sleep?: Sleep;
  /** Another HTTP layer (for measurements); default the one config.httpTransport names. */
  transport?: HttpTransport;
  /** Shared across processes (iifl-auth keeps it in NATS KV); default: one per client, in memory. */
  totpGuard?: TotpStepGuard;
}

/** The client plus what its owner needs: closing its connections, and counters for measurements. */
export interface IiflClientHandle extends IiflClient {
  close(): Promise<void>;
  /** Client key pairs generated so far. */
  keyPairsGenerated(): number;
}

export function createIiflClient(config: IiflClientConfig, deps: IiflClientDeps = {}): IiflClientHandle {
  const now = deps.now ?? (() => new Date());
  const sleep = deps.sleep ?? realSleep;
  const transport = deps.transport ?? createHttpTransport(config.httpTransport, { timeoutMs: config.timeoutMs });
  const caller = createIiflCaller(transport, config.baseUrl);
  const keyPairs: KeyPairSource = createKeyPairSource({ maxAgeMs: config.keyPairMaxAgeMs, spares: config.keyPairSpares, now });
  const totpGuard: TotpStepGuard = deps.totpGuard ?? createTotpStepGuard({ now, sleep });
  const flow = LOGIN_FLOWS[config.loginFlow];

  return {
    async login(credentials: LoginCredentials, signal?: AbortSignal): Promise<LoginResult> {
      const secrets = [credentials.password, credentials.appKey, credentials.appSecret, credentials.totpSecret];
      try {
        const token = await flow(
          { caller, paths: config.paths, keyPairs, totpGuard, sleep, keyAssociationDelayMs: config.keyAssociationDelayMs, secrets },
          credentials,
          signal,
        );
        const loginTime = now();
        return { token, loginTime, tokenValidity: tokenValidity(token, loginTime, config.tokenValidityHours) };
      } catch (error) {
        throw withoutSecrets(asIiflError(error, signal), secrets);
      }
    },

    async checkToken(token, signal) {
      try {
        const clientId = await caller.expect(
          { endpoint: IiflEndpoint.Profile, method: 'GET', path: config.paths.profile, bearer: token, withSession: true, ...opt(signal) },
          'clientId',
        );
        return { clientId };
      } catch (error) {
        throw withoutSecrets(asIiflError(error, signal), [token]);
      }
    },

    async logout(token, signal) {
      try {
        await caller.send({ endpoint: IiflEndpoint.Logout, method: 'POST', path: config.paths.logout, json: {}, bearer: token, withSession: true, ...opt(signal) });
      } catch (error) {
        throw withoutSecrets(asIiflError(error, signal), [token]);
      }
    },

    close: () => {
      keyPairs.close();
      return transport.close();
    },
    keyPairsGenerated: () => keyPairs.generated(),
  };
}

/** Anything thrown inside a call, as the client's error type. */
function asIiflError(error: unknown, signal: AbortSignal | undefined): IiflError {
  if (error instanceof IiflError) return error;
  if (signal?.aborted) {
    return new IiflError(`IIFL login: aborted by the caller (${FailureCode.Timeout})`, { code: FailureCode.Timeout, cause: error });
  }
  return new IiflError(`IIFL client: internal error (${FailureCode.Internal})`, { code: FailureCode.Internal, cause: error });
}

function opt(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal === undefined ? {} : { signal };
}
