import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * The legacy table, as Prisma created it. Timestamps are TIMESTAMP(3) without time zone holding
 * UTC; createDb makes node-postgres read and write them as UTC whatever the process time zone.
 */
export interface IIFLUserTable {
  id: Generated<number>;
  email: string;
  phoneNumber: string;
  clientName: string;
  userID: string;
  password: string;
  appKey: string;
  appSecret: string;
  totpSecret: string;
  token: string | null;
  tokenValidity: Date | null;
  lastLoginTime: Date | null;
  tradingStatus: Generated<string>;
  loginStatus: Generated<string>;
  /** NOT NULL on a table this project created; nullable when added to an older legacy table. */
  state: ColumnType<string | null, string | undefined, string>;
  createdAt: Generated<Date>;
  /** Set by the application on every write (there is no trigger). */
  updatedAt: Date;
}

export type RunOutcomeValue = 'pending' | 'refreshed' | 'failed' | 'skipped';

export interface RefreshRunsTable {
  run_id: string;
  trigger: string;
  /** The one user of an explicit single-user run; null for an all-users run. */
  user_id: string | null;
  /** The first run of the chain whose failures this run retries (a morning's pass); null otherwise. */
  retry_of: ColumnType<string | null, string | null | undefined, string | null>;
  requested_at: Generated<Date>;
  completed_at: Date | null;
  /** Every user the run counts: requested plus skipped at start. */
  total: number;
  requested_count: number;
  refreshed_count: Generated<number>;
  failed_count: Generated<number>;
  skipped_count: Generated<number>;
}

export interface RefreshOutcomesTable {
  run_id: string;
  user_id: string;
  /** Order of the user in the run's lists (requested first, then skipped). */
  position: number;
  client_name: string;
  /** True when the run asked for a login; false when the user was skipped when the run started. */
  requested: boolean;
  outcome: Generated<RunOutcomeValue>;
  /** Failure code, or skip reason. */
  code: string | null;
  message: string | null;
  event_id: string | null;
  attempts: number | null;
  token_validity: Date | null;
  recorded_at: Date | null;
}

export interface UserRefreshStateTable {
  user_id: string;
  last_failure_code: string | null;
  last_failure_message: string | null;
  last_failure_at: Date | null;
  last_failure_event_id: string | null;
  /** Set while the broker's rejection of the stored credentials stands; null clears the mark. */
  credentials_rejected_at: Date | null;
  rejected_code: string | null;
  /** Salted hash of the credentials that were rejected: other credentials lift the mark. */
  rejected_credentials_hash: string | null;
  /** The last time the stored login token was found dead at IIFL (iifl-auth's watch) while the row held it. */
  token_invalidated_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** `SESSION_INVALID` or `WRONG_CLIENT` (TokenInvalidated's reason). */
  token_invalidated_reason: ColumnType<string | null, string | null | undefined, string | null>;
  /** IIFL's own code (`EC044`, `HTTP 401`), when it gave one. */
  token_invalidated_broker_code: ColumnType<string | null, string | null | undefined, string | null>;
  updated_at: Generated<Date>;
}

/** A user's own login flow; a user without a row logs in with the deployment default. */
export interface UserLoginSettingsTable {
  user_id: string;
  /** `headless-v1`, `headless-v2` or `redirect` (check constraint); null: the deployment default. */
  login_flow: 'headless-v1' | 'headless-v2' | 'redirect' | null;
  /** Where the user's logins leave from: an IP literal or an http(s) proxy URL; null: iifl-auth's map or default. */
  egress: string | null;
  updated_at: Generated<Date>;
}

export interface ProcessedEventsTable {
  event_id: string;
  subject: string;
  processed_at: Generated<Date>;
}

export interface Database {
  IIFLUser: IIFLUserTable;
  refresh_runs: RefreshRunsTable;
  refresh_outcomes: RefreshOutcomesTable;
  user_refresh_state: UserRefreshStateTable;
  user_login_settings: UserLoginSettingsTable;
  processed_events: ProcessedEventsTable;
}

export type IIFLUserRow = Selectable<IIFLUserTable>;
export type NewIIFLUser = Insertable<IIFLUserTable>;
export type IIFLUserUpdate = Updateable<IIFLUserTable>;
export type RefreshRunRow = Selectable<RefreshRunsTable>;
export type RefreshOutcomeRow = Selectable<RefreshOutcomesTable>;
export type UserRefreshStateRow = Selectable<UserRefreshStateTable>;
export type UserLoginSettingsRow = Selectable<UserLoginSettingsTable>;
