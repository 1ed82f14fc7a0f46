import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from '@refresher/testkit';

/** Where each browser test leaves its last screenshot (git-ignored; CI keeps the folder as artifacts). */
export const SCREENSHOTS = join(REPO_ROOT, 'test/browser/screenshots');

/**
 * The system's Chromium (Debian's `chromium` package, which .ci/run installs when it is missing):
 * playwright-core drives it and never downloads a browser of its own.
 */
function systemChromium(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('chromium is not installed: apt-get install -y chromium (.ci/run does it on CI)');
  }
}

/** One browser for the test file: launched before its tests, closed after them. */
export function useBrowser(): { browser: Browser } {
  const holder = {} as { browser: Browser };
  beforeAll(async () => {
    holder.browser = await chromium.launch({ executablePath: systemChromium(), headless: true });
  }, 60_000);
  afterAll(() => holder.browser?.close());
  return holder;
}

/** The test's screenshot, whole page, as `<name>.png` in {@link SCREENSHOTS}. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Signs in through the page's form with `key`; answers the sign-in response's status. */
export async function signIn(page: Page, origin: string, key: string): Promise<number> {
  await page.goto(`${origin}/`);
  await page.fill('#key', key);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url() === `${origin}/status/sign-in`),
    page.click('button[type="submit"]'),
  ]);
  await page.waitForLoadState('domcontentloaded');
  return response.status();
}
