import { isValidUserId } from './ids.ts';

/** Every subject, stream, consumer and bucket name the system uses. */
export const Subjects = {
  refreshRequested: (userID: string) => `tokens.refresh.requested.${safe(userID)}`,
  refreshRequestedAll: 'tokens.refresh.requested.>',
  refreshed: (userID: string) => `tokens.refreshed.${safe(userID)}`,
  refreshedAll: 'tokens.refreshed.>',
  failed: (userID: string) => `tokens.failed.${safe(userID)}`,
  failedAll: 'tokens.failed.>',
  skipped: (userID: string) => `tokens.skipped.${safe(userID)}`,
  skippedAll: 'tokens.skipped.>',
  /** A redirect-flow user must log in in a browser: the link, for whoever notifies users. */
  loginRequired: (userID: string) => `tokens.login-required.${safe(userID)}`,
  loginRequiredAll: 'tokens.login-required.>',
  /** iifl-auth's watch found a stored login token that IIFL no longer accepts. */
  invalidated: (userID: string) => `tokens.invalidated.${safe(userID)}`,
  invalidatedAll: 'tokens.invalidated.>',
  /** Core NATS (not stored): persistence announces each outcome it recorded, per run. */
  runOutcome: (runId: string) => `runs.${safeRun(runId)}.outcome`,
  runCompleted: (runId: string) => `runs.${safeRun(runId)}.completed`,
  runCompletedAll: 'runs.*.completed',
  runAll: (runId: string) => `runs.${safeRun(runId)}.>`,
  /** JetStream `TOKEN_NOTICES`: notices for people, published by persistence, delivered to webhooks by the notifier. */
  runCompletedNotice: (runId: string) => `tokens.run.completed.${safeRun(runId)}`,
  userFailedNotice: (userID: string) => `tokens.user.failed.${safe(userID)}`,
  userRecoveredNotice: (userID: string) => `tokens.user.recovered.${safe(userID)}`,
  userInvalidatedNotice: (userID: string) => `tokens.user.invalidated.${safe(userID)}`,
  deadLetter: (source: string) => `tokens.dlq.${source}`,
  deadLetterAll: 'tokens.dlq.>',
} as const;

/**
 * Login links announced for redirect-flow users (`tokens.login-required.>`), kept a day for a
 * notifier that was away. Created by iifl-auth, which publishes them (not part of `Streams`, whose
 * streams every service creates).
 */
export const LoginLinkStream = { name: 'TOKEN_LOGIN_LINKS', subjects: ['tokens.login-required.>'] } as const;

export const Streams = {
  /** Work queue of per-user refresh requests, consumed by iifl-auth. */
  requests: { name: 'TOKEN_REQUESTS', subjects: ['tokens.refresh.requested.>'] },
  /**
   * Outcomes of refreshes and tokens found dead, kept for a while so persistence and late
   * subscribers can catch up. A stream created with fewer subjects gains the others (ensureStream).
   */
  events: { name: 'TOKEN_EVENTS', subjects: ['tokens.refreshed.>', 'tokens.failed.>', 'tokens.skipped.>', 'tokens.invalidated.>'] },
  /** Messages that could not be processed, with the reason. */
  deadLetters: { name: 'TOKEN_DLQ', subjects: ['tokens.dlq.>'] },
  /** Notices for people (run reports, users failed, recovered, tokens found dead), for the notifier. */
  notices: { name: 'TOKEN_NOTICES', subjects: ['tokens.run.>', 'tokens.user.>'] },
} as const;

export const Consumers = {
  iiflAuth: 'iifl-auth',
  persistence: 'persistence',
} as const;

export const Buckets = {
  /** Latest token per user, keyed by userID. */
  tokens: 'tokens',
  /** iifl-auth: the login under way per broker account (one per account across replicas). */
  loginLocks: 'iifl-auth-logins',
  /** iifl-auth: the last TOTP step used per broker account (never two logins in one step). */
  totpSteps: 'iifl-auth-totp',
  /** iifl-auth: the ids of login-link nonces redeemed (a link logs in once). */
  loginNonces: 'iifl-auth-login-nonces',
  /** iifl-auth: per user, the last check of the stored token (one check per interval across replicas). */
  tokenChecks: 'iifl-auth-token-checks',
} as const;

function safe(userID: string): string {
  if (!isValidUserId(userID)) throw new TypeError('invalid userID for a subject');
  return userID;
}

function safeRun(runId: string): string {
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(runId)) throw new TypeError('invalid runId for a subject');
  return runId;
}
