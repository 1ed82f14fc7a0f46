import { generateKeyPair, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { z } from 'zod';
import { SimAccountListSchema, toAccount } from './accounts.ts';
import { fail, failWithCode, failureKey, ok, type Answer } from './answers.ts';
import { createEndpoints, type Call, type Endpoint, type RegisteredAccount } from './endpoints.ts';
import { BodyTooLargeError, bearerToken, parseJson, parseJsonObject, readBody, send } from './http-io.ts';
import { applyKnobs, defaultKnobs, formatIssues, InvalidKnobsError } from './knobs.ts';
import { createLoginState } from './login-state.ts';
import { createRateLimiter } from './rate-limiter.ts';
import { createStats } from './stats.ts';
import { base32Decode } from './totp.ts';
import type { InjectedFault, SimAccount, SimKnobs, Simulator, StartSimulatorOptions } from './types.ts';

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

const SERVER_ERRORS = [500, 502, 503] as const;

/** Validates accounts; every bad entry is listed (without its secrets). */
export function parseAccounts(input: unknown): SimAccount[] {
  const parsed = SimAccountListSchema.safeParse(input);
  if (!parsed.success) {
    const issues = formatIssues(parsed.error);
    throw new InvalidAccountsError(`invalid accounts: ${issues.join('; ')}`, issues);
  }
  return parsed.data.map(toAccount);
}

async function serverKeyPair(): Promise<{ publicDer: string; privateKey: KeyObject }> {
  const { publicKey, privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  return { publicDer: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'), privateKey };
}

export async function startSimulator(options: StartSimulatorOptions): Promise<Simulator> {
  const now = options.now ?? Date.now;
  let knobs: SimKnobs = applyKnobs(defaultKnobs(), options.knobs ?? {});
  const accounts = new Map<string, RegisteredAccount>();
  const addAccounts = (list: SimAccount[]): void => {
    for (const account of parseAccounts(list)) {
      accounts.set(account.clientId, { account, totpKey: base32Decode(account.totpSecret) });
    }
  };
  addAccounts(options.accounts);

  const stats = createStats(now);
  const state = createLoginState(now);
  const limiter = createRateLimiter(now);
  const { publicDer, privateKey } = await serverKeyPair();
  const endpoints = createEndpoints({
    state,
    stats,
    accounts,
    knobs: () => knobs,
    now,
    serverPublicKey: publicDer,
    serverPrivateKey: privateKey,
  });
  const routes = new Map<string, Endpoint>(endpoints.map((e) => [`${e.method} ${e.path}`, e]));
  const paths = new Set(endpoints.map((e) => e.path));
  const held = new Set<ServerResponse>();
  const timers = new Map<NodeJS.Timeout, () => void>();
  let closed = false;

  function delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.set(timer, resolve);
    });
  }

  function takeFault(endpoint: string, clientId: string | undefined): InjectedFault | undefined {
    const index = knobs.inject.findIndex(
      (f) => f.endpoint === endpoint && (f.clientId === undefined || f.clientId === clientId),
    );
    if (index < 0) return undefined;
    const fault = knobs.inject[index]!;
    if (fault.remaining !== undefined) {
      const rest = fault.remaining - 1;
      const inject = [...knobs.inject];
      if (rest <= 0) inject.splice(index, 1);
      else inject[index] = { ...fault, remaining: rest };
      knobs = { ...knobs, inject };
    }
    return fault;
  }

  function faultAnswer(fault: InjectedFault): Answer {
    const status = fault.httpStatus ?? 200;
    return fault.code !== undefined ? failWithCode(fault.code, fault.message, status) : fail(status, fault.message);
  }

  function answer(res: ServerResponse, call: Call | undefined, result: Answer): void {
    if (closed) return;
    stats.response(result.status);
    const key = failureKey(result);
    if (key !== undefined) stats.failure(key, call?.clientId);
    send(res, result);
  }

  async function api(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const endpoint = routes.get(`${req.method} ${path}`);
    stats.request(endpoint?.name ?? 'unknown');
    if (!endpoint) {
      req.resume();
      answer(res, undefined, paths.has(path) ? fail(405) : fail(404, `no such endpoint: ${path}`));
      return;
    }
    const wait = knobs.latencyMs + (knobs.jitterMs > 0 ? Math.random() * knobs.jitterMs : 0);
    const bodyText = endpoint.method === 'POST' ? readBody(req) : Promise.resolve('');
    bodyText.catch(() => undefined);
    if (wait > 0) await delay(wait);
    if (closed) return;
    if (knobs.outage) {
      req.resume();
      stats.counters.simulatedErrors++;
      answer(res, undefined, fail(503, 'Service unavailable'));
      return;
    }
    let body: Record<string, unknown> | undefined;
    try {
      body = parseJsonObject(await bodyText);
    } catch (err) {
      answer(res, undefined, err instanceof BodyTooLargeError ? fail(413) : fail(400, 'unreadable request body'));
      return;
    }
    if (closed) return;
    if (body === undefined) {
      answer(res, undefined, fail(400, 'request body must be a JSON object'));
      return;
    }
    const call: Call = { body, bearer: bearerToken(req), remote: req.socket.remoteAddress ?? 'unknown' };
    const early = endpoint.identify(call);
    if (early) {
      answer(res, call, early);
      return;
    }
    if (knobs.hangRate > 0 && Math.random() < knobs.hangRate) {
      stats.counters.hungRequests++;
      call.endLogin?.();
      held.add(res);
      res.once('close', () => held.delete(res));
      return;
    }
    if (knobs.errorRate > 0 && Math.random() < knobs.errorRate) {
      stats.counters.simulatedErrors++;
      call.endLogin?.();
      answer(res, call, fail(SERVER_ERRORS[Math.floor(Math.random() * SERVER_ERRORS.length)]!));
      return;
    }
    const fault = takeFault(endpoint.name, call.clientId);
    if (fault) {
      stats.counters.injectedFaults++;
      call.endLogin?.();
      answer(res, call, faultAnswer(fault));
      return;
    }
    const limit = knobs.rateLimits[endpoint.name];
    if (limit !== undefined && limit > 0 && !limiter.admit(`${endpoint.name}|${endpoint.rateKey(call)}`, limit)) {
      stats.counters.rateLimited++;
      call.endLogin?.();
      answer(res, call, fail(429, 'Too many requests'));
      return;
    }
    answer(res, call, endpoint.handle(call));
  }

  const AccountsBody = z.union([z.array(z.unknown()), z.object({ accounts: z.array(z.unknown()) })]);

  async function admin(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const route = `${req.method} ${path}`;
    const reply = (a: Answer): void => send(res, a);
    if (route === 'GET /admin/stats') return reply(ok(stats.snapshot()));
    if (route === 'GET /admin/knobs') return reply(ok(knobs));
    if (req.method !== 'POST' || !['/admin/knobs', '/admin/reset', '/admin/accounts'].includes(path)) {
      req.resume();
      return reply(fail(404, `no such admin endpoint: ${route}`));
    }
    let text: string;
    try {
      text = await readBody(req);
    } catch {
      return reply(fail(413));
    }
    const parsed = text.trim() === '' ? { value: {} } : parseJson(text);
    if (!parsed) return reply(fail(400, 'request body must be JSON'));
    try {
      if (path === '/admin/reset') {
        stats.reset();
        return reply(ok(null, {}, 'Stats reset'));
      }
      if (path === '/admin/knobs') {
        knobs = applyKnobs(knobs, parsed.value);
        return reply(ok(knobs, {}, 'Knobs updated'));
      }
      const body = AccountsBody.safeParse(parsed.value);
      if (!body.success) return reply(fail(400, 'body must be an array of accounts or {"accounts": [...]}'));
      const list = Array.isArray(body.data) ? body.data : body.data.accounts;
      addAccounts(parseAccounts(list));
      return reply(ok({ added: list.length, total: accounts.size }, {}, 'Accounts added'));
    } catch (err) {
      if (err instanceof InvalidKnobsError || err instanceof InvalidAccountsError) {
        return reply({ status: 400, body: { status: 'Not_Ok', message: err.message, issues: err.issues, result: null } });
      }
      throw err;
    }
  }

  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    const handler = path.startsWith('/admin/') ? admin : api;
    handler(req, res, path).catch(() => {
      if (!res.headersSent) send(res, fail(500, 'simulator error'));
    });
  });
  server.keepAliveTimeout = 30_000;

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    url,
    baseUrl: `${url}/v1`,
    port,
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    setKnobs: (partial) => {
      knobs = applyKnobs(knobs, partial);
    },
    knobs: () => structuredClone(knobs),
    addAccounts,
    async close() {
      if (closed) return;
      closed = true;
      for (const [timer, resolve] of timers) {
        clearTimeout(timer);
        resolve();
      }
      timers.clear();
      for (const res of held) res.destroy();
      held.clear();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await done;
    },
  };
}
