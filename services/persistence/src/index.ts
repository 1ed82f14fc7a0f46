export { startPersistence, type Persistence } from './app.ts';
export { persistenceConfigSchema, type PersistenceConfig } from './config.ts';
export { upsertUsers, SeedUser } from './users/user.repository.ts';
export { clearCredentialsRejected } from './users/refresh-state.repository.ts';
