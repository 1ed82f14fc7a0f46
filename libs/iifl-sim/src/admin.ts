// The admin API (not under /v1; not counted in the stats; not affected by knobs).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { parseJson, readBody, sendJson } from './http-io.ts';
import { InvalidKnobsError } from './knobs.ts';
import type { SessionSigner } from './session-token.ts';
import type { StatsRecorder } from './stats.ts';
import type { SimKnobs } from './types.ts';

/** Thrown when accounts given to the simulator do not validate. */
export class InvalidAccountsError extends Error {
  override name = 'InvalidAccountsError';
  constructor(
    message: string,
    readonly issues: string[],
  ) {
    super(message);
  }
}

export interface AdminDeps {
  stats: StatsRecorder;
  signer: SessionSigner;
  knobs(): SimKnobs;
  setKnobs(patch: unknown): SimKnobs;
  /** Validates and adds; answers the number of accounts after. */
  addAccounts(list: unknown[]): number;
}

const AccountsBody = z.union([z.array(z.unknown()), z.object({ accounts: z.array(z.unknown()) })]);

const ok = (result: unknown, message = 'Success') => ({ status: 'Ok', message, result });
const notOk = (message: string, extra: Record<string, unknown> = {}) => ({ status: 'Not_Ok', message, ...extra, result: null });

export function createAdmin(deps: AdminDeps) {
  function get(route: string): unknown {
    if (route === 'GET /admin/stats') return ok(deps.stats.snapshot());
    if (route === 'GET /admin/knobs') return ok(deps.knobs());
    if (route === 'GET /admin/session-key') {
      return ok({ alg: 'RS256', pem: deps.signer.publicKeyPem, jwk: deps.signer.publicJwk });
    }
    return undefined;
  }

  function post(path: string, value: unknown): [number, unknown] {
    try {
      if (path === '/admin/reset') {
        deps.stats.reset();
        return [200, ok(null, 'Stats reset')];
      }
      if (path === '/admin/knobs') return [200, ok(deps.setKnobs(value), 'Knobs updated')];
      const body = AccountsBody.safeParse(value);
      if (!body.success) return [400, notOk('body must be an array of accounts or {"accounts": [...]}')];
      const list = Array.isArray(body.data) ? body.data : body.data.accounts;
      const total = deps.addAccounts(list);
      return [200, ok({ added: list.length, total }, 'Accounts added')];
    } catch (err) {
      if (err instanceof InvalidKnobsError || err instanceof InvalidAccountsError) {
        return [400, notOk(err.message, { issues: err.issues })];
      }
      throw err;
    }
  }

  return async function admin(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const route = `${req.method} ${path}`;
    const read = get(route);
    if (read !== undefined) return sendJson(res, 200, read);
    if (req.method !== 'POST' || !['/admin/knobs', '/admin/reset', '/admin/accounts'].includes(path)) {
      req.resume();
      return sendJson(res, 404, notOk(`no such admin endpoint: ${route}`));
    }
    let text: string;
    try {
      text = await readBody(req);
    } catch {
      return sendJson(res, 413, notOk('Payload Too Large'));
    }
    const parsed = text.trim() === '' ? { value: {} } : parseJson(text);
    if (!parsed) return sendJson(res, 400, notOk('request body must be JSON'));
    const [status, body] = post(path, parsed.value);
    sendJson(res, status, body);
  };
}
