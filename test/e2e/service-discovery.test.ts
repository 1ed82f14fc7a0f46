import { describe, expect, it } from 'vitest';
import { RequestStrategy, type NatsConnection, type QueuedIterator, type ServiceInfo, type ServiceStats } from 'nats';
import { IiflAuthApi, PersistenceApi, type Endpoint } from '@refresher/contracts';
import { decodeJson, encodeJson } from '@refresher/platform';
import { generateAccounts } from '@refresher/iifl-sim';
import { useSystem } from './harness.ts';

/**
 * Every service that answers requests does so on the NATS services API: it answers `$SRV.PING`,
 * lists its endpoints in `$SRV.INFO` (each entry of its table in the contracts, with its subject),
 * counts requests and errors in `$SRV.STATS`, and refuses with the `Nats-Service-Error` headers.
 * The services run as processes over real NATS and Postgres, with the simulator as IIFL.
 */

/** The request-reply services and their tables in `libs/contracts/src/api/endpoints.ts`. */
const TABLES = [PersistenceApi, IiflAuthApi];

function endpointsOf(table: Record<string, unknown>): Endpoint[] {
  return Object.values(table).filter((value): value is Endpoint => typeof value === 'object' && value !== null && 'subject' in value);
}

async function collect<T>(answers: Promise<QueuedIterator<T>>): Promise<T[]> {
  const found: T[] = [];
  for await (const answer of await answers) found.push(answer);
  return found;
}

/** A raw request, as a client without the platform's helpers would send it. */
async function ask(nc: NatsConnection, subject: string, body: unknown) {
  const reply = await nc.request(subject, encodeJson(body), { timeout: 5_000 });
  return { code: reply.headers?.get('Nats-Service-Error-Code'), error: reply.headers?.get('Nats-Service-Error'), body: reply.data };
}

describe('service discovery', () => {
  const [account] = generateAccounts(1, 'srv');
  const system = useSystem([account!], [{ ...account!, clientName: 'Discovered' }], { REFRESH_SCHEDULE: '0 0 1 1 *' });
  const client = () => system.nc.services.client({ strategy: RequestStrategy.Timer, maxWait: 1_500 });

  it('$SRV.PING is answered by every request-reply service', async () => {
    const names = (await collect(client().ping())).map((p) => p.name);
    for (const table of TABLES) expect(names).toContain(table.serviceName);
    // Any other service that answers (a notifier, say) must answer INFO and STATS as well.
    for (const name of new Set(names)) {
      expect((await collect(client().info(name))).length).toBeGreaterThan(0);
      expect((await collect(client().stats(name))).length).toBeGreaterThan(0);
    }
  });

  it('$SRV.INFO lists every endpoint of the typed table with its subject', async () => {
    for (const table of TABLES) {
      const infos: ServiceInfo[] = await collect(client().info(table.serviceName));
      expect(infos.length, table.serviceName).toBeGreaterThan(0);
      for (const info of infos) {
        const listed = info.endpoints.map((e) => ({ name: e.name, subject: e.subject }));
        const expected = endpointsOf(table).map((e) => ({ name: e.name, subject: e.subject }));
        expect(expected.length).toBeGreaterThan(1);
        expect(listed).toEqual(expect.arrayContaining(expected));
      }
    }
  });

  it('$SRV.STATS counts a call and a refused call, and the refusal carries Nats-Service-Error headers', async () => {
    const tokenStatus = async () => {
      const stats: ServiceStats[] = await collect(client().stats(PersistenceApi.serviceName));
      const endpoint = stats.flatMap((s) => s.endpoints ?? []).find((e) => e.subject === PersistenceApi.tokenStatus.subject);
      if (!endpoint) throw new Error('persistence lists no token-status endpoint in its stats');
      return { requests: endpoint.num_requests, errors: endpoint.num_errors };
    };
    const before = await tokenStatus();

    const served = await ask(system.nc, PersistenceApi.tokenStatus.subject, { userID: account!.clientId });
    expect(served.code).toBeUndefined();
    expect(decodeJson(served.body)).toMatchObject({ userID: account!.clientId });
    const refused = await ask(system.nc, PersistenceApi.tokenStatus.subject, { userID: 'NOBODY' });
    expect(refused.code).toBe('404');
    expect(refused.error).toBeTruthy();
    const invalid = await ask(system.nc, PersistenceApi.tokenStatus.subject, { userID: 'bad.id' });
    expect(invalid.code).toBe('400');

    expect(await tokenStatus()).toEqual({ requests: before.requests + 3, errors: before.errors + 2 });
  });

  it('iifl-auth refuses with the same headers', async () => {
    const refused = await ask(system.nc, IiflAuthApi.loginLink.subject, { userID: 'NOBODY' });
    expect(refused.code).toMatch(/^[45]\d\d$/);
    expect(refused.error).toBeTruthy();
    const invalid = await ask(system.nc, IiflAuthApi.redeemLogin.subject, { authCode: '' });
    expect(invalid.code).toBe('400');
  });
});
