import { parseCliOptions, USAGE, UsageError } from './cli-options.ts';
import { startSimulator } from './server.ts';

async function main(): Promise<void> {
  const options = parseCliOptions(process.argv.slice(2), process.env['INIT_CWD'] ?? process.cwd());
  if (options.help) {
    console.log(USAGE);
    return;
  }
  const sim = await startSimulator({ port: options.port, host: options.host, accounts: options.accounts, knobs: options.knobs });
  console.log(`IIFL simulator listening on ${sim.url}`);
  console.log(`IIFL_BASE_URL=${sim.baseUrl}`);
  console.log(`IIFL_IDAAS_URL=${sim.idaasUrl}`);
  console.log(`login page: ${sim.loginPageUrl}?v=1&appkey=<appKey>&redirecturl=<url>`);
  console.log(`answer shape: ${sim.knobs().answerShape}`);
  console.log(`admin: GET ${sim.url}/admin/stats, POST ${sim.url}/admin/knobs`);
  if (options.accountsSource === 'demo') {
    // Demo values only: printing them is the point.
    console.log('demo accounts:');
    console.table(
      options.accounts.map((a) => ({
        clientId: a.clientId,
        password: a.password,
        appKey: a.appKey,
        appSecret: a.appSecret,
        totpSecret: a.totpSecret,
        blocked: a.blocked === true,
      })),
    );
  } else {
    console.log(`${options.accounts.length} accounts (${options.accountsSource})`);
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: closing`);
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  if (err instanceof UsageError) {
    console.error(`iifl-sim: ${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  console.error('iifl-sim failed to start:', err);
  process.exit(1);
});
