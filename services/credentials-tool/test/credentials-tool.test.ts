import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { INTEGRATION_MANAGED, type StoredCredentials } from '@refresher/contracts';
import { credentialsFingerprint, decryptField, encryptField, keyringFromEnv, matchesFingerprint } from '@refresher/credential-crypto';
import { createDb, migrateToLatest, type Database } from '@refresher/db';
import { createTestDatabase, type TestDatabase } from '@refresher/testkit';
import { reencryptAll, runCredentialsTool } from '../src/index.ts';

const K1 = randomBytes(32).toString('base64');
const K2 = randomBytes(32).toString('base64');
const ring1 = keyringFromEnv({ CREDENTIALS_KEY: K1, CREDENTIALS_KEY_ID: 'k1' });
const ring2 = keyringFromEnv({ CREDENTIALS_KEY: K2, CREDENTIALS_KEY_ID: 'k2', CREDENTIALS_OLD_KEYS: `k1:${K1}` });
const COLUMNS = ['password', 'appKey', 'appSecret', 'totpSecret'] as const;

let database: TestDatabase;
let db: Kysely<Database>;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDb(database.url, { max: 2 });
  await migrateToLatest(db);
});
afterAll(async () => {
  await db?.destroy();
  await database?.dispose();
});
beforeEach(async () => {
  await db.deleteFrom('IIFLUser').execute();
  await db.deleteFrom('user_refresh_state').execute();
});

const plain = (userID: string) => ({
  userID,
  password: `pw-${userID}`,
  appKey: `key-${userID}`,
  appSecret: `secret-${userID}`,
  totpSecret: `TOTP${userID}SEED`,
});

/** Rows as the legacy table holds them, written the way the tool itself reaches the database (persistence is not running). */
async function insertUsers(users: Array<StoredCredentials & { userID: string }>) {
  const now = new Date();
  const rows = users.map((u) => ({ ...u, clientName: u.userID, email: '', phoneNumber: '', state: 'live', updatedAt: now }));
  await db.insertInto('IIFLUser').values(rows).execute();
}

async function rowOf(userID: string) {
  return db.selectFrom('IIFLUser').selectAll().where('userID', '=', userID).executeTakeFirstOrThrow();
}

function run(argv: string[], env: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  return runCredentialsTool(argv, { DATABASE_URL: database.url, ...env }, { out: (l) => out.push(l), err: (l) => err.push(l) }).then(
    (code) => ({ code, out: out.join('\n'), err: err.join('\n') }),
  );
}

