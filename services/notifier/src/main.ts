import { ConfigError, createLogger, loadConfig, runService } from '@refresher/platform';
import { startNotifier } from './app.ts';
import { notifierConfigSchema } from './config.ts';

const config = (() => {
  try {
    return loadConfig(notifierConfigSchema);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`notifier: ${err.message}\n`);
    process.exit(1);
  }
})();
const log = createLogger('notifier', config.LOG_LEVEL);
runService(log, () => startNotifier(config, { log }));
