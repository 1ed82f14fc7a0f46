import { randomUUID } from 'node:crypto';
import type { NatsConnection, Subscription } from 'nats';
import {
  type Outcome,
  PersistenceApi,
  RefreshRequested,
  RunCompleted,
  RunOutcomeRecorded,
  type RunResult,
  type RunSummary,
  type StartRunRequest,
  type StartRunResponse,
  Subjects,
} from '@refresher/contracts';
import { callService, decodeJson, encodeJson } from '@refresher/platform';

export interface RefreshRun {
  readonly start: StartRunResponse;
  /**
   * Resolves with the run's summary once every user has an outcome, or with the partial summary
   * when `timeoutMs` passes first (`completed: false`).
   */
  waitForCompletion(
    timeoutMs: number,
    onOutcome?: (outcome: RunOutcomeRecorded) => void,
  ): Promise<{ completed: boolean; summary: RunSummary }>;
  /**
   * Resolves with one user's outcome as soon as persistence announces it (no summary read on the
   * way), or null when `timeoutMs` passes first or the run is closed.
   */
  waitForUser(userID: string, timeoutMs: number): Promise<UserOutcome | null>;
  /** Stops listening for the run's progress. */
  close(): void;
}

/** One user's recorded outcome in a run. */
export type UserOutcome = Pick<RunResult, 'outcome' | 'code' | 'message' | 'tokenValidity'> & { outcome: Outcome };

export interface StartRefreshRunOptions {
  /** How many publishes wait for their JetStream ack at once. */
  publishConcurrency?: number;
  requestTimeoutMs?: number;
}

/**
 * Registers a run with persistence (which decides who is due and records the skipped users), then
 * publishes one `tokens.refresh.requested.<userID>` per user. The message id is deterministic
 * (`<runId>:<userID>`), so a producer that repeats a run (a second scheduler replica, a retry after
 * a crash) adds nothing JetStream has already stored within its duplicate window.
 */
export async function startRefreshRun(
  nc: NatsConnection,
  request: StartRunRequest,
  options: StartRefreshRunOptions = {},
): Promise<RefreshRun> {
  const start = await callService(nc, PersistenceApi.startRun, request, options.requestTimeoutMs ?? 30_000);
  // Listen before publishing, so no outcome can be missed. No flush needed: the server handles this
  // connection's SUB before the PUBs that follow it, and every notice comes after one of those.
  const progress = nc.subscribe(Subjects.runAll(start.runId));
  await publishRequests(nc, start, request.trigger, options.publishConcurrency ?? 256);
  return {
    start,
    waitForCompletion: (timeoutMs, onOutcome) => waitForRun(nc, start.runId, progress, timeoutMs, onOutcome),
    waitForUser: (userID, timeoutMs) => waitForUser(nc, start.runId, userID, progress, timeoutMs),
    close: () => progress.unsubscribe(),
  };
}

/** A run's counts and every result, read a page at a time (one answer must stay below NATS's message size). */
export async function getRunSummary(nc: NatsConnection, runId: string, timeoutMs = 10_000): Promise<RunSummary> {
  const first = await callService(nc, PersistenceApi.getRun, { runId }, timeoutMs);
  const results = [...first.results];
  for (let after = first.resultsNext; after !== null;) {
    const page = await callService(nc, PersistenceApi.getRun, { runId, results: { after } }, timeoutMs);
    results.push(...page.results);
    after = page.resultsNext;
  }
  const { resultsNext: _, ...counts } = first;
  return { ...counts, results };
}

/** A run's counts, without its results (`results` is empty): whether it exists, and how far it is. */
export async function getRunCounts(nc: NatsConnection, runId: string, timeoutMs = 10_000): Promise<RunSummary> {
  const { resultsNext: _, ...counts } = await callService(nc, PersistenceApi.getRun, { runId, results: 'none' }, timeoutMs);
  return counts;
}

