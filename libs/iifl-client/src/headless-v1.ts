import { sealEnvelope } from './envelope.ts';
import { exchangeKey, opt, sessionStep, totpStep, withKeyPair, type LoginFlow } from './login-flow.ts';

/**
 * The existing system's login (spec, "The headless login"): key exchange, password in an envelope,
 * TOTP with the login token, session from the checksum.
 */
export const headlessV1: LoginFlow = (context, credentials, signal) =>
  withKeyPair(context, async ({ clientPub, privateKey }) => {
    const { caller, config, secrets } = context;
    const { userID } = credentials;
    const api = config.baseUrl;
    const serverKey = await exchangeKey(
      context,
      { endpoint: 'enckey', url: `${api}${config.paths.encKey}`, clientPub, privateKey },
      signal,
    );

    const loginToken = await context.keyAssociation.afterExchange(
      api,
      () => {
        const cEncData = sealEnvelope(JSON.stringify({ clientId: userID, password: credentials.password }), clientPub, serverKey);
        return caller.expect(
          {
            endpoint: 'validatepassword',
            method: 'POST',
            url: `${api}${config.paths.validatePassword}`,
            json: { cEncData },
            privateKey,
            ...opt(signal),
          },
          'loginToken',
        );
      },
      signal,
    );
    secrets.push(loginToken);

    const authCode = await totpStep(
      context,
      credentials,
      (totp) =>
        caller.expect(
          {
            endpoint: 'validatetotp',
            method: 'POST',
            url: `${api}${config.paths.validateTotp}`,
            json: { clientId: userID, totp, appKey: credentials.appKey },
            bearer: loginToken,
            privateKey,
            ...opt(signal),
          },
          'authCode',
        ),
      signal,
    );
    secrets.push(authCode);
    return sessionStep(context, { userID, authCode, appSecret: credentials.appSecret }, privateKey, signal);
  });
