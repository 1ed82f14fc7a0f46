import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { useFixture } from './fixture.ts';
import { clientKey, envelope } from './protocol-client.ts';

const fx = useFixture();

/** A POST to the simulator leaving from `localAddress` (loopback: 127.0.0.0/8 all reach 127.0.0.1). */
function postFrom(localAddress: string, path: string, body: unknown): Promise<{ status: number; text: string }> {
  const url = new URL(`${fx.sim.baseUrl}${path}`);
  const json = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        localAddress,
        agent: false,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(json);
  });
}

async function passwordFrom(localAddress: string, account: { clientId: string; password: string }) {
  const { clientPub } = clientKey();
  const exchanged = await postFrom(localAddress, '/get/enckey', { ceData: clientPub });
  const serverPub = (JSON.parse(exchanged.text) as { cPubKey: string }).cPubKey;
  const cEncData = envelope(clientPub, serverPub, JSON.stringify({ clientId: account.clientId, password: account.password }));
  return postFrom(localAddress, '/validatepassword', { cEncData });
}

describe('allowedSources', () => {
  it('serves a whitelisted client only from its addresses, others with a bare 403, and counts the sources', async () => {
    const listed = fx.fresh();
    const other = fx.fresh();
    fx.sim.setKnobs({ allowedSources: { [listed.clientId]: ['127.0.0.2'] } });

    const ok = await passwordFrom('127.0.0.2', listed);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text)).toMatchObject({ status: 'Ok' });

    const refused = await passwordFrom('127.0.0.3', listed);
    expect(refused).toEqual({ status: 403, text: 'Forbidden' });

    // A client without a list is served from anywhere.
    expect((await passwordFrom('127.0.0.3', other)).status).toBe(200);

    const stats = fx.sim.stats();
    expect(stats.clients[listed.clientId]?.sources).toEqual({ '127.0.0.2': 1, '127.0.0.3': 1 });
    expect(stats.clients[listed.clientId]?.failures).toEqual({ 'HTTP 403': 1 });
    expect(stats.clients[other.clientId]?.sources).toEqual({ '127.0.0.3': 1 });
  });

  it('refuses an address that is not a literal IP', () => {
    expect(() => fx.sim.setKnobs({ allowedSources: { X1: ['localhost'] } })).toThrow(/allowedSources/);
  });
});
