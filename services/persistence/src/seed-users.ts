/**
 * `pnpm seed-users <file.json>`: inserts or updates users in "IIFLUser" (DATABASE_URL) from a JSON
 * array of {clientId|userID, clientName?, email?, phoneNumber?, password, appKey, appSecret,
 * totpSecret, state?}. A relative path is taken from where pnpm was called (INIT_CWD).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { describeZodError, loadConfig } from '@refresher/platform';
import { createDb } from '@refresher/db';
import { SeedUser, upsertUsers } from './users/user.repository.ts';

const file = process.argv[2];
if (!file) {
  console.error('usage: seed-users <users.json>');
  process.exit(2);
}
const config = loadConfig(z.object({ DATABASE_URL: z.string().min(1).default('postgres://postgres@127.0.0.1:5432/postgres') }));
const parsed = z.array(SeedUser).safeParse(JSON.parse(readFileSync(resolve(process.env.INIT_CWD ?? process.cwd(), file), 'utf8')));
if (!parsed.success) {
  // Paths only: the values may be credentials.
  console.error(`invalid users file: ${describeZodError(parsed.error)}`);
  process.exit(1);
}
const db = createDb(config.DATABASE_URL, { max: 1 });
try {
  const { inserted, updated } = await upsertUsers(db, parsed.data);
  console.log(`seeded ${parsed.data.length} users: ${inserted} created, ${updated} updated`);
} catch (err) {
  console.error('seeding failed:', err instanceof Error ? err.message : err);
  process.exitCode = 1;
} finally {
  await db.destroy();
}
