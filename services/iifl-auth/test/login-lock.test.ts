import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type KV, type KvEntry, type NatsConnection } from 'nats';
import { createLogger } from '@refresher/platform';
import { startNats, waitFor, type TestNats } from '@refresher/testkit';
import { createLoginLock, GateAbortedError, type LoginClaim, type LoginLock } from '../src/login-lock.ts';
import { createSharedTotpGuard } from '../src/shared-totp-guard.ts';

let nats: TestNats;
let nc: NatsConnection;
let kv: KV;
let totpKv: KV;
const log = createLogger('login-lock-test', 'silent');
const TTL_MS = 1_500;
/** A signal that never aborts: the claims that are not stopped. */
const noAbort = new AbortController().signal;

/** Two "replicas": separate lock instances over the same bucket. */
let a: LoginLock;
let b: LoginLock;

beforeAll(async () => {
  nats = await startNats();
  nc = await connect({ servers: nats.url });
  kv = await nc.jetstream().views.kv('test-login-locks', { history: 1, ttl: TTL_MS });
  totpKv = await nc.jetstream().views.kv('test-totp-steps', { history: 1, ttl: 60_000 });
  a = createLoginLock({ kv, ttlMs: TTL_MS, pollMs: 20, owner: 'a', log });
  b = createLoginLock({ kv, ttlMs: TTL_MS, pollMs: 20, owner: 'b', log });
});

afterAll(async () => {
  await nc?.close();
  await nats?.dispose();
});

const holder = (claim: LoginClaim) => {
  if (claim.role !== 'holder') throw new Error(`expected to hold the lock, got ${claim.role}`);
  return claim.lease;
};

describe('login lock across replicas', () => {
  it('a request on another replica waits for the login under way and joins its outcome', async () => {
    const lease = holder(await a.claim('U1', noAbort));
    let settled = false;
    const waiting = b.claim('U1', noAbort).finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(settled).toBe(false);
    await lease.finish(42);
    await expect(waiting).resolves.toEqual({ role: 'joined', seq: 42 });
  });

  it('a request in the same replica joins without polling', async () => {
    const lease = holder(await a.claim('U2', noAbort));
    const waiting = a.claim('U2', noAbort);
    await lease.finish(7);
    await expect(waiting).resolves.toEqual({ role: 'joined', seq: 7 });
  });

  it('a finished login is not joined by a request arriving after it: that one logs in', async () => {
    await holder(await a.claim('U3', noAbort)).finish(9);
    await waitFor('the done entry', async () => ((await kv.get('U3'))?.json<{ state: string }>().state === 'done' ? true : undefined));
    const claim = await b.claim('U3', noAbort);
    expect(claim).toMatchObject({ role: 'holder', waited: false });
    await holder(claim).release();
  });

  it('a released lock (login handed back) passes to the waiting request, which logs in itself', async () => {
    const lease = holder(await a.claim('U4', noAbort));
    const waiting = b.claim('U4', noAbort);
    await new Promise((r) => setTimeout(r, 100)); // b has found the login running
    await lease.release();
    const claim = await waiting;
    // It waited: what it read before the wait (the credentials) is read again.
    expect(claim).toMatchObject({ role: 'holder', waited: true });
    await holder(claim).release();
    const local = holder(await a.claim('U4', noAbort));
    const sameReplica = a.claim('U4', noAbort, { join: false });
    await local.release();
    expect(await sameReplica).toMatchObject({ role: 'holder', waited: true });
    await holder(await sameReplica).release();
  });

  it('join: false waits for the end of the login under way and then takes the lock', async () => {
    const lease = holder(await a.claim('U5', noAbort));
    const waiting = b.claim('U5', noAbort, { join: false });
    await lease.finish(3);
    const claim = await waiting;
    expect(claim.role).toBe('holder');
    await holder(claim).release();
  });

  it('the lock of a holder that died expires after its TTL; a live holder keeps it by renewing', async () => {
    // A live holder renews: after two TTLs it still holds the account.
    const live = holder(await a.claim('U6', noAbort));
    await new Promise((r) => setTimeout(r, 2 * TTL_MS));
    const controller = new AbortController();
    const blocked = b.claim('U6', controller.signal);
    await new Promise((r) => setTimeout(r, 200));
    controller.abort();
    await expect(blocked).rejects.toBeInstanceOf(GateAbortedError);
    await live.release();

    // A dead holder: its entry is written as a holder would, then never renewed.
    await kv.create('U7', new TextEncoder().encode(JSON.stringify({ state: 'running', owner: 'dead' })));
    const started = Date.now();
    const claim = await b.claim('U7', noAbort);
    expect(claim.role).toBe('holder');
    expect(Date.now() - started).toBeGreaterThanOrEqual(TTL_MS - 300);
    await holder(claim).release();
  });

  it('of many concurrent requests on two replicas exactly one logs in; all others join it', async () => {
    const results: LoginClaim[] = [];
    const claims = Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).claim('U8', noAbort).then((c) => void results.push(c)));
    await waitFor('one holder', () => (results.length > 0 ? true : undefined));
    await new Promise((r) => setTimeout(r, 100));
    expect(results).toHaveLength(1);
    await holder(results[0]!).finish(5);
    await Promise.all(claims);
    expect(results.slice(1)).toEqual(Array.from({ length: 9 }, () => ({ role: 'joined', seq: 5 })));
  });
});

