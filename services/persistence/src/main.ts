import { createLogger, loadConfig, runService } from '@refresher/platform';
import { startPersistence } from './app.ts';
import { persistenceConfigSchema } from './config.ts';

const config = loadConfig(persistenceConfigSchema);
const log = createLogger('persistence', config.LOG_LEVEL);
runService(log, () => startPersistence(config, { log }));