describe('pnpm credentials encrypt', () => {
  it('encrypts plain rows in place, leaves integration-managed rows, reports, and is idempotent', async () => {
    await insertUsers([
      plain('A1'),
      plain('B2'),
      {
        userID: 'IM',
        password: INTEGRATION_MANAGED,
        appKey: INTEGRATION_MANAGED,
        appSecret: INTEGRATION_MANAGED,
        totpSecret: INTEGRATION_MANAGED,
      },
    ]);
    const first = await run(['encrypt'], { CREDENTIALS_KEY: K1 });
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/users rewritten:\s+2/);
    expect(first.out).toMatch(/values encrypted:\s+8/);
    expect(first.out).toMatch(/integration-managed:\s+1/);
    for (const userID of ['A1', 'B2']) {
      const row = await rowOf(userID);
      for (const column of COLUMNS) {
        expect(row[column]).toMatch(/^enc:v1:k1:/);
        expect(decryptField(ring1, row[column], { table: 'IIFLUser', column, row: userID })).toBe(plain(userID)[column]);
      }
    }
    expect((await rowOf('IM')).password).toBe(INTEGRATION_MANAGED);
    for (const text of [first.out, first.err]) {
      for (const column of COLUMNS) expect(text).not.toContain(plain('A1')[column]);
    }

    const before = await rowOf('A1');
    const again = await run(['encrypt', '--json'], { CREDENTIALS_KEY: K1 });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.out)).toMatchObject({ usersRewritten: 0, valuesEncrypted: 0, usersScanned: 3 });
    expect((await rowOf('A1')).password).toBe(before.password);
  });

  it('decides per column: the marker stays, every other value of an integration-managed row is encrypted', async () => {
    // The password alone makes the row integration-managed; its other columns hold real values.
    const mixed = { ...plain('MX'), password: INTEGRATION_MANAGED };
    // A column of a real user holding the marker is not a secret either.
    const markerKey = { ...plain('MK'), appKey: INTEGRATION_MANAGED };
    await insertUsers([mixed, markerKey]);

    const status = JSON.parse((await run(['status', '--json'], {})).out);
    expect(status).toMatchObject({ users: 2, integrationManaged: 1, plainTextValues: 6, usersWithPlainText: 2 });

    const first = await run(['encrypt', '--json'], { CREDENTIALS_KEY: K1 });
    expect(first.code).toBe(0);
    expect(JSON.parse(first.out)).toMatchObject({ usersRewritten: 2, integrationManaged: 1, valuesEncrypted: 6 });
    const mx = await rowOf('MX');
    expect(mx.password).toBe(INTEGRATION_MANAGED);
    for (const column of ['appKey', 'appSecret', 'totpSecret'] as const) {
      expect(decryptField(ring1, mx[column], { table: 'IIFLUser', column, row: 'MX' })).toBe(mixed[column]);
    }
    const mk = await rowOf('MK');
    expect(mk.appKey).toBe(INTEGRATION_MANAGED);
    expect(decryptField(ring1, mk.password, { table: 'IIFLUser', column: 'password', row: 'MK' })).toBe(markerKey.password);

    // A rotation keeps the marker and moves the values; nothing is left in plain text.
    const rotated = await run(['rotate', '--json'], { CREDENTIALS_KEY: K2, CREDENTIALS_KEY_ID: 'k2', CREDENTIALS_OLD_KEYS: `k1:${K1}` });
    expect(JSON.parse(rotated.out)).toMatchObject({ usersRewritten: 2, valuesReencrypted: 6 });
    expect((await rowOf('MX')).password).toBe(INTEGRATION_MANAGED);
    expect(JSON.parse((await run(['status', '--json'], {})).out)).toMatchObject({ plainTextValues: 0, valuesByKeyId: { k2: 6 } });
  });

  it('resumes: rows done before a stop are skipped, the rest are done', async () => {
    await insertUsers([plain('A1'), plain('B2'), plain('C3')]);
    // As if a first run had stopped after A1.
    const a1 = plain('A1');
    await db
      .updateTable('IIFLUser')
      .set(Object.fromEntries(COLUMNS.map((c) => [c, encryptField(ring1, a1[c], { table: 'IIFLUser', column: c, row: 'A1' })])))
      .where('userID', '=', 'A1')
      .execute();
    const a1Stored = (await rowOf('A1')).password;
    const report = await reencryptAll(db, ring1, 'encrypt', { batchSize: 2 });
    expect(report).toMatchObject({ usersScanned: 3, usersRewritten: 2, valuesEncrypted: 8 });
    expect((await rowOf('A1')).password).toBe(a1Stored);
  });

  it('carries a "credentials rejected" mark over to the new ciphertext', async () => {
    await insertUsers([plain('A1'), plain('B2')]);
    for (const userID of ['A1', 'B2']) {
      await db
        .insertInto('user_refresh_state')
        .values({
          user_id: userID,
          credentials_rejected_at: new Date(),
          rejected_code: 'BAD_CREDENTIALS',
          rejected_credentials_hash: credentialsFingerprint(await rowOf(userID)),
        })
        .execute();
    }
    // B2's mark is stale: its credentials changed after the rejection, so it must not be carried.
    await db.updateTable('IIFLUser').set({ password: 'new-password' }).where('userID', '=', 'B2').execute();
    const report = await reencryptAll(db, ring1, 'encrypt');
    expect(report.marksCarried).toBe(1);
    const mark = async (userID: string) =>
      (await db.selectFrom('user_refresh_state').selectAll().where('user_id', '=', userID).executeTakeFirstOrThrow())
        .rejected_credentials_hash!;
    expect(matchesFingerprint(await rowOf('A1'), await mark('A1'))).toBe(true);
    expect(matchesFingerprint(await rowOf('B2'), await mark('B2'))).toBe(false);

    // And through a rotation.
    expect((await reencryptAll(db, ring2, 'rotate')).marksCarried).toBe(1);
    expect(matchesFingerprint(await rowOf('A1'), await mark('A1'))).toBe(true);
  });

  it('refuses to run without a valid key or a database URL', async () => {
    expect((await run(['encrypt'], {})).err).toMatch(/CREDENTIALS_KEY is not set/);
    expect((await run(['encrypt'], { CREDENTIALS_KEY: 'c2hvcnQ=' })).code).toBe(2);
    const noDb = await runCredentialsTool(['status'], {}, { out: () => {}, err: () => {} });
    expect(noDb).toBe(2);
    expect((await run(['shred'], { CREDENTIALS_KEY: K1 })).code).toBe(2);
  });
});

