export { createDb, type CreateDbOptions } from './create-db.ts';
export { createMigrator, migrateToLatest, migrations, MigrationError } from './migrate.ts';
export type * from './schema.ts';
