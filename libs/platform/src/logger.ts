import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Field names that hold a secret or a token wherever they appear. */
const SECRET_FIELDS = [
  'password',
  'appKey',
  'appSecret',
  'totpSecret',
  'token',
  'accessToken',
  'encryptedToken',
  'userSession',
  'authCode',
  'checkSum',
  'credentials',
  'authorization',
  'cookie',
  'apiKey',
  'secret',
  'pass',
  'privateKey',
  'CREDENTIALS_KEY',
  'CREDENTIALS_OLD_KEYS',
  'INTEGRATION_API_KEY',
  'NATS_PASSWORD',
  'NATS_TOKEN',
];

/**
 * Paths that may hold a secret or a token anywhere a service logs: each field at the top and up to
 * three levels down (an event, a request body, an error's cause), plus whole bodies and payloads,
 * which are never logged. Fixed in code: a log line must never carry a password, app secret, TOTP
 * seed, API key or session token.
 */
export const REDACT_PATHS = [
  ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`, `*.*.*.${field}`]),
  'body',
  'payload',
  'data',
  '*.body',
  '*.payload',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'config.headers',
  'err.config.headers',
  'err.response.data',
  'err.options.headers',
  'err.options.json',
  'err.options.body',
];

export function createLogger(name: string, level: LoggerOptions['level'] = 'info', destination?: pino.DestinationStream): Logger {
  const options: LoggerOptions = {
    name,
    level: level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: name },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
