import { createLogger, loadConfig, runService } from '@refresher/platform';
import { startIiflAuth } from './app.ts';
import { iiflAuthConfigSchema } from './config.ts';

const config = loadConfig(iiflAuthConfigSchema);
const log = createLogger('iifl-auth', config.LOG_LEVEL);
runService(log, () => startIiflAuth(config, { log }));
