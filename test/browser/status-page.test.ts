import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { generateAccounts, totpAt } from '@refresher/iifl-sim';
import { startRefreshRun } from '@refresher/refresh-runs';
import { redirectUser, useSystem, type RedirectSeedUser, type SeedUser } from '../e2e/harness.ts';
import { screenshot, signIn, useBrowser } from './chromium.ts';

/**
 * The status page in a real browser (the system's Chromium through playwright-core) against the
 * whole system: the four services as processes, real NATS and Postgres, the simulator as IIFL. One
 * story over one system and one browser: a morning with two failures, put right from the page.
 */
/** What the page is given to catch up with an event: generous on two busy cores, never slept through. */
const WAIT = { timeout: 10_000, interval: 50 };

describe('the status page in Chromium', () => {
  const [good, blocked, flaky, browserLogin] = generateAccounts(4, 'status-page');
  const users: Array<SeedUser | RedirectSeedUser> = [
    { ...good!, clientName: 'Good Client' },
    { ...blocked!, clientName: 'Blocked Client' },
    { ...flaky!, clientName: 'Flaky Client' },
    // Logs in on IIFL's own page through a login link: the run skips it LOGIN_REQUIRED.
    redirectUser(browserLogin!, 'Browser Client'),
  ];
  // An operator's key: it may look, refresh and lift rejection marks.
  const operatorKey = 'status-page-operator-key-0123456789';
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
  const system = useSystem([good!, { ...blocked!, blocked: true }, flaky!, browserLogin!], users, {
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
    const { completed, summary } = await run.waitForCompletion(60_000);
    run.close();
    expect(completed, JSON.stringify(summary.results)).toBe(true);

    page = await chrome.browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations += 1;
    });
    expect(await signIn(page, origin(), operatorKey)).toBe(303);
    expect(new URL(page.url()).pathname).toBe('/status');
    await expect.poll(() => page.textContent('#verdict-headline'), WAIT).toBe('3 need attention');
    expect(await page.locator('#accounts-rows tr').count()).toBe(4);
    expect(await stateOf(good!)).toBe('ok');
    expect(await row(good!).locator('.countdown').textContent()).toMatch(/^\d+h \d{2}m left$/);
    expect(await row(good!).locator('.preview').textContent()).toMatch(/^.{16}\.\.\.$/);
    expect(await stateOf(blocked!)).toBe('rejected');
    expect(await row(blocked!).textContent()).toContain('ACCOUNT_BLOCKED');
    expect(await row(blocked!).locator('.mark').count()).toBe(1);
    expect(await stateOf(flaky!)).toBe('failed');
    expect(await row(flaky!).textContent()).toContain('BROKER_UNAVAILABLE');
    expect(await stateOf(browserLogin!)).toBe('login-required');
    expect(await row(browserLogin!).locator('a', { hasText: 'IIFL login' }).count()).toBe(1);
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
    expect(await page.locator('#accounts-rows tr:visible').count()).toBe(3);
    await page.uncheck('#attention');
    await page.selectOption('#state-filter', 'rejected');
    expect(await page.locator('#accounts-rows tr:visible').count()).toBe(1);
    await page.selectOption('#state-filter', '');
    await page.fill('#search', 'flaky');
    expect(await page.locator('#accounts-rows tr:visible').getAttribute('data-user')).toBe(flaky!.clientId);
    await page.fill('#search', '');
    expect(await page.locator('#accounts-rows tr:visible').count()).toBe(4);
    await screenshot(page, 'filters');
  });

  it('turns a fixed account green without a reload: fixed at IIFL, mark lifted, refreshed from its row', { timeout: 60_000 }, async () => {
    await page.evaluate('window.stayedOnPage = true');
    const before = navigations;
    // The account is unblocked at IIFL; the broker's rejection mark is lifted from the page.
    system.sim.addAccounts([blocked!]);
    await row(blocked!).locator('button[data-action="lift"]').click();
    await expect.poll(() => page.textContent('#notice'), WAIT).toBe(`Rejection mark of ${blocked!.clientId} lifted.`);
    await expect.poll(() => row(blocked!).locator('.mark').count(), WAIT).toBe(0);
    expect(await stateOf(blocked!)).toBe('failed');

    // IIFL answers slowly: the row shows the refresh under way first, and turns green only when the
    // outcome's server-sent event arrives (the page reads its data again on the event alone).
    system.sim.setKnobs({ latencyMs: 800 });
    await row(blocked!).locator('button[data-action="refresh"]').click();
    await expect.poll(() => page.textContent('#notice'), WAIT).toMatch(/^Refresh of \S+ started \(run \S+\)\.$/);
    await expect.poll(() => stateOf(blocked!), WAIT).toBe('pending');
    await page.waitForSelector(`#accounts-rows tr[data-user="${blocked!.clientId}"][data-state="ok"]`, { timeout: 45_000 });
    expect(await row(blocked!).locator('.countdown').textContent()).toMatch(/left$/);
    expect(await row(blocked!).locator('.c-failure').textContent()).toBe('');
    await expect.poll(() => page.textContent('#verdict-headline'), WAIT).toBe('2 need attention');
    // The same document all along: no navigation, the marker set before is still there.
    expect(navigations).toBe(before);
    expect(await page.evaluate('window.stayedOnPage')).toBe(true);
    await screenshot(page, 'refreshed-from-row');
  });

  it('refreshes the failed ones from the page: the flaky account turns green', { timeout: 60_000 }, async () => {
    system.sim.setKnobs({ inject: [] });
    await page.click('#refresh-failed');
    await expect.poll(() => page.textContent('#notice'), WAIT).toMatch(/^Run \S+ retries 1 failed user\(s\)\.$/);
    await expect.poll(() => stateOf(flaky!), WAIT).toBe('pending');
    await page.waitForSelector(`#accounts-rows tr[data-user="${flaky!.clientId}"][data-state="ok"]`, { timeout: 45_000 });
    await expect.poll(() => page.textContent('#verdict-headline'), WAIT).toBe('1 need attention');
    expect(await page.evaluate('window.stayedOnPage')).toBe(true);
    // The pass shows among the runs, linked to the morning.
    expect(await page.locator('#runs-rows tr').first().textContent()).toContain('pass of');
    system.sim.setKnobs({ latencyMs: 0 });
    await screenshot(page, 'refreshed-failed');
  });

  it("opens a browser-login user's IIFL login link; once logged in there, the morning is all refreshed", { timeout: 60_000 }, async () => {
    const [iifl] = await Promise.all([
      page.context().waitForEvent('page'),
      row(browserLogin!).locator('a', { hasText: 'IIFL login' }).click(),
    ]);
    await iifl.waitForLoadState('domcontentloaded');
    expect(iifl.url().startsWith(system.sim.loginPageUrl)).toBe(true);
    await iifl.fill('input[name="clientId"]', browserLogin!.clientId);
    await iifl.fill('input[name="password"]', browserLogin!.password);
    await iifl.fill('input[name="totp"]', totpAt(browserLogin!.totpSecret, Date.now()));
    await Promise.all([iifl.waitForURL((url) => url.href.startsWith(system.callbackUrl)), iifl.click('form [type="submit"]')]);
    expect(await iifl.textContent('h1')).toBe('Logged in');
    await screenshot(iifl, 'iifl-login-done');
    await iifl.close();
    // Back on the status page. No run carries this login, so no notice announces it: the page reads
    // again when its tab is shown. Headless Chromium shows every page at once and never says so;
    // the test sends the event a browser sends when the tab comes back.
    await page.bringToFront();
    await page.evaluate("document.dispatchEvent(new Event('visibilitychange'))");
    await page.waitForSelector(`#accounts-rows tr[data-user="${browserLogin!.clientId}"][data-state="ok"]`, { timeout: 15_000 });
    await expect.poll(() => page.textContent('#verdict-headline'), WAIT).toBe('All refreshed');
    expect(await page.getAttribute('#verdict', 'data-status')).toBe('ok');
    expect(await page.evaluate('window.stayedOnPage')).toBe(true);
    await screenshot(page, 'all-refreshed');
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
      await expect.poll(() => phone.textContent('#verdict-headline'), WAIT).toBe('All refreshed');
      const verdict = await phone.locator('#verdict').boundingBox();
      expect(verdict!.y + verdict!.height).toBeLessThanOrEqual(844);
      expect(await phone.locator('#accounts-rows tr').first().isVisible()).toBe(true);
      // Expressions run in the page (the test's TypeScript has no DOM types).
      const widths = (await phone.evaluate(
        '({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })',
      )) as { scroll: number; client: number };
      expect(widths.scroll).toBeLessThanOrEqual(widths.client);
      await screenshot(phone, 'phone');
    } finally {
      await context.close();
    }
  });
});
