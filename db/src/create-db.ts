import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';

const TIMESTAMP_WITHOUT_TIME_ZONE = 1114;

/** Reads a TIMESTAMP (without time zone) as the UTC instant it holds, as Prisma wrote it. */
function parseUtcTimestamp(value: string): Date {
  return new Date(`${value.replace(' ', 'T')}Z`);
}

const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === TIMESTAMP_WITHOUT_TIME_ZONE && format !== 'binary'
      ? parseUtcTimestamp
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export interface CreateDbOptions {
  max?: number;
  connectionTimeoutMillis?: number;
}

/**
 * A Kysely instance over a pg pool whose timestamps are UTC whatever the process time zone:
 * TIMESTAMP values are parsed as UTC (per pool), Dates are sent as UTC (node-postgres only has a
 * process-wide switch for that), and every session runs with TimeZone=UTC so that
 * CURRENT_TIMESTAMP defaults of the legacy columns hold UTC too.
 */
export function createDb(databaseUrl: string, options: CreateDbOptions = {}): Kysely<Database> {
  pg.defaults.parseInputDatesAsUTC = true;
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5_000,
    options: '-c TimeZone=UTC',
    types,
  });
  // A connection cut by the server (database restart) must not crash the process. The pool only
  // listens on idle clients; a checked-out client between two queries would throw the error as an
  // uncaught event, so each client gets a listener of its own. The next query on it fails, and the
  // pool drops it when it is released.
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
