import type { KeyObject } from 'node:crypto';
import { AnswerFields, isOk, parseJson, pickString } from './answers.ts';
import { openEnvelope } from './envelope.ts';
import { errorFromAnswer, IiflError, type IiflEndpoint } from './errors.ts';
import type { HttpTransport } from './http-transport.ts';

export interface IiflCall {
  endpoint: IiflEndpoint;
  method: 'GET' | 'POST';
  path: string;
  json?: unknown;
  bearer?: string;
  /** A session-token call (profile, logout): 401 / EC044 mean the session is dead. */
  withSession?: boolean;
  /** Opens an encrypted answer (`cRespEncData`) when the expected field is not in clear. */
  privateKey?: KeyObject;
  signal?: AbortSignal;
}

export interface IiflCaller {
  /** The Ok answer's body; IiflError for anything else. */
  send(call: IiflCall): Promise<unknown>;
  /** The string at one of `fields` in an Ok answer; IiflError (UNEXPECTED_RESPONSE) when absent. */
  expect(call: IiflCall, field: keyof typeof AnswerFields): Promise<string>;
}

/** One IIFL call: HTTP, then IIFL's answer rules (`status === "Ok"` and the expected field). */
export function createIiflCaller(transport: HttpTransport, baseUrl: string): IiflCaller {
  const send = async (call: IiflCall): Promise<unknown> => {
    const answer = await transport.request({
      endpoint: call.endpoint,
      method: call.method,
      url: `${baseUrl}${call.path}`,
      ...(call.json === undefined ? {} : { json: call.json }),
      ...(call.bearer === undefined ? {} : { bearer: call.bearer }),
      ...(call.signal === undefined ? {} : { signal: call.signal }),
    });
    const body = parseJson(answer.text);
    if (answer.status >= 200 && answer.status < 300 && isOk(body)) return body;
    throw errorFromAnswer({
      endpoint: call.endpoint,
      httpStatus: answer.status,
      body,
      withSession: call.withSession === true,
      reason: body === undefined ? 'response is not JSON' : 'status is not Ok',
    });
  };

  return {
    send,
    async expect(call, field) {
      const body = await send(call);
      const paths = AnswerFields[field];
      const value = pickString(body, paths) ?? (call.privateKey ? pickFromEncrypted(call.endpoint, body, paths, call.privateKey) : null);
      if (value !== null) return value;
      throw errorFromAnswer({ endpoint: call.endpoint, httpStatus: 200, body, reason: `answer lacks ${field}` });
    },
  };
}

function pickFromEncrypted(
  endpoint: IiflEndpoint,
  body: unknown,
  paths: ReadonlyArray<ReadonlyArray<string | number>>,
  privateKey: KeyObject,
): string | null {
  const sealed = pickString(body, [['cRespEncData'], ['result', 'cRespEncData'], ['result', 0, 'cRespEncData']]);
  if (sealed === null) return null;
  try {
    return pickString(parseJson(openEnvelope(sealed, privateKey).plaintext), paths);
  } catch (error) {
    throw new IiflError(`IIFL ${endpoint}: cRespEncData could not be opened (UNEXPECTED_RESPONSE)`, {
      code: 'UNEXPECTED_RESPONSE',
      endpoint,
      cause: error,
    });
  }
}
