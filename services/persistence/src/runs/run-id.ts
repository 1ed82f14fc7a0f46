import { randomBytes } from 'node:crypto';

/** `run-<yyyymmddHHMMss>-<random>` (UTC): sortable by time, unique without coordination. */
export function generateRunId(now: Date): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `run-${stamp}-${randomBytes(4).toString('hex')}`;
}
