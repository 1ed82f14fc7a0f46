// One API call from request to answer: latency, outage, body, who the call is about, the password
// gate, hang, errorRate, inject, rate limit, then the endpoint's own rules.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { coded, failureKey, httpStatusOf, notOk, type Outcome } from './answers.ts';
import type { Call, Endpoint, EndpointDeps } from './endpoint.ts';
import { BodyTooLargeError, bearerToken, parseForm, parseJsonObject, readBody, send } from './http-io.ts';
import { asPage } from './login-page.ts';
import type { RateLimiter } from './rate-limiter.ts';
import { render } from './shapes.ts';
import type { InjectedFault } from './types.ts';

const SERVER_ERRORS = [500, 502, 503] as const;
/** The `passwordForbidden` answer: a bare 403, no IIFL body. */
const FORBIDDEN: Outcome = { kind: 'bare', httpStatus: 403, text: 'Forbidden' };

export interface PipelineDeps extends EndpointDeps {
  endpoints: Endpoint[];
  limiter: RateLimiter;
  /** Takes (and counts down) the first injected fault for the endpoint and client. */
  takeFault(endpoint: string, clientId: string | undefined): InjectedFault | undefined;
  delay(ms: number): Promise<void>;
  hold(res: ServerResponse): void;
  closed(): boolean;
}

function faultOutcome(fault: InjectedFault): Outcome {
  if (fault.code !== undefined) return coded(fault.code, fault.message, fault.httpStatus ?? 200);
  return notOk(fault.httpStatus ?? 500, fault.message);
}

/** Counts the answer, lays it out (a page, or JSON in the current shape, sealed when due) and sends it. */
function answer(deps: PipelineDeps, res: ServerResponse, endpoint: Endpoint | undefined, call: Call | undefined, outcome: Outcome): void {
  if (deps.closed()) return;
  const shown = endpoint?.page ? asPage(outcome) : outcome;
  deps.stats.response(httpStatusOf(shown));
  const key = failureKey(shown);
  if (key !== undefined) deps.stats.failure(key, call?.clientId);
  const policy = endpoint?.seal ?? 'never';
  const shape = deps.knobs().answerShape;
  // The client key is parsed (once per key) only when the answer may be sealed.
  const sealing = policy === 'always' || (policy === 'shape' && shape === 'sealed');
  const clientPub = sealing ? call?.clientPub : undefined;
  const clientKey = clientPub !== undefined ? deps.state.clientKey(clientPub) : undefined;
  send(res, render(shown, { shape, policy, clientKey, serverPub: deps.serverPublicKey }));
}

type ReadBody = { body: Record<string, unknown> } | { refusal: Outcome };

/** The body as the endpoint reads it, or the refusal when it cannot be read. */
async function readCallBody(endpoint: Endpoint, text: Promise<string>): Promise<ReadBody> {
  let raw: string;
  try {
    raw = await text;
  } catch (err) {
    return { refusal: err instanceof BodyTooLargeError ? notOk(413) : notOk(400, 'unreadable request body') };
  }
  if (endpoint.body === 'none') return { body: {} };
  if (endpoint.body === 'form') return { body: parseForm(raw) };
  const body = parseJsonObject(raw);
  return body ? { body } : { refusal: notOk(400, 'request body must be a JSON object') };
}

