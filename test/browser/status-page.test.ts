import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { generateAccounts } from '@refresher/iifl-sim';
import { startRefreshRun } from '@refresher/refresh-runs';
import { useSystem, type SeedUser } from '../e2e/harness.ts';
import { screenshot, signIn, useBrowser } from './chromium.ts';

/**
 * The status page in a real browser (the system's Chromium through playwright-core) against the
 * whole system: the four services as processes, real NATS and Postgres, the simulator as IIFL. One
 * story over one system and one browser: a morning with two failures, put right from the page.
 */
describe('the status page in Chromium', () => {
  const [good, blocked, flaky] = generateAccounts(3, 'status-page');
  const users: SeedUser[] = [
    { ...good!, clientName: 'Good Client' },
    { ...blocked!, clientName: 'Blocked Client' },
    { ...flaky!, clientName: 'Flaky Client' },
  ];
  // An operator's key: it may look, refresh and lift rejection marks.
  const operatorKey = 'status-page-operator-key-0123456789';
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
  const system = useSystem([good!, { ...blocked!, blocked: true }, flaky!], users, {
    API_KEYS: `operator:read+refresh+manage-users:${sha256(operatorKey)}`,
    // No slot of the scheduler in the middle of the story; transient faults retried briefly.
    REFRESH_SCHEDULE: '0 0 1 1 *',
    AUTH_RETRY_MAX_ATTEMPTS: '2',
    AUTH_RETRY_BASE_MS: '100',
    AUTH_RETRY_MAX_DELAY_MS: '200',
  });
  const chrome = useBrowser();
  const origin = () => new URL(system.gatewayUrl).origin;
  let page: Page;
  let navigations = 0;

  const row = (user: { clientId: string }) => page.locator(`#accounts-rows tr[data-user="${user.clientId}"]`);
  const stateOf = (user: { clientId: string }) => row(user).getAttribute('data-state');

  it('signs in and shows the morning of a real run: the verdict, every account, the run', { timeout: 90_000 }, async () => {
    // The morning: IIFL answers 503 to the flaky account's password step, and the blocked account is blocked.
    system.sim.setKnobs({ inject: [{ endpoint: 'validatepassword', clientId: flaky!.clientId, httpStatus: 503 }] });
    const run = await startRefreshRun(system.nc, { trigger: 'schedule' });
    const { completed } = await run.waitForCompletion(60_000);
    run.close();
    expect(completed).toBe(true);

    page = await chrome.browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations += 1;
    });
    expect(await signIn(page, origin(), operatorKey)).toBe(303);
    expect(new URL(page.url()).pathname).toBe('/status');
    await expect.poll(() => page.textContent('#verdict-headline')).toBe('2 need attention');
    expect(await page.locator('#accounts-rows tr').count()).toBe(3);
    expect(await stateOf(good!)).toBe('ok');
    expect(await row(good!).locator('.countdown').textContent()).toMatch(/^\d+h \d{2}m left$/);
    expect(await row(good!).locator('.preview').textContent()).toMatch(/^.{16}\.\.\.$/);
    expect(await stateOf(blocked!)).toBe('rejected');
    expect(await row(blocked!).textContent()).toContain('ACCOUNT_BLOCKED');
    expect(await row(blocked!).locator('.mark').count()).toBe(1);
    expect(await stateOf(flaky!)).toBe('failed');
    expect(await row(flaky!).textContent()).toContain('BROKER_UNAVAILABLE');
    expect(await page.locator(`#runs-rows tr[data-run="${run.start.runId}"]`).textContent()).toContain('schedule');
    // Nothing secret reached the page: no key, no token (previews only).
    const html = await page.content();
    expect(html).not.toContain(operatorKey);
    const [stored] = (await system.sql.query('select token from "IIFLUser" where "userID" = $1', [good!.clientId])).rows;
    expect(html).not.toContain(stored.token);
    await screenshot(page, 'signed-in');
  });

  it('filters the list: needs attention, by status, by search', async () => {
    await page.check('#attention');
    expect(await page.locator('#accounts-rows tr:visible').count()).toBe(2);
    await page.uncheck('#attention');
    await page.selectOption('#state-filter', 'rejected');
    expect(await page.locator('#accounts-rows tr:visible').count()).toBe(1);
    await page.selectOption('#state-filter', '');
    await page.fill('#search', 'flaky');
    expect(await page.locator('#accounts-rows tr:visible').getAttribute('data-user')).toBe(flaky!.clientId);
    await page.fill('#search', '');
    expect(await page.locator('#accounts-rows tr:visible').count()).toBe(3);
    await screenshot(page, 'filters');
  });

  it('turns a fixed account green without a reload: fixed at IIFL, mark lifted, refreshed from its row', { timeout: 60_000 }, async () => {
    await page.evaluate(() => Object.assign(window, { stayedOnPage: true }));
    const before = navigations;
    // The account is unblocked at IIFL; the broker's rejection mark is lifted from the page.
    system.sim.addAccounts([blocked!]);
    await row(blocked!).locator('button[data-action="lift"]').click();
    await expect.poll(() => page.textContent('#notice')).toBe(`Rejection mark of ${blocked!.clientId} lifted.`);
    await expect.poll(() => row(blocked!).locator('.mark').count()).toBe(0);
    expect(await stateOf(blocked!)).toBe('failed');

    await row(blocked!).locator('button[data-action="refresh"]').click();
    await page.waitForSelector(`#accounts-rows tr[data-user="${blocked!.clientId}"][data-state="ok"]`, { timeout: 45_000 });
    expect(await row(blocked!).locator('.countdown').textContent()).toMatch(/left$/);
    expect(await row(blocked!).locator('.c-failure').textContent()).toBe('');
    await expect.poll(() => page.textContent('#verdict-headline')).toBe('1 need attention');
    // The same document all along: no navigation, the marker set before is still there.
    expect(navigations).toBe(before);
    expect(await page.evaluate(() => (window as unknown as { stayedOnPage?: boolean }).stayedOnPage)).toBe(true);
    await screenshot(page, 'refreshed-from-row');
  });

  it('refreshes the failed ones from the page: the morning turns all refreshed', { timeout: 60_000 }, async () => {
    system.sim.setKnobs({ inject: [] });
    await page.click('#refresh-failed');
    await expect.poll(() => page.textContent('#notice')).toMatch(/^Run \S+ retries 1 failed user\(s\)\.$/);
    await page.waitForSelector(`#accounts-rows tr[data-user="${flaky!.clientId}"][data-state="ok"]`, { timeout: 45_000 });
    await expect.poll(() => page.textContent('#verdict-headline')).toBe('All refreshed');
    expect(await page.getAttribute('#verdict', 'data-status')).toBe('ok');
    expect(await page.evaluate(() => (window as unknown as { stayedOnPage?: boolean }).stayedOnPage)).toBe(true);
    // The pass shows among the runs, linked to the morning.
    expect(await page.locator('#runs-rows tr').first().textContent()).toContain('pass of');
    await screenshot(page, 'refreshed-failed');
  });

  it('refuses a wrong key at sign-in and sets no cookie', async () => {
    const context = await chrome.browser.newContext();
    const other = await context.newPage();
    try {
      expect(await signIn(other, origin(), 'a-wrong-key-0123456789')).toBe(401);
      expect(await other.textContent('.error')).toBe('That key was not accepted.');
      expect(await context.cookies()).toEqual([]);
      expect(await other.locator('#accounts').count()).toBe(0);
      await screenshot(other, 'wrong-key');
    } finally {
      await context.close();
    }
  });

  it('fits a phone: the verdict and the list without horizontal scrolling', async () => {
    const context = await chrome.browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const phone = await context.newPage();
    try {
      expect(await signIn(phone, origin(), operatorKey)).toBe(303);
      await expect.poll(() => phone.textContent('#verdict-headline')).toBe('All refreshed');
      const verdict = await phone.locator('#verdict').boundingBox();
      expect(verdict!.y + verdict!.height).toBeLessThanOrEqual(844);
      expect(await phone.locator('#accounts-rows tr').first().isVisible()).toBe(true);
      const widths = await phone.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        client: document.documentElement.clientWidth,
      }));
      expect(widths.scroll).toBeLessThanOrEqual(widths.client);
      await screenshot(phone, 'phone');
    } finally {
      await context.close();
    }
  });
});
