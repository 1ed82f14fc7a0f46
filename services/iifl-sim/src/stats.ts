import type { ClientStats, SimStats } from './types.ts';

export interface StatsRecorder {
  snapshot(): SimStats;
  reset(): void;
  request(endpoint: string): void;
  response(status: number): void;
  failure(key: string, clientId: string | undefined): void;
  client(clientId: string): ClientStats;
  /** A TOTP attempt for the client, at this RFC 6238 step of the simulator clock. */
  totpAttempt(clientId: string, step: number): void;
  concurrentLogins(clientId: string, inProgress: number): void;
  counters: Pick<
    SimStats,
    | 'keyExchanges'
    | 'loginsStarted'
    | 'sessionsIssued'
    | 'totpStepReuse'
    | 'injectedFaults'
    | 'simulatedErrors'
    | 'hungRequests'
    | 'rateLimited'
  >;
}

const STEPS_KEPT = 20;

function bump(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}

export function createStats(now: () => number): StatsRecorder {
  let since = now();
  let requests: Record<string, number> = {};
  let responses: Record<string, number> = {};
  let failuresByCode: Record<string, number> = {};
  let clients = new Map<string, ClientStats>();
  let maxConcurrent = 0;
  let maxConcurrentClient: string | null = null;
  const zero = (): StatsRecorder['counters'] => ({
    keyExchanges: 0,
    loginsStarted: 0,
    sessionsIssued: 0,
    totpStepReuse: 0,
    injectedFaults: 0,
    simulatedErrors: 0,
    hungRequests: 0,
    rateLimited: 0,
  });

  const recorder: StatsRecorder = {
    counters: zero(),
    snapshot() {
      const clientCopy: Record<string, ClientStats> = {};
      for (const [id, c] of clients) {
        clientCopy[id] = { ...c, totpAttemptSteps: [...c.totpAttemptSteps], failures: { ...c.failures } };
      }
      return {
        since: new Date(since).toISOString(),
        requests: { ...requests },
        responses: { ...responses },
        failuresByCode: { ...failuresByCode },
        clients: clientCopy,
        ...recorder.counters,
        maxConcurrentLoginsPerClient: maxConcurrent,
        maxConcurrentLoginsClientId: maxConcurrentClient,
      };
    },
    reset() {
      since = now();
      requests = {};
      responses = {};
      failuresByCode = {};
      clients = new Map();
      maxConcurrent = 0;
      maxConcurrentClient = null;
      recorder.counters = zero();
    },
    request(endpoint) {
      bump(requests, endpoint);
    },
    response(status) {
      bump(responses, String(status));
    },
    failure(key, clientId) {
      bump(failuresByCode, key);
      if (clientId !== undefined) bump(recorder.client(clientId).failures, key);
    },
    client(clientId) {
      let c = clients.get(clientId);
      if (!c) {
        c = { passwordAttempts: 0, totpAttempts: 0, totpAttemptSteps: [], sessionsIssued: 0, failures: {}, maxConcurrentLogins: 0 };
        clients.set(clientId, c);
      }
      return c;
    },
    totpAttempt(clientId, step) {
      const c = recorder.client(clientId);
      c.totpAttempts++;
      c.totpAttemptSteps.push(step);
      if (c.totpAttemptSteps.length > STEPS_KEPT) c.totpAttemptSteps.shift();
    },
    concurrentLogins(clientId, inProgress) {
      const c = recorder.client(clientId);
      if (inProgress > c.maxConcurrentLogins) c.maxConcurrentLogins = inProgress;
      if (inProgress > maxConcurrent) {
        maxConcurrent = inProgress;
        maxConcurrentClient = clientId;
      }
    },
  };
  return recorder;
}