describe('shared TOTP step guard', () => {
  it('two replicas never claim the same step for one account', async () => {
    // A fixed clock 1 ms before a step ends: the second claim must wait for the next step.
    const stepEnd = (Math.floor(Date.now() / 30_000) + 1) * 30_000;
    let clock = stepEnd - 1;
    const now = () => new Date(clock);
    const g1 = createSharedTotpGuard({ kv: totpKv, now });
    const g2 = createSharedTotpGuard({ kv: totpKv, now });
    const first = await g1.claim('T1');
    const second = g2.claim('T1');
    await new Promise((r) => setTimeout(r, 50));
    clock = stepEnd + 5; // the guard slept (1 ms) and looks again at the new step
    const at = await second;
    expect(Math.floor(first.getTime() / 30_000)).toBe(Math.floor((stepEnd - 1) / 30_000));
    expect(Math.floor(at.getTime() / 30_000)).toBe(Math.floor(first.getTime() / 30_000) + 1);
    expect(stepIn(await totpKv.get('T1'))).toBe(Math.floor(at.getTime() / 30_000));
  });

  it('a step another replica claims between fresh() and claim() is not claimed again', async () => {
    const fixed = new Date();
    const step = Math.floor(fixed.getTime() / 30_000);
    const g1 = createSharedTotpGuard({ kv: totpKv, now: () => fixed });
    const g2 = createSharedTotpGuard({ kv: totpKv, now: () => fixed });
    await g1.fresh('T3'); // g1 saw the step unused ...
    await g2.claim('T3'); // ... and g2 took it
    const controller = new AbortController();
    const late = g1.claim('T3', controller.signal).then(
      () => 'claimed',
      () => 'still waiting',
    );
    await new Promise((r) => setTimeout(r, 200));
    controller.abort();
    expect(await late).toBe('still waiting');
    expect(stepIn(await totpKv.get('T3'))).toBe(step);
  });

  it('concurrent claims of one step: exactly one wins it', async () => {
    const fixed = new Date();
    const guards = Array.from({ length: 5 }, () => createSharedTotpGuard({ kv: totpKv, now: () => fixed }));
    const controller = new AbortController();
    const claims = guards.map((g) =>
      g.claim('T2', controller.signal).then(
        () => 'won',
        () => 'aborted',
      ),
    );
    await new Promise((r) => setTimeout(r, 300));
    controller.abort();
    const results = await Promise.all(claims);
    expect(results.filter((r) => r === 'won')).toHaveLength(1);
  });

  it('rides out a bucket it cannot write for a while, and knows a write whose answer was lost as its own', async () => {
    const fixed = new Date();
    const step = Math.floor(fixed.getTime() / 30_000);
    // The first write lands but its answer is lost (a leader killed after storing it); the next
    // two are refused outright (no leader yet).
    let writes = 0;
    const flaky = withWrites(totpKv, async (write) => {
      writes++;
      if (writes === 1) {
        await write();
        throw new Error('TIMEOUT');
      }
      if (writes <= 3) throw new Error('503 no responders');
      return write();
    });
    const at = await createSharedTotpGuard({ kv: flaky, now: () => fixed, outageMs: 5_000 }).claim('T4');
    expect(at).toEqual(fixed);
    expect(writes).toBe(1); // read back as its own: no second write, and no wait for the next step
    expect(stepIn(await totpKv.get('T4'))).toBe(step);

    writes = 1; // the next two writes are refused, then one lands
    const later = new Date(fixed.getTime() + 30_000);
    expect(await createSharedTotpGuard({ kv: flaky, now: () => later, outageMs: 5_000 }).claim('T4')).toEqual(later);
    expect(writes).toBe(4);
    expect(stepIn(await totpKv.get('T4'))).toBe(step + 1);
  });

  it('gives up once the bucket stays unwritable past the outage allowance', async () => {
    const down = withWrites(totpKv, async () => {
      throw new Error('503 no responders');
    });
    const guard = createSharedTotpGuard({ kv: down, outageMs: 600 });
    await expect(guard.claim('T5')).rejects.toThrow('503 no responders');
    expect(await totpKv.get('T5')).toBeNull();
  });
});

/** The step a claim recorded (`<step>/<claim id>`). */
function stepIn(entry: KvEntry | null): number {
  return Number.parseInt(entry?.string() ?? '', 10);
}

/** The bucket, with each create or update going through `intercept` (which may call the real write). */
function withWrites(kv: KV, intercept: (write: () => Promise<number>) => Promise<number>): KV {
  return new Proxy(kv, {
    get(target, prop, receiver) {
      if (prop === 'create' || prop === 'update') {
        const real = Reflect.get(target, prop, receiver) as (...args: unknown[]) => Promise<number>;
        return (...args: unknown[]) => intercept(() => real.apply(target, args));
      }
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
