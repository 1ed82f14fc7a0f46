import { afterAll, beforeAll, expect, it } from 'vitest';
import { startNats, waitFor, type TestNats } from '@refresher/testkit';
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

it('follows the NATS connection: 503 while it is down, 200 again after the reconnect', async () => {
  expect((await gw.call('GET', '/healthz', { auth: null })).status).toBe(200);

  await nats.stop();
  const down = await waitFor('healthz to report the disconnect', async () => {
    const res = await gw.call('GET', '/healthz', { auth: null });
    return res.status === 503 ? res : undefined;
  });
  expect(down.body).toMatchObject({ status: 'unavailable' });

  await nats.start();
  await waitFor('healthz to report the reconnect', async () => {
    const res = await gw.call('GET', '/healthz', { auth: null });
    return res.status === 200 ? res : undefined;
  });
});
