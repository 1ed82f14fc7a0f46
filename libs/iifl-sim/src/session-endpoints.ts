// The session step and the calls made with a session: getusersession, profile, logout.
import { notOk, okResult, sessionNotValid, type Outcome } from './answers.ts';
import { bearerOf, jsonPost, requireString, type Call, type Endpoint, type EndpointDeps } from './endpoint.ts';
import type { LoginState, Session } from './login-state.ts';

type SessionPrepared = { checkSum: string; pending: ReturnType<LoginState['authCodeFor']> };

function getUserSession(deps: EndpointDeps): Endpoint {
  const { state, stats, knobs } = deps;
  return jsonPost({
    name: 'getusersession',
    path: '/v1/getusersession',
    seal: 'shape',
    identify(call) {
      const missing = requireString('checkSum')(call);
      if (missing) return missing;
      const checkSum = call.body['checkSum'] as string;
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
  });
}

/**
 * A call made with a session (no request fields): handle() gets the live session behind the bearer
 * token, or undefined (an expired one answers like a dead one). Rate-limited per bearer.
 */
function withSession(
  deps: EndpointDeps,
  endpoint: Pick<Endpoint, 'name' | 'method' | 'path' | 'body'>,
  handle: (call: Call, session: Session | undefined) => Outcome,
): Endpoint {
  return {
    ...endpoint,
    seal: 'never',
    identify(call) {
      const session = call.bearer !== undefined ? deps.state.session(call.bearer) : undefined;
      if (session) call.clientId = session.clientId;
      call.prepared = session;
      return undefined;
    },
    rateKey: bearerOf,
    handle: (call) => handle(call, call.prepared as Session | undefined),
  };
}

function profile(deps: EndpointDeps): Endpoint {
  return withSession(deps, { name: 'profile', method: 'GET', path: '/v1/profile', body: 'none' }, (_call, session) => {
    if (!session || deps.knobs().profileRefuses.includes(session.clientId)) return sessionNotValid();
    const clientId = session.clientId;
    return okResult({
      clientId,
      clientName: `Simulated client ${clientId}`,
      isTotpEnabled: true,
      accountStatus: 'Active',
      exchanges: ['NSEEQ', 'NSEFO', 'BSEEQ'],
    });
  });
}

function logout(deps: EndpointDeps): Endpoint {
  return withSession(deps, { name: 'logout', method: 'POST', path: '/v1/profile/logout', body: 'json' }, (call, session) => {
    if (!session || call.bearer === undefined) return sessionNotValid();
    deps.state.endSession(call.bearer);
    return okResult({ status: 'Success', message: 'Success' });
  });
}

export function sessionEndpoints(deps: EndpointDeps): Endpoint[] {
  return [getUserSession(deps), profile(deps), logout(deps)];
}
