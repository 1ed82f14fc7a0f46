/**
 * `pnpm start`: runs the services (persistence, iifl-auth, scheduler, gateway, notifier), each as its own process, with the configuration in the
 * environment (see README), and keeps them running: a service that dies is started again after a
 * back-off, and the output says so. Ctrl-C (SIGINT) or SIGTERM stops them all gracefully; a second
 * Ctrl-C kills them at once. With neither DATABASE_URL nor a PostgreSQL on 127.0.0.1:5432, it runs
 * an embedded PostgreSQL (scripts/embedded-postgres.ts) and says so.
 */
import { EMBEDDED_POOL_MAX, embeddedDataDir, needsEmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres.ts';
import { SERVICES, healthUrl, serviceEnv, startService, waitForHealth } from './services.ts';
import { createSupervisor } from './supervisor.ts';

/** 1 s after the first crash, doubling to 30 s; a service that ran a minute counts as healthy again. */
const RESTART_BACKOFF = { baseMs: 1_000, maxDelayMs: 30_000 };
const STABLE_MS = 60_000;

const say = (line: string) => console.log(`${'[start]'.padEnd(14)} ${line}`);
const supervisor = createSupervisor({ backoff: RESTART_BACKOFF, stableMs: STABLE_MS, say });

let stopping = false;
let stopDatabase = async () => {};
function stop(signal: NodeJS.Signals): void {
  if (stopping) {
    say(`${signal} again: killing every service`);
    void supervisor.stop('SIGKILL');
    return;
  }
  stopping = true;
  say(`${signal}: stopping every service`);
  void supervisor
    .stop()
    .then(stopDatabase)
    .then(() => process.exit(0));
}

async function main(): Promise<void> {
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  if (await needsEmbeddedPostgres(process.env)) {
    const embedded = await startEmbeddedPostgres(embeddedDataDir(process.env, 'postgres'));
    say(
      `DATABASE_URL is unset and no PostgreSQL answers on 127.0.0.1:5432: running an embedded PostgreSQL (PGlite) ` +
        `at ${embedded.url}, data in ${embedded.dataDir}. For trying and development, not for production.`,
    );
    process.env.DATABASE_URL = embedded.url;
    process.env.DB_POOL_MAX ??= EMBEDDED_POOL_MAX;
    stopDatabase = embedded.stop;
  }
  for (const name of SERVICES) {
    if (stopping) return;
    supervisor.add({ name, start: () => startService(name, serviceEnv(name, process.env)) });
    // Persistence migrates the database first; the others need its answers.
    if (name === 'persistence') await waitForHealth(healthUrl('persistence', process.env));
  }
}

main().catch(async (err: unknown) => {
  console.error(err);
  stopping = true;
  await supervisor.stop();
  await stopDatabase();
  process.exit(1);
});
