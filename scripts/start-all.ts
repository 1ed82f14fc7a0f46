/**
 * `pnpm start`: runs the four services, each as its own process, with the configuration in the
 * environment (see README). Ctrl-C stops them gracefully.
 */
import { SERVICES, healthUrl, serviceEnv, startService, stopAll, waitForHealth, type Running } from './services.ts';

async function main() {
  const running: Running[] = [];
  for (const name of SERVICES) {
    running.push(startService(name, serviceEnv(name, process.env)));
    // Persistence migrates the database first; the others need its answers.
    if (name === 'persistence') await waitForHealth(healthUrl('persistence', process.env));
  }
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void stopAll(running).then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const first = await Promise.race(running.map((r) => r.exited.then((code) => ({ name: r.name, code }))));
  if (!stopping) {
    console.error(`${first.name} exited with code ${first.code}; stopping the others`);
    await stopAll(running);
    process.exit(1);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
