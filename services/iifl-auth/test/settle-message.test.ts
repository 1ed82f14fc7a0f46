import { describe, expect, it } from 'vitest';
import type { JetStreamClient, JsMsg } from 'nats';
import { createLogger } from '@refresher/platform';
import { giveUp, rejectInvalid, settleMessage, type Settlement } from '../src/settle-message.ts';

describe('settlements', () => {
  it.each<[string, Settlement, Settlement]>([
    ['giveUp: handed back', giveUp(false, 'r', 5_000), { do: 'nak', delayMs: 5_000 }],
    ['giveUp on the last delivery: dead-lettered', giveUp(true, 'r', 5_000), { do: 'dead-letter', reason: 'r', otherwise: { do: 'term' } }],
    [
      'rejectInvalid: dead-lettered, handed back if that fails',
      rejectInvalid(false, 'r', 5_000),
      { do: 'dead-letter', reason: 'r', otherwise: { do: 'nak', delayMs: 5_000 } },
    ],
    ['rejectInvalid on the last delivery', rejectInvalid(true, 'r', 5_000), { do: 'dead-letter', reason: 'r', otherwise: { do: 'term' } }],
  ])('%s', (_, settlement, expected) => {
    expect(settlement).toEqual(expected);
  });
});

/** A message and a JetStream client that record what is done to them. */
function fakes(deadLetterStored: boolean) {
  const calls: string[] = [];
  const msg = {
    subject: 'tokens.refresh.requested.U1',
    data: new Uint8Array([1, 2]),
    info: { redeliveryCount: 2 },
    ackAck: async () => (calls.push('ack'), true),
    nak: (ms?: number) => void calls.push(`nak ${ms}`),
    term: () => void calls.push('term'),
  } as unknown as JsMsg;
  const js = {
    publish: async (subject: string) => {
      calls.push(`publish ${subject}`);
      if (!deadLetterStored) throw new Error('no stream');
      return { seq: 1 };
    },
  } as unknown as JetStreamClient;
  return { msg, js, calls };
}

describe('settleMessage', () => {
  const log = createLogger('settle-test', 'silent');
  it.each<[string, Settlement, boolean, string, string[]]>([
    ['ack', { do: 'ack', outcome: 'refreshed' }, true, 'refreshed', ['ack']],
    ['nak', { do: 'nak', delayMs: 700 }, true, 'handed-back', ['nak 700']],
    ['dead letter stored, then term', giveUp(true, 'r', 1), true, 'dead-lettered', ['publish tokens.dlq.iifl-auth', 'term']],
    ['dead letter not stored: term all the same', giveUp(true, 'r', 1), false, 'dead-lettered', ['publish tokens.dlq.iifl-auth', 'term']],
    [
      'dead letter not stored: handed back',
      rejectInvalid(false, 'r', 900),
      false,
      'handed-back',
      ['publish tokens.dlq.iifl-auth', 'nak 900'],
    ],
  ])('%s', async (_, settlement, stored, result, calls) => {
    const f = fakes(stored);
    expect(await settleMessage({ js: f.js, log }, f.msg, settlement)).toBe(result);
    expect(f.calls).toEqual(calls);
  });
});
