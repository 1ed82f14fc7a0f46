import { createHash } from 'node:crypto';
import { sealEnvelope } from './envelope.ts';
import { exchangeKey, opt, sessionStep, totpStep, withKeyPair, type LoginFlow } from './login-flow.ts';

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

/**
 * The idaas variant from IIFL's web app (spec, "A second headless variant"): vendor details, key
 * exchange at the auth host, password and TOTP sealed both ways, the vendor's authCode, session.
 */
export const headlessV2: LoginFlow = (context, credentials, signal) =>
  withKeyPair(context, async ({ clientPub, privateKey }) => {
    const { caller, config, secrets } = context;
    const { userID, appKey } = credentials;
    const { baseUrl: api, idaasUrl: idaas, paths } = config;
    const deviceId = deviceIdFor(userID);

    await caller.send({ endpoint: 'vendor-details', method: 'POST', url: `${api}${paths.vendorDetails}`, json: { vendor: appKey }, ...opt(signal) });
    const serverKey = await exchangeKey(context, { endpoint: 'v2-enckey', url: `${idaas}${paths.v2EncKey}`, clientPub, privateKey }, signal);
    const seal = (payload: object) => sealEnvelope(JSON.stringify(payload), clientPub, serverKey);

    const loginToken = await context.keyAssociation.afterExchange(
      idaas,
      () =>
        caller.expect(
          {
            endpoint: 'v2-password',
            method: 'POST',
            url: `${idaas}${paths.v2Password}`,
            json: { cEncData: seal({ userId: userID, password: credentials.password, deviceId, versionNo: VERSION_NO, ...WEB_APP }) },
            privateKey,
            ...opt(signal),
          },
          'loginToken',
        ),
      signal,
    );
    secrets.push(loginToken);

    const accessToken = await totpStep(
      context,
      credentials,
      (totp) =>
        caller.expect(
          {
            endpoint: 'v2-totp',
            method: 'POST',
            url: `${idaas}${paths.v2Totp}`,
            json: { cEncData: seal({ userId: userID, totp, deviceId, ...WEB_APP }) },
            bearer: loginToken,
            privateKey,
            ...opt(signal),
          },
          'accessToken',
        ),
      signal,
    );
    secrets.push(accessToken);

    const authCode = await caller.expect(
      {
        endpoint: 'vendor-authorize',
        method: 'POST',
        url: `${api}${paths.vendorAuthorize}`,
        json: { userId: userID, vendor: appKey },
        bearer: accessToken,
        privateKey,
        ...opt(signal),
      },
      'authCode',
    );
    secrets.push(authCode);
    return sessionStep(context, { userID, authCode, appSecret: credentials.appSecret }, privateKey, signal);
  });
