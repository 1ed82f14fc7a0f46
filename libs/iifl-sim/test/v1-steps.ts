import { expect } from 'vitest';
import { IIFL_MESSAGES } from '../src/index.ts';
import { bearer, type Fixture } from './fixture.ts';
import { clientKey, envelope, totp, type Reply } from './protocol-client.ts';

/** The documented failure: the code in `status`, IIFL's text in `message`, no `code` field. */
export function expectCode(reply: Reply, code: string, httpStatus = 200): void {
  expect(reply.status).toBe(httpStatus);
  expect(reply.body).toEqual({ status: code, message: IIFL_MESSAGES[code], result: null });
}

/** The v1 steps one at a time against a fixture's simulator, in the documented shape. */
export function v1Steps(fx: Fixture) {
  const post = fx.post;

  async function exchange(clientPub = clientKey().clientPub): Promise<string> {
    const reply = await post('/get/enckey', { ceData: clientPub });
    expect(Object.keys(reply.body)).toEqual(['cPubKey']);
    return reply.body['cPubKey'] as string;
  }

  async function passwordStep(clientId: string, password: string, clientPub = clientKey().clientPub): Promise<Reply> {
    const serverPub = await exchange(clientPub);
    return post('/validatepassword', { cEncData: envelope(clientPub, serverPub, JSON.stringify({ clientId, password })) });
  }

  /** Up to and including the TOTP step; answers the TOTP step's reply. */
  async function totpStep(
    account: { clientId: string; password: string; appKey: string; totpSecret: string },
    body: Partial<{ totp: string; appKey: string }> = {},
  ): Promise<Reply> {
    const pw = await passwordStep(account.clientId, account.password);
    expect(pw.body['status']).toBe('Ok');
    return post(
      '/validatetotp',
      { clientId: account.clientId, totp: totp(account.totpSecret, fx.clock.t), appKey: account.appKey, ...body },
      bearer(pw.body['result'].token),
    );
  }

  return { post, exchange, passwordStep, totpStep };
}
