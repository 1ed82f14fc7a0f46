import { createHash, type KeyObject } from 'node:crypto';
import { sealEnvelope } from './envelope.ts';
import { exchangeKey, opt, sessionStep, totpStep, withKeyPair, type LoginFlow, type LoginFlowContext } from './login-flow.ts';
import type { LoginCredentials } from './types.ts';

/** What IIFL's web app sends about itself (spec, "A second headless variant"). */
const WEB_APP = { appName: 'IIFLMARKETSWEB', osName: 'WEBINTERNAL' } as const;
const VERSION_NO = 'A.0.0.1';

/**
 * A device id that stays the same for a user across logins and processes (a new one each login
 * could look like a new device to IIFL). No source says what IIFL does with it.
 */
export function deviceIdFor(userID: string): string {
  const hex = createHash('sha256').update(`iifl-token-refresher:${userID}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** What the idaas steps share within one login: where to send, how to seal, the keys. */
interface IdaasLogin {
  context: LoginFlowContext;
  credentials: LoginCredentials;
  privateKey: KeyObject;
  seal: (payload: object) => string;
  deviceId: string;
  signal: AbortSignal | undefined;
}

/** Password, sealed, at the auth host (after the key exchange's association rule): the login token. */
function passwordStep(login: IdaasLogin): Promise<string> {
  const { context, credentials, privateKey, seal, deviceId, signal } = login;
  const { idaasUrl: idaas, paths } = context.config;
  const payload = { userId: credentials.userID, password: credentials.password, deviceId, versionNo: VERSION_NO, ...WEB_APP };
  const send = () =>
    context.caller.expect(
      {
        endpoint: 'v2-password',
        method: 'POST',
        url: `${idaas}${paths.v2Password}`,
        json: { cEncData: seal(payload) },
        privateKey,
        ...opt(signal),
      },
      'loginToken',
    );
  return context.keyAssociation.afterExchange(idaas, send, signal);
}

/** TOTP, sealed, with the login token: the access token (with IIFL's one EC036 allowance). */
function totpAccessStep(login: IdaasLogin, loginToken: string): Promise<string> {
  const { context, credentials, privateKey, seal, deviceId, signal } = login;
  const { idaasUrl: idaas, paths } = context.config;
  return totpStep(
    context,
    credentials,
    (totp) =>
      context.caller.expect(
        {
          endpoint: 'v2-totp',
          method: 'POST',
          url: `${idaas}${paths.v2Totp}`,
          json: { cEncData: seal({ userId: credentials.userID, totp, deviceId, ...WEB_APP }) },
          bearer: loginToken,
          privateKey,
          ...opt(signal),
        },
        'accessToken',
      ),
    signal,
  );
}

/** The vendor's authCode, with the access token. */
function authorizeStep(login: IdaasLogin, accessToken: string): Promise<string> {
  const { context, credentials, privateKey, signal } = login;
  const { baseUrl: api, paths } = context.config;
  return context.caller.expect(
    {
      endpoint: 'vendor-authorize',
      method: 'POST',
      url: `${api}${paths.vendorAuthorize}`,
      json: { userId: credentials.userID, vendor: credentials.appKey },
      bearer: accessToken,
      privateKey,
      ...opt(signal),
    },
    'authCode',
  );
}

/**
 * The idaas variant from IIFL's web app (spec, "A second headless variant"): vendor details, key
 * exchange at the auth host, password and TOTP sealed both ways, the vendor's authCode, session.
 */
export const headlessV2: LoginFlow = (context, credentials, signal) =>
  withKeyPair(context, async ({ clientPub, privateKey }) => {
    const { caller, config, secrets } = context;
    const { baseUrl: api, idaasUrl: idaas, paths } = config;
    await caller.send({
      endpoint: 'vendor-details',
      method: 'POST',
      url: `${api}${paths.vendorDetails}`,
      json: { vendor: credentials.appKey },
      ...opt(signal),
    });
    const serverKey = await exchangeKey(
      context,
      { endpoint: 'v2-enckey', url: `${idaas}${paths.v2EncKey}`, clientPub, privateKey },
      signal,
    );
    const seal = (payload: object) => sealEnvelope(JSON.stringify(payload), clientPub, serverKey);
    const login: IdaasLogin = { context, credentials, privateKey, seal, deviceId: deviceIdFor(credentials.userID), signal };

    const loginToken = await passwordStep(login);
    secrets.push(loginToken);
    const accessToken = await totpAccessStep(login, loginToken);
    secrets.push(accessToken);
    const authCode = await authorizeStep(login, accessToken);
    secrets.push(authCode);
    return sessionStep(context, { userID: credentials.userID, authCode, appSecret: credentials.appSecret }, privateKey, signal);
  });
