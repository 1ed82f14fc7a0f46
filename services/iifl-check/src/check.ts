import { isCredentialRejection } from '@refresher/contracts';
import {
  createIiflClient,
  describeEgress,
  IiflError,
  iiflClientConfigFromEnv,
  iiflClientEnvSchema,
  jwtExpiry,
  redactSecrets,
  type IiflClientConfig,
  type LoginResult,
  type ObservedAnswer,
} from '@refresher/iifl-client';
import { describeShape, stringsIn } from './answer-shape.ts';
import type { CheckArgs } from './args.ts';

export interface CheckOutput {
  out(line: string): void;
}

/** The client configuration from the environment; zod's issues name the variables only. */
export function clientConfigFrom(env: Record<string, string | undefined>): IiflClientConfig {
  return iiflClientConfigFromEnv(iiflClientEnvSchema.parse(env));
}

/**
 * One login (or one authCode exchange) with retries off, reported call by call. Exit code 0 when a
 * token came back, 1 when IIFL refused or the answer was not understood.
 */
export async function runCheck(args: CheckArgs, config: IiflClientConfig, io: CheckOutput): Promise<number> {
  const secrets: string[] = Object.values(args.credentials).filter((v): v is string => typeof v === 'string');
  if (args.authCode) secrets.push(args.authCode);
  const scrub = (text: string) => redactSecrets(text, secrets);
  const say = (line: string) => io.out(scrub(line));
  let step = 0;
  const observe = (answer: ObservedAnswer) => {
    // Every long string of an answer is treated as secret, except the user's own id.
    secrets.push(...stringsIn(answer.body).filter((value) => value !== args.userID));
    step += 1;
    const shape =
      answer.body === undefined
        ? `not JSON (${answer.text?.length ?? 0} chars${answer.text ? `: ${JSON.stringify(answer.text.slice(0, 40))}` : ''})`
        : describeShape(answer.body, scrub);
    const retryAfter = answer.retryAfterMs === null ? '' : ` Retry-After ${answer.retryAfterMs} ms`;
    say(
      `${String(step).padStart(2)}. ${answer.endpoint.padEnd(17)} HTTP ${answer.httpStatus}${retryAfter}  ${answer.sealed ? 'sealed, opened: ' : ''}${shape}`,
    );
  };

  const flow = args.flow ?? config.loginFlow;
  say(
    `IIFL check: user ${args.userID}, flow ${flow}, ${config.baseUrl}${flow === 'headless-v2' ? ` and ${config.idaasUrl}` : ''}` +
      ` from ${describeEgress(args.egress)}; retries off`,
  );
  const client = createIiflClient(config, { observe });
  try {
    const result = await attempt(client, args, flow);
    secrets.push(result.token);
    reportToken(result, args.userID, say);
    await reportProfile(client, result.token, args, say);
    return 0;
  } catch (error) {
    reportFailure(error, say);
    return 1;
  } finally {
    await client.close();
  }
}

function attempt(client: ReturnType<typeof createIiflClient>, args: CheckArgs, flow: string): Promise<LoginResult> {
  const c = args.credentials;
  const { egress } = args;
  if (flow === 'redirect')
    return client.sessionFromAuthCode({ userID: args.userID, authCode: args.authCode!, appSecret: c.appSecret, egress });
  return client.login({
    userID: args.userID,
    password: c.password!,
    appKey: c.appKey!,
    appSecret: c.appSecret,
    totpSecret: c.totpSecret!,
    flow: flow === 'headless-v2' ? 'headless-v2' : 'headless-v1',
    egress,
  });
}

/** What the token says of itself: a JWT's header and claim names, its client and expiry. */
function reportToken(result: LoginResult, userID: string, say: (line: string) => void): void {
  const parts = result.token.split('.');
  const json = (part: string | undefined): Record<string, unknown> | null => {
    try {
      return part ? (JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  };
  const header = parts.length === 3 ? json(parts[0]) : null;
  const claims = parts.length === 3 ? json(parts[1]) : null;
  say(`Result: logged in. Session token: ${result.token.length} chars${header ? `, a JWT (alg ${String(header['alg'])})` : ', not a JWT'}`);
  if (claims) {
    say(`  claims: ${Object.keys(claims).sort().join(', ')}`);
    const named = claims['preferred_username'];
    if (named !== undefined) say(`  preferred_username is the user: ${named === userID ? 'yes' : 'NO'}`);
  }
  const fromExp = jwtExpiry(result.token) !== null;
  say(
    `  tokenValidity: ${result.tokenValidity.toISOString()} (${fromExp ? "the JWT's exp" : 'no exp: IIFL_TOKEN_VALID_UNTIL in REFRESH_TIMEZONE'})`,
  );
}

async function reportProfile(
  client: ReturnType<typeof createIiflClient>,
  token: string,
  args: CheckArgs,
  say: (line: string) => void,
): Promise<void> {
  try {
    const { clientId } = await client.checkToken(token, undefined, args.egress);
    say(`  profile answers for ${clientId}: the token works`);
  } catch (error) {
    say(`  profile did not accept the token: ${error instanceof Error ? error.message : 'error'}`);
  }
}

function reportFailure(error: unknown, say: (line: string) => void): void {
  if (!(error instanceof IiflError)) {
    say(`Result: failed inside the client (${error instanceof Error ? error.name : 'error'})`);
    return;
  }
  say(`Result: failed at ${error.endpoint ?? 'the client'}: ${error.code}`);
  say(`  IIFL code ${error.brokerCode ?? 'none'}, HTTP ${error.httpStatus ?? 'none'}; ${error.message}`);
  const retried = error.retryable ? 'yes, with back-off' : 'no';
  say(`  the system would retry it: ${retried}`);
  say(
    `  later runs skip the account until its credentials change or an operator refreshes it: ${isCredentialRejection(error.code) ? 'yes' : 'no'}`,
  );
}