async function publishRequests(
  nc: NatsConnection,
  start: StartRunResponse,
  trigger: StartRunRequest['trigger'],
  concurrency: number,
): Promise<void> {
  const js = nc.jetstream();
  const requestedAt = new Date().toISOString();
  for (let i = 0; i < start.requested.length; i += concurrency) {
    const batch = start.requested.slice(i, i + concurrency);
    await Promise.all(
      batch.map(({ userID }) => {
        const event: RefreshRequested = RefreshRequested.parse({
          v: 1,
          eventId: randomUUID(),
          runId: start.runId,
          userID,
          trigger,
          requestedAt,
        });
        return js.publish(Subjects.refreshRequested(userID), encodeJson(event), {
          msgID: `${start.runId}:${userID}`,
        });
      }),
    );
  }
}

/** How often the summary is fetched as a backstop for a completion notice lost in a reconnect. */
const POLL_INTERVAL_MS = 2_000;

async function waitForRun(
  nc: NatsConnection,
  runId: string,
  progress: Subscription,
  timeoutMs: number,
  onOutcome?: (outcome: RunOutcomeRecorded) => void,
): Promise<{ completed: boolean; summary: RunSummary }> {
  const fetchSummary = () => getRunSummary(nc, runId);
  let summary = await getRunCounts(nc, runId);
  if (summary.pending === 0) return { completed: true, summary: await fetchSummary() };

  let settle!: () => void;
  const finished = new Promise<void>((resolve) => (settle = resolve));
  const deadline = setTimeout(settle, timeoutMs);
  const poll = setInterval(() => {
    getRunCounts(nc, runId).then(
      (s) => {
        if (s.pending === 0) settle();
      },
      () => {},
    );
  }, POLL_INTERVAL_MS);

  void (async () => {
    for await (const msg of progress) {
      const payload = decodeJson(msg.data);
      const outcome = RunOutcomeRecorded.safeParse(payload);
      if (outcome.success) {
        onOutcome?.(outcome.data);
        continue;
      }
      if (RunCompleted.safeParse(payload).success) settle();
    }
    settle();
  })();

  await finished;
  clearTimeout(deadline);
  clearInterval(poll);
  summary = await fetchSummary();
  return { completed: summary.pending === 0, summary };
}

async function waitForUser(
  nc: NatsConnection,
  runId: string,
  userID: string,
  progress: Subscription,
  timeoutMs: number,
): Promise<UserOutcome | null> {
  let settle!: (outcome: UserOutcome | null) => void;
  const settled = new Promise<UserOutcome | null>((resolve) => (settle = resolve));
  const fromSummary = async () => {
    const { results } = await callService(nc, PersistenceApi.getRun, { runId, results: { userID } });
    const result = results.find((r) => r.userID === userID);
    if (result && result.outcome !== 'pending') settle({ ...result, outcome: result.outcome });
  };
  const deadline = setTimeout(() => settle(null), timeoutMs);
  // The summary as a backstop: for a notice lost in a reconnect, and for a run that was over
  // before this call (an existing run id).
  const poll = () => void fromSummary().catch(() => {});
  const timer = setInterval(poll, POLL_INTERVAL_MS);
  poll();

  void (async () => {
    for await (const msg of progress) {
      const notice = RunOutcomeRecorded.safeParse(decodeJson(msg.data));
      if (!notice.success || notice.data.userID !== userID) continue;
      const outcome = outcomeFromNotice(notice.data);
      if (outcome) settle(outcome);
      else poll();
    }
    settle(null);
  })();

  try {
    return await settled;
  } finally {
    clearTimeout(deadline);
    clearInterval(timer);
  }
}

/**
 * The user outcome a notice tells, or null when it lacks something the answer needs: a refreshed
 * notice from a persistence that does not send `tokenValidity` yet (the summary has it).
 */
export function outcomeFromNotice(notice: RunOutcomeRecorded): UserOutcome | null {
  const { outcome, code, message, tokenValidity } = notice;
  if (tokenValidity === undefined && outcome === 'refreshed') return null;
  return { outcome, code, message, tokenValidity: tokenValidity ?? null };
}
