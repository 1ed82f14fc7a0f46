import { FailureCode } from '@refresher/contracts';
import type { IiflClientConfig } from './config.ts';
import { IiflError, withoutSecrets } from './errors.ts';
import { headlessV1 } from './headless-v1.ts';
import { headlessV2 } from './headless-v2.ts';
import type { HttpTransport } from './http-transport.ts';
import { createNodeHttpTransport } from './node-http-transport.ts';
import { createIiflCaller, type ObservedAnswer } from './iifl-caller.ts';
import { createKeyAssociation } from './key-association.ts';
import { createKeyPairSource } from './key-pairs.ts';
import { opt, sessionStep, type LoginFlow, type LoginFlowContext } from './login-flow.ts';
import { realSleep, type Sleep } from './sleep.ts';
import { tokenValidity } from './token-validity.ts';
import { createTotpStepGuard, type TotpStepGuard } from './totp-step-guard.ts';
import type { AuthCodeExchange, HeadlessFlow, IiflClient, LoginCredentials, LoginResult } from './types.ts';

export interface IiflClientDeps {
  now?: () => Date;
  sleep?: Sleep;
  /** Another HTTP layer (tests); default `node:http` with a keep-alive agent (docs/decisions/http-transport.md). */
  transport?: HttpTransport;
  /** Shared across processes (iifl-auth keeps it in NATS KV); default: one per client, in memory. */
  totpGuard?: TotpStepGuard;
  /** Sees every answer as read (`pnpm iifl-check`); answers hold secrets, so never log them whole. */
  observe?: (answer: ObservedAnswer) => void;
}

/** The client plus what its owner needs: closing its connections, and counters for measurements. */
export interface IiflClientHandle extends IiflClient {
  close(): Promise<void>;
  /** Client key pairs generated so far. */
  keyPairsGenerated(): number;
  /** Hosts that answered as if the key exchange needed time to take effect (see key-association.ts). */
  keyAssociationHosts(): string[];
}

/** The headless variants by name: a third one is one module and one entry here. */
export const HEADLESS_LOGIN_FLOWS: Readonly<Record<HeadlessFlow, LoginFlow>> = {
  'headless-v1': headlessV1,
  'headless-v2': headlessV2,
};

export function createIiflClient(config: IiflClientConfig, deps: IiflClientDeps = {}): IiflClientHandle {
  const now = deps.now ?? (() => new Date());
  const sleep = deps.sleep ?? realSleep;
  const transport = deps.transport ?? createNodeHttpTransport({ timeoutMs: config.timeoutMs });
  const shared: Omit<LoginFlowContext, 'secrets'> = {
    caller: createIiflCaller(transport, deps.observe),
    config,
    keyPairs: createKeyPairSource({ policy: config.keyPairPolicy, maxAgeMs: config.keyPairMaxAgeMs, spares: config.keyPairSpares, now }),
    keyAssociation: createKeyAssociation({ mode: config.keyAssociationWait, delayMs: config.keyAssociationDelayMs, sleep }),
    totpGuard: deps.totpGuard ?? createTotpStepGuard({ now, sleep }),
    sleep,
  };
  const rule = { validUntil: config.tokenValidUntil, timeZone: config.timeZone };
  const result = (token: string): LoginResult => {
    const loginTime = now();
    return { token, loginTime, tokenValidity: tokenValidity(token, loginTime, rule) };
  };

  /** Runs one client call with its own list of secrets, every error scrubbed of them. */
  const guarded = async <T>(secrets: string[], signal: AbortSignal | undefined, run: (context: LoginFlowContext) => Promise<T>): Promise<T> => {
    try {
      return await run({ ...shared, secrets });
    } catch (error) {
      throw withoutSecrets(asIiflError(error, signal), secrets);
    }
  };

  return {
    login(credentials: LoginCredentials, signal?: AbortSignal) {
      const flow = HEADLESS_LOGIN_FLOWS[credentials.flow ?? config.loginFlow];
      const secrets = [credentials.password, credentials.appKey, credentials.appSecret, credentials.totpSecret];
      return guarded(secrets, signal, async (context) => result(await flow(context, credentials, signal)));
    },

    sessionFromAuthCode(input: AuthCodeExchange, signal?: AbortSignal) {
      return guarded([input.authCode, input.appSecret], signal, async (context) => result(await sessionStep(context, input, undefined, signal)));
    },

    checkToken(token, signal) {
      return guarded([token], signal, async ({ caller }) => {
        const clientId = await caller.expect(
          { endpoint: 'profile', method: 'GET', url: `${config.baseUrl}${config.paths.profile}`, bearer: token, ...opt(signal) },
          'clientId',
        );
        return { clientId };
      });
    },

    logout(token, signal) {
      return guarded([token], signal, async ({ caller }) => {
        await caller.send({ endpoint: 'logout', method: 'POST', url: `${config.baseUrl}${config.paths.logout}`, json: {}, bearer: token, ...opt(signal) });
      });
    },

    close: () => {
      shared.keyPairs.close();
      return transport.close();
    },
    keyPairsGenerated: () => shared.keyPairs.generated(),
    keyAssociationHosts: () => shared.keyAssociation.waitingHosts(),
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
