import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '@refresher/platform';
import { consumerName, notifierConfigSchema } from '../src/index.ts';

const secret = 'a-webhook-secret-of-32-characters';
const load = (env: Record<string, string>) => loadConfig(notifierConfigSchema, env);
const problems = (env: Record<string, string>) => {
  try {
    load(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  return 'no problem';
};

describe('the notifier’s configuration', () => {
  it('reads comma-separated webhooks, each with its format, named by a hash of its URL', () => {
    const config = load({
      WEBHOOK_URLS:
        ' https://ops.example/hook , slack=https://hooks.slack.example/services/T/B/x,json=http://127.0.0.1:9/h,https://ops.example/hook',
      WEBHOOK_SECRET: secret,
      WEBHOOK_FORMAT: 'slack',
    });
    expect(config.webhooks.map((w) => [w.url, w.format, w.host])).toEqual([
      ['https://ops.example/hook', 'slack', 'ops.example'],
      ['https://hooks.slack.example/services/T/B/x', 'slack', 'hooks.slack.example'],
      ['http://127.0.0.1:9/h', 'json', '127.0.0.1:9'],
    ]);
    const names = config.webhooks.map(consumerName);
    expect(new Set(names).size).toBe(3);
    expect(names.every((n) => /^notifier-[0-9a-f]{16}$/.test(n))).toBe(true);
    expect(load({ WEBHOOK_URLS: 'https://ops.example/hook', WEBHOOK_SECRET: secret }).webhooks[0]!.id).toBe(config.webhooks[0]!.id);
  });

  it('runs with no webhook and no secret; a webhook needs a secret of 16 characters or more', () => {
    expect(load({}).webhooks).toEqual([]);
    expect(problems({ WEBHOOK_URLS: 'https://ops.example/hook' })).toContain('WEBHOOK_SECRET: at least 16 characters');
    expect(problems({ WEBHOOK_URLS: 'https://ops.example/hook', WEBHOOK_SECRET: 'short' })).toContain('WEBHOOK_SECRET');
  });

  it('names a bad entry by its position, never by its text (a webhook URL may hold a secret)', () => {
    const message = problems({
      WEBHOOK_URLS: 'https://ok.example/h,ftp://files.example/secret-path-123,not a url',
      WEBHOOK_SECRET: secret,
    });
    expect(message).toContain('entry 2 is not an http(s) URL');
    expect(message).toContain('entry 3 is not a URL');
    expect(message).not.toContain('secret-path-123');
    expect(problems({ WEBHOOK_URLS: 'https://user:pw-123@ops.example/h', WEBHOOK_SECRET: secret })).not.toContain('pw-123');
    expect(problems({ WEBHOOK_FORMAT: 'xml' })).toContain('WEBHOOK_FORMAT');
  });
});
