import type { KeyObject } from 'node:crypto';
import { httpStatusOf, OK, type Outcome } from './answers.ts';
import { sealEnvelope } from './envelope.ts';
import type { AnswerShape } from './types.ts';

/** What goes on the wire. */
export interface Wire {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * When an endpoint's answers are sealed for the client (`{"cRespEncData": ...}`): `never`; `shape`:
 * in the `sealed` answer shape; `always`: the v2 idaas calls. Only when the client key is known.
 */
export type SealPolicy = 'never' | 'shape' | 'always';

export interface RenderContext {
  shape: AnswerShape;
  policy: SealPolicy;
  /** The client's public key, when the simulator knows it for this call. */
  clientKey: KeyObject | undefined;
  /** The simulator's public key text (base64 SPKI DER). */
  serverPub: string;
}

/** The documented layout (also the inside of a sealed answer). */
function documented(outcome: Outcome): Record<string, unknown> | undefined {
  switch (outcome.kind) {
    case 'keyExchange':
      return { cPubKey: outcome.serverPub };
    case 'step':
      return { ...OK, result: outcome.result };
    case 'session':
      return { status: 'Ok', userSession: outcome.userSession };
    case 'plain':
      return outcome.body;
    case 'coded':
      return { status: outcome.code, message: outcome.message, result: null };
    case 'notOk':
      return { status: 'Not_Ok', message: outcome.message, result: null };
    default:
      return undefined;
  }
}

/** The layout the existing system met: results in one-element arrays, codes in result[0].status. */
function legacy(outcome: Outcome): Record<string, unknown> | undefined {
  switch (outcome.kind) {
    case 'keyExchange':
      return { ...OK, result: [{ seData: outcome.serverPub }] };
    case 'step':
      return { ...OK, result: [outcome.result] };
    case 'session':
      return { ...OK, result: [{ userSession: outcome.userSession }] };
    case 'coded':
      return { status: 'Not_Ok', message: outcome.message, result: [{ status: outcome.code, message: outcome.message }] };
    default:
      return documented(outcome);
  }
}

/** IIFL answers (successes, coded failures, `Not_Ok` at HTTP 200) can be sealed; HTTP-level faults cannot. */
function sealable(outcome: Outcome): boolean {
  if (outcome.kind === 'notOk') return outcome.httpStatus === 200;
  return outcome.kind === 'step' || outcome.kind === 'session' || outcome.kind === 'plain' || outcome.kind === 'coded';
}

export function shouldSeal(outcome: Outcome, ctx: RenderContext): boolean {
  if (ctx.clientKey === undefined || !sealable(outcome)) return false;
  return ctx.policy === 'always' || (ctx.policy === 'shape' && ctx.shape === 'sealed');
}

const json = (status: number, body: unknown): Wire => {
  const text = JSON.stringify(body);
  return { status, headers: { 'content-type': 'application/json; charset=utf-8' }, body: text };
};

/** Lays an outcome out in the current shape, sealed when the context says so. */
export function render(outcome: Outcome, ctx: RenderContext): Wire {
  const status = httpStatusOf(outcome);
  if (outcome.kind === 'bare') return { status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: outcome.text };
  if (outcome.kind === 'html') return { status, headers: { 'content-type': 'text/html; charset=utf-8' }, body: outcome.html };
  if (outcome.kind === 'redirect') {
    return { status, headers: { location: outcome.location, 'content-type': 'text/plain; charset=utf-8' }, body: '' };
  }
  const body = (ctx.shape === 'legacy' ? legacy(outcome) : documented(outcome))!;
  if (!shouldSeal(outcome, ctx)) return json(status, body);
  return json(status, { cRespEncData: sealEnvelope(JSON.stringify(body), ctx.serverPub, ctx.clientKey!) });
}
