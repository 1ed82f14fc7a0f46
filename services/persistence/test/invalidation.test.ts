process.env.TZ = 'Asia/Kolkata';

import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Streams, Subjects, TokenInvalidated } from '@refresher/contracts';
import { encodeJson } from '@refresher/platform';
import { waitFor } from '@refresher/testkit';
import { applyOutcomeEvents } from '../src/events/apply-events.ts';
import { applyInvalidation, parseInvalidation } from '../src/events/invalidation.ts';
import { refreshed } from './fixtures.ts';
import { realUser, useHarness } from './harness.ts';

const h = useHarness();

const LOGIN = '2026-12-02T03:00:00.000Z';

function invalidated(userID: string, loginTime: string, invalidatedAt: string): TokenInvalidated {
  return TokenInvalidated.parse({
    v: 1,
    eventId: randomUUID(),
    userID,
    loginTime,
    invalidatedAt,
    reason: 'SESSION_INVALID',
    brokerCode: 'EC044',
  });
}

/** The user logged in at `loginTime`, as the outcome path stores it. */
async function loggedIn(userID: string, loginTime: string): Promise<void> {
  const event = refreshed(userID, null, loginTime);
  const [result] = await applyOutcomeEvents(h.persistence.db, [
    { subject: Subjects.refreshed(userID), outcome: { kind: 'refreshed', event } },
  ]);
  if (!result || 'failed' in result) throw new Error('login not applied');
}

const stateOf = (userID: string) =>
  h.persistence.db.selectFrom('user_refresh_state').selectAll().where('user_id', '=', userID).executeTakeFirst();

describe('a stored token found dead (tokens.invalidated)', () => {
  it('ends the validity of the token still stored and records why, once per event id', async () => {
    await h.seed([realUser('I1')]);
    await loggedIn('I1', LOGIN);
    const event = invalidated('I1', LOGIN, '2026-12-02T06:15:00.000Z');
    expect(await applyInvalidation(h.persistence.db, Subjects.invalidated('I1'), event)).toEqual({ duplicate: false, marked: true });

    const row = await h.userRow('I1');
    expect(row.tokenValidity!.toISOString()).toBe('2026-12-02T06:15:00.000Z');
    expect(row.token).toBe(`token-I1-${LOGIN}`);
    expect(row.lastLoginTime!.toISOString()).toBe(LOGIN);
    expect(await stateOf('I1')).toMatchObject({
      token_invalidated_at: new Date('2026-12-02T06:15:00.000Z'),
      token_invalidated_reason: 'SESSION_INVALID',
      token_invalidated_broker_code: 'EC044',
    });

    // A redelivery changes nothing.
    expect(await applyInvalidation(h.persistence.db, Subjects.invalidated('I1'), event)).toEqual({ duplicate: true, marked: false });
  });

  it('leaves a newer token alone, and never moves a validity later', async () => {
    await h.seed([realUser('I2'), realUser('I3')]);
    await loggedIn('I2', '2026-12-02T06:20:00.000Z');
    const stale = invalidated('I2', LOGIN, '2026-12-02T06:30:00.000Z');
    expect(await applyInvalidation(h.persistence.db, Subjects.invalidated('I2'), stale)).toEqual({ duplicate: false, marked: false });
    expect((await h.userRow('I2')).tokenValidity!.toISOString()).toBe('2026-12-02T18:20:00.000Z');
    expect(await stateOf('I2')).toBeUndefined();

    await loggedIn('I3', LOGIN);
    await applyInvalidation(h.persistence.db, Subjects.invalidated('I3'), invalidated('I3', LOGIN, '2026-12-02T06:00:00.000Z'));
    // A second replica's report of the same death, found later, keeps the earlier end.
    await applyInvalidation(h.persistence.db, Subjects.invalidated('I3'), invalidated('I3', LOGIN, '2026-12-02T06:05:00.000Z'));
    expect((await h.userRow('I3')).tokenValidity!.toISOString()).toBe('2026-12-02T06:00:00.000Z');
  });

  it('is taken from the events stream by the consumer; a malformed one is dead-lettered', async () => {
    await h.seed([realUser('I4')]);
    await loggedIn('I4', LOGIN);
    const js = h.nc.jetstream();
    const dead = h.nc.subscribe('tokens.dlq.>', { max: 1 });
    await js.publish(Subjects.invalidated('I4'), encodeJson(invalidated('I4', LOGIN, '2026-12-02T07:00:00.000Z')));
    await js.publish(Subjects.invalidated('I5'), encodeJson({ ...invalidated('I4', LOGIN, '2026-12-02T07:00:00.000Z') }));
    await h.eventsSettled();
    await waitFor('the validity to end', async () =>
      (await h.userRow('I4')).tokenValidity!.toISOString() === '2026-12-02T07:00:00.000Z' ? true : undefined,
    );
    for await (const msg of dead) expect(new TextDecoder().decode(msg.data)).toContain('differs from the subject');
    expect(Streams.events.subjects).toContain(Subjects.invalidatedAll);
  });

  it('parses only its own subject, one user deep', () => {
    const event = encodeJson(invalidated('I6', LOGIN, '2026-12-02T07:00:00.000Z'));
    expect(parseInvalidation('tokens.invalidated.I6', event)).toMatchObject({ ok: true });
    expect(parseInvalidation('tokens.invalidated.I6.more', event)).toMatchObject({ ok: false });
    expect(parseInvalidation('tokens.invalidated.I6', new TextEncoder().encode('not json'))).toEqual({
      ok: false,
      reason: 'payload is not JSON',
    });
  });
});
