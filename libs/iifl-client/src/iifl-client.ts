import { FailureCode } from '@refresher/contracts';
import type { IiflClientConfig } from './config.ts';
import { IiflError, withoutSecrets } from './errors.ts';
import { headlessV1 } from './headless-v1.ts';
import { headlessV2 } from './headless-v2.ts';
import type { Egress } from './egress.ts';
import { withEgress, type HttpTransport } from './http-transport.ts';
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

/** What every client call shares: the flows' context (without the call's own secrets), the clock and the config. */
interface ClientParts {
  shared: Omit<LoginFlowContext, 'secrets'>;
  config: IiflClientConfig;
  now: () => Date;
  transport: HttpTransport;
  observe: ((answer: ObservedAnswer) => void) | undefined;
}

function clientParts(config: IiflClientConfig, deps: IiflClientDeps): ClientParts {
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
  return { shared, config, now, transport, observe: deps.observe };
}

/** Runs one client call with its own list of secrets (and its egress), every error scrubbed of them. */
async function guarded<T>(
  parts: ClientParts,
  call: { secrets: string[]; signal: AbortSignal | undefined; egress?: Egress | undefined },
  run: (context: LoginFlowContext) => Promise<T>,
): Promise<T> {
  const { secrets, signal, egress } = call;
  const caller = egress === undefined ? parts.shared.caller : createIiflCaller(withEgress(parts.transport, egress), parts.observe);
  try {
    return await run({ ...parts.shared, caller, secrets });
  } catch (error) {
    throw withoutSecrets(asIiflError(error, signal), secrets);
  }
}

/** A session token as a login result: its validity from the token, or the end of the trading day. */
function loginResult(parts: ClientParts, token: string): LoginResult {
  const loginTime = parts.now();
  const rule = { validUntil: parts.config.tokenValidUntil, timeZone: parts.config.timeZone };
  return { token, loginTime, tokenValidity: tokenValidity(token, loginTime, rule) };
}

export function createIiflClient(config: IiflClientConfig, deps: IiflClientDeps = {}): IiflClientHandle {
  const parts = clientParts(config, deps);
  const { shared } = parts;
  const url = (path: string) => `${config.baseUrl}${path}`;

  return {
    login(credentials: LoginCredentials, signal?: AbortSignal) {
      const flow = HEADLESS_LOGIN_FLOWS[credentials.flow ?? config.loginFlow];
      const secrets = [credentials.password, credentials.appKey, credentials.appSecret, credentials.totpSecret];
      return guarded(parts, { secrets, signal, egress: credentials.egress }, async (context) =>
        loginResult(parts, await flow(context, credentials, signal)),
      );
    },

    sessionFromAuthCode(input: AuthCodeExchange, signal?: AbortSignal) {
      return guarded(parts, { secrets: [input.authCode, input.appSecret], signal, egress: input.egress }, async (context) =>
        loginResult(parts, await sessionStep(context, input, undefined, signal)),
      );
    },

    checkToken(token, signal, egress) {
      return guarded(parts, { secrets: [token], signal, egress }, async ({ caller }) => {
        const call = { endpoint: 'profile', method: 'GET', url: url(config.paths.profile), bearer: token, ...opt(signal) } as const;
        return { clientId: await caller.expect(call, 'clientId') };
      });
    },

    logout(token, signal, egress) {
      return guarded(parts, { secrets: [token], signal, egress }, async ({ caller }) => {
        await caller.send({ endpoint: 'logout', method: 'POST', url: url(config.paths.logout), json: {}, bearer: token, ...opt(signal) });
      });
    },

    close: () => {
      shared.keyPairs.close();
      return parts.transport.close();
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
