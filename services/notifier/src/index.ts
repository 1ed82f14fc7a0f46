export { startNotifier, type Notifier, type NotifierOptions } from './app.ts';
export { notifierConfigSchema, type NotifierConfig } from './config.ts';
export { Headers, REPLAY_WINDOW_SECONDS, deliveryHeaders, signatureOf, verifySignature } from './signing.ts';
export { afterFailedAttempt, parseRetryAfter, retrySchedule, type RetryPolicy } from './retry.ts';
export { renderBody, slackText } from './render.ts';
export { consumerName, parseWebhookEntry, type Webhook } from './webhooks.ts';
