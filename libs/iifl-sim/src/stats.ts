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
  /** A call about the client from this source address. */
  source(clientId: string, address: string): void;
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

type Counters = StatsRecorder['counters'];

const zeroCounters = (): Counters => ({
  keyExchanges: 0,
  loginsStarted: 0,
  sessionsIssued: 0,
  totpStepReuse: 0,
  injectedFaults: 0,
  simulatedErrors: 0,
  hungRequests: 0,
  rateLimited: 0,
});

class Stats implements StatsRecorder {
  counters: Counters = zeroCounters();
  private since: number;
  private requests: Record<string, number> = {};
  private responses: Record<string, number> = {};
  private failuresByCode: Record<string, number> = {};
  private clients = new Map<string, ClientStats>();
  private maxConcurrent = 0;
  private maxConcurrentClient: string | null = null;

  constructor(private readonly now: () => number) {
    this.since = now();
  }

  snapshot(): SimStats {
    const clients: Record<string, ClientStats> = {};
    for (const [id, c] of this.clients) {
      clients[id] = { ...c, totpAttemptSteps: [...c.totpAttemptSteps], failures: { ...c.failures }, sources: { ...c.sources } };
    }
    return {
      since: new Date(this.since).toISOString(),
      requests: { ...this.requests },
      responses: { ...this.responses },
      failuresByCode: { ...this.failuresByCode },
      clients,
      ...this.counters,
      maxConcurrentLoginsPerClient: this.maxConcurrent,
      maxConcurrentLoginsClientId: this.maxConcurrentClient,
    };
  }

  reset(): void {
    this.since = this.now();
    this.requests = {};
    this.responses = {};
    this.failuresByCode = {};
    this.clients = new Map();
    this.maxConcurrent = 0;
    this.maxConcurrentClient = null;
    this.counters = zeroCounters();
  }

  request(endpoint: string): void {
    bump(this.requests, endpoint);
  }

  response(status: number): void {
    bump(this.responses, String(status));
  }

  failure(key: string, clientId: string | undefined): void {
    bump(this.failuresByCode, key);
    if (clientId !== undefined) bump(this.client(clientId).failures, key);
  }

  client(clientId: string): ClientStats {
    let c = this.clients.get(clientId);
    if (!c) {
      c = {
        passwordAttempts: 0,
        totpAttempts: 0,
        totpAttemptSteps: [],
        sessionsIssued: 0,
        failures: {},
        maxConcurrentLogins: 0,
        sources: {},
      };
      this.clients.set(clientId, c);
    }
    return c;
  }

  totpAttempt(clientId: string, step: number): void {
    const c = this.client(clientId);
    c.totpAttempts++;
    c.totpAttemptSteps.push(step);
    if (c.totpAttemptSteps.length > STEPS_KEPT) c.totpAttemptSteps.shift();
  }

  source(clientId: string, address: string): void {
    bump(this.client(clientId).sources, address);
  }

  concurrentLogins(clientId: string, inProgress: number): void {
    const c = this.client(clientId);
    if (inProgress > c.maxConcurrentLogins) c.maxConcurrentLogins = inProgress;
    if (inProgress > this.maxConcurrent) {
      this.maxConcurrent = inProgress;
      this.maxConcurrentClient = clientId;
    }
  }
}

export function createStats(now: () => number): StatsRecorder {
  return new Stats(now);
}
