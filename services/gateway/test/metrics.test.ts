import { afterAll, beforeAll, expect, it } from 'vitest';
import { startNats, type TestNats } from '@refresher/testkit';
import { startTestGateway, type TestGateway } from './helpers.ts';

let nats: TestNats;
let gw: TestGateway;

beforeAll(async () => {
  nats = await startNats();
  gw = await startTestGateway(nats.url);
});

afterAll(async () => {
  await gw?.gateway.stop();
  await nats?.dispose();
});

/** The value of the `refresher_http_requests_total` series with exactly these labels, 0 when absent. */
function requests(text: string, labels: { method: string; route: string; status: number }): number {
  const want = `refresher_http_requests_total{method="${labels.method}",route="${labels.route}",status="${labels.status}",service="gateway"} `;
  const line = text.split('\n').find((l) => l.startsWith(want));
  return line ? Number(line.slice(want.length)) : 0;
}

it('counts requests by route pattern and status, never with the user id of the path', async () => {
  const userID = 'METRICSUSER42';
  const scrape = async () => {
    const res = await gw.call('GET', '/metrics', { auth: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    return res.text;
  };
  const before = await scrape();
  // No persistence answers: the route fails through the app's error handler (503), after its router.
  const refresh = await gw.call('POST', `/api/integration/tokens/refresh/${userID}`);
  expect(refresh.status).toBe(503);
  const status = await gw.call('GET', `/api/integration/users/${userID}/token`);
  expect(status.status).toBe(503);
  expect((await gw.call('GET', `/api/integration/tokens/refresh/${userID}`, { auth: null })).status).toBe(401);
  expect((await gw.call('GET', `/no/such/${userID}`, { auth: null })).status).toBe(404);
  await gw.call('GET', '/healthz', { auth: null });

  const after = await scrape();
  expect(after).not.toContain(userID);
  const delta = (labels: Parameters<typeof requests>[1]) => requests(after, labels) - requests(before, labels);
  expect(delta({ method: 'POST', route: '/api/integration/tokens/refresh/:userID', status: 503 })).toBe(1);
  expect(delta({ method: 'GET', route: '/healthz', status: 200 })).toBe(1);
  // Refused before routing (401) and unknown paths (404) share one label.
  expect(delta({ method: 'GET', route: 'unmatched', status: 401 })).toBe(1);
  expect(delta({ method: 'GET', route: 'unmatched', status: 404 })).toBe(1);
  const statusRoutes = after.split('\n').filter((l) => l.startsWith('refresher_http_requests_total') && l.includes('/users/'));
  expect(statusRoutes).toEqual([expect.stringMatching(/route="\/api\/integration\/users\/:userID\/token"/)]);
  // Node's default metrics carry the service label too.
  expect(after).toMatch(/^refresher_process_cpu_user_seconds_total\{service="gateway"\} /m);
});
