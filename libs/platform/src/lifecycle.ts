import type { Logger } from './logger.ts';

/**
 * Runs a service's `main` and turns SIGTERM/SIGINT into one call of the `stop` it returns.
 * Entry points hold no logic: `runService(log, main)`.
 */
export function runService(log: Logger, main: () => Promise<{ stop(): Promise<void> }>): void {
  let stopping = false;
  main()
    .then((app) => {
      const shutdown = (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, 'shutting down');
        const hardExit = setTimeout(() => {
          log.error('shutdown took too long, exiting');
          process.exit(1);
        }, 30_000);
        hardExit.unref();
        app.stop().then(
          () => {
            log.info('stopped');
            process.exit(0);
          },
          (err: unknown) => {
            log.error({ err }, 'error during shutdown');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
    })
    .catch((err: unknown) => {
      log.fatal({ err }, 'failed to start');
      process.exit(1);
    });
}
