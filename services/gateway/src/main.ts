import { createLogger, loadConfig, runService } from '@refresher/platform';
import { startGateway } from './app.ts';
import { gatewayConfigSchema } from './config.ts';

const config = loadConfig(gatewayConfigSchema);
const log = createLogger('gateway', config.LOG_LEVEL);
runService(log, () => startGateway(config, { log }));
