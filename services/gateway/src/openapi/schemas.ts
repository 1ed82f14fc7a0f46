import { z } from 'zod';
import { MorningStatus, RunHeader, RunId, RunsCursor, RunSummary, TokenStatusResponse, UserId } from '@refresher/contracts';

/**
 * The answer bodies of the gateway's routes as zod schemas, for the OpenAPI document. The bodies
 * themselves are built in `legacy-bodies.ts` and the routes; these describe them, field by field,
 * and the OpenAPI test checks the answers against the document made from them.
 */

const Success = z.literal(true);
const Refused = z.literal(false);
const Count = z.number().int().min(0);
/** As the contracts' timestamps: ISO 8601 with an offset. */
const Timestamp = z.iso.datetime({ offset: true });
const StatusUrl = z.string().describe('Where the run can be followed: GET /api/integration/tokens/runs/{runId}');

/** Every refusal and fault: `code` only where IIFL refused an authCode (502). */
export const ErrorBody = z.strictObject({ success: Refused, error: z.string(), code: z.string().optional() }).meta({ id: 'Error' });

/** One user's result in the legacy refresh-all answer. */
export const LegacyResult = z.strictObject({
  success: z.boolean(),
  userID: UserId,
  clientName: z.string(),
  error: z.string().optional(),
  code: z.string().optional(),
  tokenValidity: Timestamp.optional(),
});

/** `POST /tokens/refresh-all` after waiting: 200 when every user has an outcome, 202 with `pending` and `statusUrl` if not. */
export const RefreshAllBody = z.strictObject({
  success: Success,
  message: z.string(),
  refreshed: Count,
  failed: Count,
  total: Count.describe('Users the run tried to log in (refreshed + failed + pending); skipped users are not counted'),
  results: z.array(LegacyResult),
  runId: RunId,
  skipped: Count,
  pending: Count.optional(),
  statusUrl: StatusUrl.optional(),
});

/** A run started with `Prefer: respond-async` (or whose summary could not be read). */
export const RunStartedBody = z.strictObject({
  success: Success,
  message: z.string(),
  runId: RunId,
  userID: UserId.optional(),
  requested: Count,
  skipped: Count,
  statusUrl: StatusUrl,
});

/** `POST /tokens/refresh-failed` when nobody failed. */
export const NobodyFailedBody = z.strictObject({
  success: Success,
  message: z.string(),
  runId: RunId.nullable(),
  requested: z.literal(0),
  skipped: z.literal(0),
});

/** `POST /tokens/refresh/:userID`: the token is fresh. */
export const UserRefreshedBody = z.strictObject({
  success: Success,
  message: z.string(),
  userID: UserId,
  clientName: z.string(),
  tokenValidity: Timestamp.nullable(),
  runId: RunId,
});

/** `POST /tokens/refresh/:userID` for a user the run skips (200, as the legacy API). */
export const UserSkippedBody = z.strictObject({
  success: Refused,
  message: z.string(),
  reason: z.string().nullable(),
  userID: UserId,
  runId: RunId,
});

/** `POST /tokens/refresh/:userID`: the login failed (500, the legacy status). */
export const UserFailedBody = z.strictObject({
  success: Refused,
  error: z.string(),
  code: z.string().nullable(),
  userID: UserId,
  runId: RunId,
});

/** `POST /tokens/refresh/:userID` before the user has an outcome. */
export const StillRunningBody = z.strictObject({
  success: Success,
  message: z.string(),
  userID: UserId,
  runId: RunId,
  statusUrl: StatusUrl,
});

export const RunsPageBody = z.strictObject({
  success: Success,
  runs: z.array(RunHeader),
  next: RunsCursor.nullable().describe('The `before` of the next page; null on the last page'),
});

export const RunBody = RunSummary.extend({ success: Success });

export const TokenStatusBody = TokenStatusResponse.extend({ success: Success });

export const BrokerTokenAnswer = z.strictObject({ success: Success, userID: UserId, tokenValidity: Timestamp });

export const TokenSyncAnswer = z.strictObject({ success: Success, userID: UserId, created: z.boolean(), tokenValidity: Timestamp });

export const UserSavedBody = z.strictObject({
  success: Success,
  userID: UserId,
  created: z.boolean(),
  changed: z.array(z.string()).describe('The fields written (credentials by name only)'),
});

export const UserRemovedBody = z.strictObject({ success: Success, userID: UserId, removed: z.literal(true) });

export const RejectionClearedBody = z.strictObject({
  success: Success,
  userID: UserId,
  cleared: z.boolean().describe('Whether the user had a rejection mark'),
});

export const AuthCodeAnswer = z.strictObject({ success: Success, userID: UserId, tokenValidity: Timestamp, loginTime: Timestamp });

export const HealthBody = z.strictObject({ status: z.enum(['ok', 'unavailable']), nats: z.enum(['connected', 'disconnected']) });

/** `/readyz`: the morning's verdict (200), or why it cannot be told (503). */
export const ReadyBody = z.union([
  z.strictObject({ status: z.enum(['ok', 'degraded', 'none']), morning: MorningStatus.omit({ status: true }) }),
  z.strictObject({ status: z.literal('unavailable') }),
  z.strictObject({ status: z.literal('unknown'), error: z.string() }),
]);

/** The callback's small HTML page. */
export const HtmlPage = z.string().describe('A small HTML page for the browser');

/** `GET /api/integration/openapi.json`. */
export const OpenApiDocument = z.looseObject({ openapi: z.string() });
