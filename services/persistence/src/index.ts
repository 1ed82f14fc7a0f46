export { startPersistence, type Persistence } from './app.ts';
export { persistenceConfigSchema, type PersistenceConfig } from './config.ts';
export { upsertUsers, SeedUser } from './users/user.repository.ts';
export { clearCredentialsRejected } from './users/refresh-state.repository.ts';
// Until the credentials tool imports them from their libs, re-exported from there.
export { credentialsFingerprint, matchesFingerprint } from '@refresher/credential-crypto';
export { isIntegrationManaged } from '@refresher/contracts';
