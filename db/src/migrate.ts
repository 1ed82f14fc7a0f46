import { Migrator, type Kysely, type Migration, type MigrationResult } from 'kysely';
import * as legacyIiflUser from '../migrations/2026113001_legacy_iifl_user.ts';
import * as refreshRuns from '../migrations/2026113002_refresh_runs.ts';
import * as userRefreshState from '../migrations/2026113003_user_refresh_state.ts';
import * as userLoginSettings from '../migrations/2026120101_user_login_settings.ts';
import * as refreshRunRetries from '../migrations/2026120202_refresh_run_retries.ts';
import * as tokenInvalidations from '../migrations/2026120203_token_invalidations.ts';
import * as userEgress from '../migrations/2026120204_user_egress.ts';

/** Every migration, by name; the Migrator applies them in name order. */
export const migrations: Record<string, Migration> = {
  '2026113001_legacy_iifl_user': legacyIiflUser,
  '2026113002_refresh_runs': refreshRuns,
  '2026113003_user_refresh_state': userRefreshState,
  '2026120101_user_login_settings': userLoginSettings,
  '2026120202_refresh_run_retries': refreshRunRetries,
  '2026120203_token_invalidations': tokenInvalidations,
  '2026120204_user_egress': userEgress,
};

export class MigrationError extends Error {
  override name = 'MigrationError';
  constructor(
    readonly results: MigrationResult[],
    options?: { cause?: unknown },
  ) {
    super('database migration failed', options);
  }
}

export function createMigrator(db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: { getMigrations: async () => migrations } });
}

/** Applies every pending migration (in one lock, safe against concurrent callers). */
export async function migrateToLatest(db: Kysely<any>): Promise<MigrationResult[]> {
  const { error, results } = await createMigrator(db).migrateToLatest();
  if (error) throw new MigrationError(results ?? [], { cause: error });
  return results ?? [];
}
