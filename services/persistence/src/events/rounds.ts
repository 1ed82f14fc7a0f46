/** What decides where an event may go: its user and its event id. */
export interface RoundKey {
  userID: string;
  eventId: string;
}

/**
 * Splits a batch into rounds (lists of indices) that one statement each can apply: a round holds at
 * most one event of a user and one copy of an event id (one statement cannot change a row twice),
 * and a user's events keep their order from round to round, so the first of them counts first.
 */
export function splitIntoRounds(keys: readonly RoundKey[]): number[][] {
  const rounds: number[][] = [];
  const lastRoundOf = new Map<string, number>();
  keys.forEach(({ userID, eventId }, index) => {
    const user = `user:${userID}`;
    const id = `id:${eventId}`;
    const round = Math.max(lastRoundOf.get(user) ?? -1, lastRoundOf.get(id) ?? -1) + 1;
    lastRoundOf.set(user, round);
    lastRoundOf.set(id, round);
    (rounds[round] ??= []).push(index);
  });
  return rounds;
}