/** The knobs that answer instead of the endpoint: hang (`held`), errorRate, inject, rate limit. */
function simulated(deps: PipelineDeps, res: ServerResponse, endpoint: Endpoint, call: Call): Outcome | 'held' | undefined {
  const { stats } = deps;
  const k = deps.knobs();
  if (k.hangRate > 0 && Math.random() < k.hangRate) {
    stats.counters.hungRequests++;
    call.endLogin?.();
    deps.hold(res);
    return 'held';
  }
  if (k.errorRate > 0 && Math.random() < k.errorRate) {
    stats.counters.simulatedErrors++;
    call.endLogin?.();
    return notOk(SERVER_ERRORS[Math.floor(Math.random() * SERVER_ERRORS.length)]!);
  }
  const fault = deps.takeFault(endpoint.name, call.clientId);
  if (fault) {
    stats.counters.injectedFaults++;
    if (fault.code === undefined || !endpoint.keepsLogin?.includes(fault.code)) call.endLogin?.();
    return faultOutcome(fault);
  }
  const limit = k.rateLimits[endpoint.name];
  if (limit !== undefined && limit > 0 && !deps.limiter.admit(`${endpoint.name}|${endpoint.rateKey(call)}`, limit)) {
    stats.counters.rateLimited++;
    call.endLogin?.();
    return notOk(429, 'Too many requests');
  }
  return undefined;
}

/** From the body on: parse, identify, the password gate, the simulated faults, the endpoint. */
async function serve(
  deps: PipelineDeps,
  req: IncomingMessage,
  res: ServerResponse,
  endpoint: Endpoint,
  query: string,
  text: Promise<string>,
) {
  const read = await readCallBody(endpoint, text);
  if (deps.closed()) return;
  const forbidden = endpoint.passwordStep === true && deps.knobs().passwordForbidden;
  if ('refusal' in read) return answer(deps, res, endpoint, undefined, forbidden ? FORBIDDEN : read.refusal);
  const remote = (req.socket.remoteAddress ?? 'unknown').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  const call: Call = { body: read.body, query: new URLSearchParams(query), bearer: bearerToken(req), remote };
  const early = endpoint.identify(call);
  // After identify(), so the attempt counts for the client when the envelope opens.
  if (forbidden) return answer(deps, res, endpoint, call, FORBIDDEN);
  if (!endpoint.page && notWhitelisted(deps, call)) {
    call.endLogin?.();
    return answer(deps, res, endpoint, call, FORBIDDEN);
  }
  if (early) return answer(deps, res, endpoint, call, early);
  const instead = simulated(deps, res, endpoint, call);
  if (instead === 'held') return;
  answer(deps, res, endpoint, call, instead ?? endpoint.handle(call));
}

/**
 * Records the call's source address for its client and says whether `allowedSources` refuses it
 * (spec, "Limits and lifetime": calls from an address the app does not list are rejected [M]; the
 * bare 403 they get rests on none). Not asked for the browser login page: the user's browser is
 * never on an app's whitelist (rests on none).
 */
function notWhitelisted(deps: PipelineDeps, call: Call): boolean {
  if (call.clientId === undefined) return false;
  deps.stats.source(call.clientId, call.remote);
  const allowed = deps.knobs().allowedSources[call.clientId];
  return allowed !== undefined && !allowed.includes(call.remote);
}

export function createPipeline(deps: PipelineDeps) {
  const { stats, knobs } = deps;
  const routes = new Map<string, Endpoint>(deps.endpoints.map((e) => [`${e.method} ${e.path}`, e]));
  const paths = new Set(deps.endpoints.map((e) => e.path));

  return async function api(req: IncomingMessage, res: ServerResponse, path: string, query: string): Promise<void> {
    const endpoint = routes.get(`${req.method} ${path}`);
    stats.request(endpoint?.name ?? 'unknown');
    if (!endpoint) {
      req.resume();
      answer(deps, res, undefined, undefined, paths.has(path) ? notOk(405) : notOk(404, `no such endpoint: ${path}`));
      return;
    }
    const k = knobs();
    const wait = k.latencyMs + (k.jitterMs > 0 ? Math.random() * k.jitterMs : 0);
    const bodyText = endpoint.method === 'POST' ? readBody(req) : Promise.resolve('');
    bodyText.catch(() => undefined);
    if (wait > 0) await deps.delay(wait);
    if (deps.closed()) return;
    if (knobs().outage) {
      req.resume();
      stats.counters.simulatedErrors++;
      answer(deps, res, endpoint, undefined, notOk(503, 'Service unavailable'));
      return;
    }
    await serve(deps, req, res, endpoint, query, bodyText);
  };
}
