// The session step and the calls made with a session: getusersession, profile, logout.
import { badRequest, notOk, plain, sessionNotValid, type Outcome } from './answers.ts';
import { bearerOf, clientOrRemote, type Call, type Endpoint, type EndpointDeps } from './endpoint.ts';
import type { LoginState, Session } from './login-state.ts';

const OK = { status: 'Ok', message: 'Success' } as const;

type SessionPrepared = { checkSum: string; pending: ReturnType<LoginState['authCodeFor']> };

function getUserSession(deps: EndpointDeps): Endpoint {
  const { state, stats, knobs } = deps;
  return {
    name: 'getusersession',
    method: 'POST',
    path: '/v1/getusersession',
    body: 'json',
    seal: 'shape',
    identify(call) {
      const checkSum = call.body['checkSum'];
      if (typeof checkSum !== 'string') return badRequest('checkSum (string) is required');
      const pending = state.authCodeFor(checkSum);
      if (pending && pending !== 'expired') {
        call.clientId = pending.clientId;
        call.clientPub = pending.clientPub;
        call.endLogin = () => {
          state.consumeAuthCode(checkSum);
          state.endLogin(pending.clientId, pending.loginId);
        };
      }
      const prepared: SessionPrepared = { checkSum, pending };
      call.prepared = prepared;
      return undefined;
    },
    rateKey: clientOrRemote,
    handle(call): Outcome {
      const { checkSum, pending } = call.prepared as SessionPrepared;
      if (pending === 'expired') return notOk(200, 'authCode expired');
      if (!pending) return notOk(200, 'Invalid checksum or authCode');
      state.consumeAuthCode(checkSum);
      state.endLogin(pending.clientId, pending.loginId);
      const userSession = state.issueSession(pending.clientId, knobs().sessionExp);
      stats.counters.sessionsIssued++;
      stats.client(pending.clientId).sessionsIssued++;
      return { kind: 'session', userSession };
    },
  };
}

/** Finds the live session behind the bearer token (an expired one answers like a dead one). */
function identifySession(deps: EndpointDeps, call: Call): undefined {
  const session = call.bearer !== undefined ? deps.state.session(call.bearer) : undefined;
  if (session) call.clientId = session.clientId;
  call.prepared = session;
  return undefined;
}

function profile(deps: EndpointDeps): Endpoint {
  return {
    name: 'profile',
    method: 'GET',
    path: '/v1/profile',
    body: 'none',
    seal: 'never',
    identify: (call) => identifySession(deps, call),
    rateKey: bearerOf,
    handle(call) {
      const session = call.prepared as Session | undefined;
      if (!session) return sessionNotValid();
      const clientId = session.clientId;
      return plain({
        ...OK,
        result: {
          clientId,
          clientName: `Simulated client ${clientId}`,
          isTotpEnabled: true,
          accountStatus: 'Active',
          exchanges: ['NSEEQ', 'NSEFO', 'BSEEQ'],
        },
      });
    },
  };
}

function logout(deps: EndpointDeps): Endpoint {
  return {
    name: 'logout',
    method: 'POST',
    path: '/v1/profile/logout',
    body: 'json',
    seal: 'never',
    identify: (call) => identifySession(deps, call),
    rateKey: bearerOf,
    handle(call) {
      if (!call.prepared || call.bearer === undefined) return sessionNotValid();
      deps.state.endSession(call.bearer);
      return plain({ ...OK, result: { status: 'Success', message: 'Success' } });
    },
  };
}

export function sessionEndpoints(deps: EndpointDeps): Endpoint[] {
  return [getUserSession(deps), profile(deps), logout(deps)];
}
