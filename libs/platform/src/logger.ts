import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths that may hold a secret or a token anywhere a service logs. Fixed in code: a log line must
 * never carry a password, app secret, TOTP seed, API key or session token.
 */
export const REDACT_PATHS = [
  'password',
  'appKey',
  'appSecret',
  'totpSecret',
  'token',
  'userSession',
  'authCode',
  'checkSum',
  'credentials',
  'authorization',
  'apiKey',
  '*.password',
  '*.appKey',
  '*.appSecret',
  '*.totpSecret',
  '*.token',
  '*.userSession',
  '*.authCode',
  '*.checkSum',
  '*.credentials',
  '*.authorization',
  '*.apiKey',
  '*.*.token',
  '*.*.password',
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
];

export function createLogger(
  name: string,
  level: LoggerOptions['level'] = 'info',
  destination?: pino.DestinationStream,
): Logger {
  const options: LoggerOptions = {
    name,
    level: level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: name },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
