import { generateKeyPair, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { SimAccountListSchema, toAccount } from './accounts.ts';
import { createAdmin, InvalidAccountsError } from './admin.ts';
import type { AccountBook, EndpointDeps, RegisteredAccount } from './endpoint.ts';
import { sendJson } from './http-io.ts';
import { applyKnobs, defaultKnobs, formatIssues, KnobBox } from './knobs.ts';
import { loginPageEndpoints } from './login-page.ts';
import { LoginState } from './login-state.ts';
import { createPipeline } from './pipeline.ts';
import { createRateLimiter } from './rate-limiter.ts';
import { sessionEndpoints } from './session-endpoints.ts';
import { createSessionSigner } from './session-token.ts';
import { createStats } from './stats.ts';
import { base32Decode } from './totp.ts';
import type { SimAccount, Simulator, StartSimulatorOptions } from './types.ts';
import { v1Endpoints } from './v1-endpoints.ts';
import { IDAAS_PREFIX, v2Endpoints } from './v2-endpoints.ts';

export { InvalidAccountsError };

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

function createAccountBook() {
  const byId = new Map<string, RegisteredAccount>();
  let appKeys = new Set<string>();
  const book: AccountBook & { add(list: SimAccount[]): void; size(): number } = {
    get: (clientId) => byId.get(clientId),
    hasAppKey: (appKey) => appKeys.has(appKey),
    add(list) {
      for (const account of parseAccounts(list)) byId.set(account.clientId, { account, totpKey: base32Decode(account.totpSecret) });
      appKeys = new Set([...byId.values()].map((r) => r.account.appKey));
    },
    size: () => byId.size,
  };
  return book;
}

/** Timers that close() can cut short, and responses held by hangRate that close() drops. */
function createHolds() {
  const held = new Set<ServerResponse>();
  const timers = new Map<NodeJS.Timeout, () => void>();
  return {
    delay: (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          resolve();
        }, ms);
        timers.set(timer, resolve);
      }),
    hold(res: ServerResponse): void {
      held.add(res);
      res.once('close', () => held.delete(res));
    },
    release(): void {
      for (const [timer, resolve] of timers) {
        clearTimeout(timer);
        resolve();
      }
      timers.clear();
      for (const res of held) res.destroy();
      held.clear();
    },
  };
}

type Handler = (req: IncomingMessage, res: ServerResponse, path: string, query: string) => Promise<void>;

/** `/admin/...` to the admin API, everything else to the API pipeline. */
function httpServer(api: Handler, admin: Handler): Server {
  const server = createServer((req, res) => {
    const [path = '/', query = ''] = (req.url ?? '/').split('?', 2);
    const handled = path.startsWith('/admin/') ? admin(req, res, path, query) : api(req, res, path, query);
    handled.catch(() => {
      if (!res.headersSent) sendJson(res, 500, { status: 'Not_Ok', message: 'simulator error', result: null });
    });
  });
  server.keepAliveTimeout = 30_000;
  return server;
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startSimulator(options: StartSimulatorOptions): Promise<Simulator> {
  const now = options.now ?? Date.now;
  const knobs = new KnobBox(applyKnobs(defaultKnobs(), options.knobs ?? {}));
  const accounts = createAccountBook();
  accounts.add(options.accounts);
  const [{ publicDer, privateKey }, signer] = await Promise.all([serverKeyPair(), createSessionSigner()]);
  const stats = createStats(now);
  const deps: EndpointDeps = {
    state: new LoginState(now, signer),
    stats,
    accounts,
    knobs: knobs.get,
    now,
    serverPublicKey: publicDer,
    serverPrivateKey: privateKey,
  };
  const holds = createHolds();
  let closed = false;
  const api = createPipeline({
    ...deps,
    endpoints: [...v1Endpoints(deps), ...sessionEndpoints(deps), ...v2Endpoints(deps), ...loginPageEndpoints(deps)],
    limiter: createRateLimiter(now),
    takeFault: knobs.takeFault,
    delay: holds.delay,
    hold: holds.hold,
    closed: () => closed,
  });
  const addAccounts = (list: unknown[]): number => {
    accounts.add(list as SimAccount[]);
    return accounts.size();
  };
  const admin = createAdmin({ stats, signer, knobs: knobs.get, setKnobs: knobs.set, addAccounts });

  const server = httpServer(api, admin);
  const host = options.host ?? '127.0.0.1';
  const port = await listen(server, host, options.port ?? 0);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url,
    baseUrl: `${url}/v1`,
    idaasUrl: `${url}${IDAAS_PREFIX}`,
    loginPageUrl: `${url}/`,
    sessionPublicKey: signer.publicKeyPem,
    port,
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    setKnobs: (partial) => void knobs.set(partial),
    knobs: () => structuredClone(knobs.get()),
    addAccounts: (list) => accounts.add(list),
    currentSession: (clientId) => deps.state.currentSessionOf(clientId),
    async close() {
      if (closed) return;
      closed = true;
      holds.release();
      await closeServer(server);
    },
  };
}

/** Stops listening and cuts the keep-alive connections; resolves once the server is closed. */
function closeServer(server: Server): Promise<void> {
  const done = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  return done;
}
