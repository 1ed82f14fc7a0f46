/**
 * What the IIFL side saw of a run: the simulator's request counters (its admin API, which is not
 * itself counted) read before and after, so a reader sees every call each login made, the `profile`
 * check of each new token included.
 */
export interface SimCounters {
  requests: Record<string, number>;
  sessionsIssued: number;
}

/** The run's calls at the simulator, by endpoint, and the sessions it issued. */
export interface SimCalls extends SimCounters {
  /** `profile` calls: each new token is used once before it is stored and published. */
  profileCalls: number;
}

export async function simulatorCounters(simUrl: string): Promise<SimCounters> {
  const res = await fetch(`${simUrl}/admin/stats`);
  const body = (await res.json()) as { result?: { requests?: Record<string, number>; sessionsIssued?: number } };
  if (res.status !== 200 || !body.result?.requests || typeof body.result.sessionsIssued !== 'number') {
    throw new Error(`the simulator's stats answered ${res.status} without its counters`);
  }
  return { requests: body.result.requests, sessionsIssued: body.result.sessionsIssued };
}

/** The counters' growth between two readings (endpoints with no call left out). */
export function callsBetween(before: SimCounters, after: SimCounters): SimCalls {
  const requests: Record<string, number> = {};
  for (const [endpoint, count] of Object.entries(after.requests)) {
    const grown = count - (before.requests[endpoint] ?? 0);
    if (grown > 0) requests[endpoint] = grown;
  }
  return { requests, sessionsIssued: after.sessionsIssued - before.sessionsIssued, profileCalls: requests['profile'] ?? 0 };
}
