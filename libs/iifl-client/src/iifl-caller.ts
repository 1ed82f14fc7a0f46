import type { KeyObject } from 'node:crypto';
import { AnswerFields, parseJson, pickString, SealedAnswerError, unseal, type AnswerField } from './answers.ts';
import { answerSaysFailure } from './broker-codes.ts';
import { errorFromAnswer, type IiflEndpoint } from './errors.ts';
import type { HttpTransport } from './http-transport.ts';

export interface IiflCall {
  endpoint: IiflEndpoint;
  method: 'GET' | 'POST';
  /** Absolute URL. */
  url: string;
  json?: unknown;
  bearer?: string;
  /** Opens answers sealed in `cRespEncData`. */
  privateKey?: KeyObject;
  signal?: AbortSignal;
}

/** One answer as the client read it: for diagnostics (`pnpm iifl-check`), never for logs. */
export interface ObservedAnswer {
  endpoint: IiflEndpoint;
  httpStatus: number;
  retryAfterMs: number | null;
  /** The parsed body, opened when it was sealed; undefined when it was not JSON. */
  body: unknown;
  sealed: boolean;
  /** The body's text when it was not JSON (a bare 403 page, for example). */
  text: string | null;
}

export interface IiflCaller {
  /** The answer's body (opened when sealed) when it is a success; IiflError for anything else. */
  send(call: IiflCall): Promise<unknown>;
  /** The string at `field` of a successful answer; IiflError when the answer lacks it. */
  expect(call: IiflCall, field: AnswerField): Promise<string>;
}

/**
 * One IIFL call and IIFL's answer rules (spec, "Responses and errors"): an answer is good when it
 * (or its opened `cRespEncData`) holds the step's field and carries no error code; no `"Ok"` is
 * demanded, since IIFL's own code reads `cPubKey` alone and sealed answers carry their status inside.
 */
export function createIiflCaller(transport: HttpTransport, observe?: (answer: ObservedAnswer) => void): IiflCaller {
  const read = async (call: IiflCall, field: AnswerField | null): Promise<{ body: unknown; value: string | null }> => {
    const answer = await transport.request({
      endpoint: call.endpoint,
      method: call.method,
      url: call.url,
      ...(call.json === undefined ? {} : { json: call.json }),
      ...(call.bearer === undefined ? {} : { bearer: call.bearer }),
      ...(call.signal === undefined ? {} : { signal: call.signal }),
    });
    const failed = (body: unknown, reason?: string) =>
      errorFromAnswer({
        endpoint: call.endpoint,
        httpStatus: answer.status,
        body,
        retryAfterMs: answer.retryAfterMs ?? null,
        ...(reason === undefined ? {} : { reason }),
      });
    const raw = parseJson(answer.text);
    let body: unknown;
    try {
      body = unseal(raw, call.privateKey);
    } catch (error) {
      if (!(error instanceof SealedAnswerError)) throw error;
      observe?.({
        endpoint: call.endpoint,
        httpStatus: answer.status,
        retryAfterMs: answer.retryAfterMs ?? null,
        body: raw,
        sealed: true,
        text: null,
      });
      throw Object.assign(failed({}, error.message), { cause: error });
    }
    observe?.({
      endpoint: call.endpoint,
      httpStatus: answer.status,
      retryAfterMs: answer.retryAfterMs ?? null,
      body,
      sealed: body !== raw,
      text: raw === undefined ? answer.text : null,
    });
    if (answer.status < 200 || answer.status >= 300 || body === undefined || answerSaysFailure(body)) throw failed(body);
    const value = field === null ? null : pickString(body, AnswerFields[field]);
    if (field !== null && value === null) throw failed(body, `answer lacks ${field}`);
    return { body, value };
  };

  return {
    send: async (call) => (await read(call, null)).body,
    expect: async (call, field) => (await read(call, field)).value!,
  };
}
