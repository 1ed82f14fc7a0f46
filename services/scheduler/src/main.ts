import { ConfigError, createLogger, loadConfig, runService } from '@refresher/platform';
import { startScheduler } from './app.ts';
import { schedulerConfigSchema } from './config.ts';

const config = (() => {
  try {
    return loadConfig(schedulerConfigSchema);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`scheduler: ${err.message}\n`);
    process.exit(1);
  }
})();
const log = createLogger('scheduler', config.LOG_LEVEL);
runService(log, () => startScheduler(config, { log }));
