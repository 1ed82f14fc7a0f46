/** `pnpm db:migrate`: applies pending migrations to DATABASE_URL and prints what it applied. */
import { z } from 'zod';
import { loadConfig } from '@refresher/platform';
import { createDb, migrateToLatest, MigrationError } from '@refresher/db';

const config = loadConfig(z.object({ DATABASE_URL: z.string().min(1).default('postgres://postgres@127.0.0.1:5432/postgres') }));
const db = createDb(config.DATABASE_URL, { max: 1 });
try {
  const applied = await migrateToLatest(db);
  if (applied.length === 0) console.log('database is up to date');
  for (const m of applied) console.log(`${m.status === 'Success' ? 'applied' : m.status}: ${m.migrationName}`);
} catch (err) {
  if (err instanceof MigrationError) {
    for (const m of err.results) console.error(`${m.status}: ${m.migrationName}`);
  }
  console.error('migration failed:', err instanceof Error ? (err.cause ?? err) : err);
  process.exitCode = 1;
} finally {
  await db.destroy();
}
