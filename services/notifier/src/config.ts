import { z } from 'zod';
import { env, natsEnvSchema } from '@refresher/platform';
import { WEBHOOK_FORMATS, parseWebhookEntry, type Webhook } from './webhooks.ts';

const MINUTE_MS = 60_000;

export const notifierConfigSchema = natsEnvSchema
  .extend({
    /**
     * Where notices go: comma-separated http(s) URLs, each optionally after `json=` or `slack=`
     * (its body's format; WEBHOOK_FORMAT otherwise). Empty: the notifier runs and delivers nothing.
     */
    WEBHOOK_URLS: z.string().default(''),
    /** The HMAC-SHA256 key every delivery is signed with; required with any webhook. */
    WEBHOOK_SECRET: z.string().optional(),
    WEBHOOK_FORMAT: z.enum(WEBHOOK_FORMATS).default('json'),
    /** One POST's time limit. */
    WEBHOOK_TIMEOUT_MS: env.positiveInt(10_000),
    /** The wait after a failed attempt, doubled after each one up to WEBHOOK_RETRY_MAX_MS. */
    WEBHOOK_RETRY_BASE_MS: env.positiveInt(1_000),
    WEBHOOK_RETRY_MAX_MS: env.positiveInt(5 * MINUTE_MS),
    /** How long after a notice was stored it is tried; then it goes to tokens.dlq.notifier. */
    WEBHOOK_GIVE_UP_MS: env.positiveInt(60 * MINUTE_MS),
    /** Notices one webhook has under way (delivering or waiting for a retry) at most. */
    WEBHOOK_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(1000).default(16),
    HEALTH_PORT: env.port(8085),
  })
  .transform((config, ctx) => {
    const { WEBHOOK_URLS, WEBHOOK_SECRET, ...rest } = config;
    const entries = WEBHOOK_URLS.split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    const webhooks = new Map<string, Webhook>();
    entries.forEach((entry, i) => {
      const parsed = parseWebhookEntry(entry, i + 1, config.WEBHOOK_FORMAT);
      if (parsed.ok) webhooks.set(parsed.webhook.url, parsed.webhook);
      else ctx.addIssue({ code: 'custom', path: ['WEBHOOK_URLS'], message: parsed.problem });
    });
    const secret = WEBHOOK_SECRET ?? '';
    if (webhooks.size > 0 && secret.length < 16) {
      ctx.addIssue({
        code: 'custom',
        path: ['WEBHOOK_SECRET'],
        message: 'at least 16 characters are required with WEBHOOK_URLS (openssl rand -hex 32)',
      });
    }
    return { ...rest, webhooks: [...webhooks.values()], WEBHOOK_SECRET: secret };
  });
export type NotifierConfig = z.infer<typeof notifierConfigSchema>;