describe('pnpm credentials rotate', () => {
  it('re-encrypts every value under the new key id, opening old ones with the old key', async () => {
    await insertUsers([plain('A1'), plain('B2')]);
    await reencryptAll(db, ring1, 'encrypt');
    // B2 was written under the new key already (by the gateway after the switch).
    const b2 = plain('B2');
    await db
      .updateTable('IIFLUser')
      .set({ password: encryptField(ring2, b2.password, { table: 'IIFLUser', column: 'password', row: 'B2' }) })
      .where('userID', '=', 'B2')
      .execute();

    const status = await run(['status', '--json'], {});
    expect(JSON.parse(status.out)).toMatchObject({ users: 2, plainTextValues: 0, valuesByKeyId: { k1: 7, k2: 1 } });

    const rotated = await run(['rotate'], { CREDENTIALS_KEY: K2, CREDENTIALS_KEY_ID: 'k2', CREDENTIALS_OLD_KEYS: `k1:${K1}` });
    expect(rotated.code).toBe(0);
    expect(rotated.out).toMatch(/values re-encrypted:\s+7/);
    const ring2Only = keyringFromEnv({ CREDENTIALS_KEY: K2, CREDENTIALS_KEY_ID: 'k2' });
    for (const userID of ['A1', 'B2']) {
      const row = await rowOf(userID);
      for (const column of COLUMNS) {
        expect(decryptField(ring2Only, row[column], { table: 'IIFLUser', column, row: userID })).toBe(plain(userID)[column]);
      }
    }
    expect(JSON.parse((await run(['status', '--json'], {})).out).valuesByKeyId).toEqual({ k2: 8 });
    const again = await run(['rotate', '--json'], { CREDENTIALS_KEY: K2, CREDENTIALS_KEY_ID: 'k2', CREDENTIALS_OLD_KEYS: `k1:${K1}` });
    expect(JSON.parse(again.out)).toMatchObject({ usersRewritten: 0 });
  });

  it('leaves a tampered or unopenable row unchanged, names it, and exits 1', async () => {
    await insertUsers([plain('A1'), plain('B2')]);
    await reencryptAll(db, ring1, 'encrypt');
    const a1 = await rowOf('A1');
    // One flipped character of the ciphertext.
    const tampered = a1.appSecret.slice(0, -3) + (a1.appSecret.at(-3) === 'A' ? 'B' : 'A') + a1.appSecret.slice(-2);
    await db.updateTable('IIFLUser').set({ appSecret: tampered }).where('userID', '=', 'A1').execute();

    const rotated = await run(['rotate'], { CREDENTIALS_KEY: K2, CREDENTIALS_KEY_ID: 'k2', CREDENTIALS_OLD_KEYS: `k1:${K1}` });
    expect(rotated.code).toBe(1);
    expect(rotated.out).toMatch(/A1: appSecret of A1 failed authentication/);
    expect((await rowOf('A1')).password).toBe(a1.password);
    expect((await rowOf('B2')).password).toMatch(/^enc:v1:k2:/);

    // Without the old key, old values cannot be opened: reported, not destroyed.
    const noOld = await run(['rotate'], { CREDENTIALS_KEY: K2, CREDENTIALS_KEY_ID: 'k2' });
    expect(noOld.code).toBe(1);
    expect(noOld.out).toMatch(/no key "k1"/);
  });
});
