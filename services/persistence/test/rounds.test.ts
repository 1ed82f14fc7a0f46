import { describe, expect, it } from 'vitest';
import { appliedEvents, type RecordedFields, type StatementResult } from '../src/events/recorded.ts';
import { splitIntoRounds } from '../src/events/rounds.ts';

describe('splitIntoRounds', () => {
  it.each([
    {
      name: 'distinct users: one round',
      events: [
        ['A', '1'],
        ['B', '2'],
        ['C', '3'],
      ],
      rounds: [[0, 1, 2]],
    },
    {
      name: "a user's second event: the next round",
      events: [
        ['A', '1'],
        ['B', '2'],
        ['A', '3'],
      ],
      rounds: [[0, 1], [2]],
    },
    {
      name: 'a repeated event id: the next round',
      events: [
        ['A', '1'],
        ['B', '1'],
      ],
      rounds: [[0], [1]],
    },
    {
      name: "a user's events keep their order",
      events: [
        ['A', '1'],
        ['B', '1'],
        ['B', '2'],
        ['A', '3'],
      ],
      rounds: [[0], [1, 3], [2]],
    },
    { name: 'nothing', events: [], rounds: [] },
  ])('$name', ({ events, rounds }) => {
    expect(splitIntoRounds(events.map(([userID, eventId]) => ({ userID: userID!, eventId: eventId! })))).toEqual(rounds);
  });
});

describe('appliedEvents', () => {
  const event = (eventId: string, userID: string, outcome: RecordedFields['outcome'], runId: string | null = 'R'): RecordedFields => ({
    eventId,
    userID,
    runId,
    outcome,
    code: null,
    message: null,
    tokenValidity: null,
  });
  const run = { run_id: 'R', total: 4, refreshed_count: 3, failed_count: 1, skipped_count: 0 };

  it('counts each run up as if its outcomes were recorded one by one; the last one completes it', () => {
    const events = [event('1', 'A', 'refreshed'), event('2', 'B', 'failed'), event('3', 'C', 'refreshed')];
    const result: StatementResult = {
      fresh: ['1', '2', '3'],
      outcomes: ['A', 'B', 'C'].map((u) => ({ run_id: 'R', user_id: u })),
      runs: [run],
    };
    expect(appliedEvents(events, result).map((a) => a.recorded && [a.recorded.refreshed, a.recorded.failed, a.recorded.completed])).toEqual(
      [
        [2, 0, false],
        [2, 1, false],
        [3, 1, true],
      ],
    );
  });

  it('tells duplicates, outcomes already recorded and events without a run apart', () => {
    const events = [event('1', 'A', 'refreshed'), event('2', 'B', 'refreshed'), event('3', 'C', null, null)];
    const result: StatementResult = { fresh: ['2', '3'], outcomes: [], runs: [] };
    expect(appliedEvents(events, result)).toEqual([
      { duplicate: true, recorded: null },
      { duplicate: false, recorded: null },
      { duplicate: false, recorded: null },
    ]);
  });
});
