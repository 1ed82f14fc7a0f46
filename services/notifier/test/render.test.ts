import { describe, expect, it } from 'vitest';
import type { RunCompletedNotice } from '@refresher/contracts';
import { renderBody } from '../src/index.ts';

const report = (failedUsers: number): RunCompletedNotice => ({
  v: 1,
  id: 'run-completed:sched-20261202T0300Z',
  at: '2026-12-02T03:05:00.000Z',
  type: 'tokens.run.completed',
  runId: 'sched-20261202T0300Z',
  retryOf: null,
  trigger: 'schedule',
  requestedAt: '2026-12-02T03:00:00.000Z',
  completedAt: '2026-12-02T03:04:00.000Z',
  counts: { total: 40, refreshed: 40 - failedUsers, failed: failedUsers, skipped: 0 },
  needsAttention: {
    count: failedUsers,
    more: 0,
    users: Array.from({ length: failedUsers }, (_, i) => ({
      userID: `U${i}`,
      clientName: i === 0 ? 'A & B <Traders>' : `Client ${i}`,
      outcome: 'failed' as const,
      code: 'BROKER_UNAVAILABLE',
      message: 'IIFL answered 503',
    })),
  },
});

describe('the bodies of deliveries', () => {
  it('json: the notice as it is', () => {
    expect(JSON.parse(renderBody(report(1), 'json'))).toEqual(report(1));
  });

  it('slack: a text with the verdict and one line per user needing attention, escaped, 20 at most', () => {
    const { text } = JSON.parse(renderBody(report(23), 'slack')) as { text: string };
    const lines = text.split('\n');
    expect(lines[0]).toBe(
      ':warning: Run sched-20261202T0300Z (schedule) completed: 23 need attention (17 of 40 refreshed, 23 failed, 0 skipped)',
    );
    expect(lines[1]).toBe('• A &amp; B &lt;Traders&gt; (U0): failed BROKER_UNAVAILABLE — IIFL answered 503');
    expect(lines).toHaveLength(22);
    expect(lines.at(-1)).toBe('…and 3 more');
    expect(JSON.parse(renderBody(report(0), 'slack')).text).toBe(
      ':white_check_mark: Run sched-20261202T0300Z (schedule) completed: 40 of 40 refreshed, 0 failed, 0 skipped; nobody needs attention',
    );
  });
});
