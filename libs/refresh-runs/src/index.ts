export {
  startRefreshRun,
  getRunSummary,
  getRunCounts,
  outcomeFromNotice,
  type RefreshRun,
  type StartRefreshRunOptions,
  type UserOutcome,
} from './refresh-run.ts';
export { getMorningStatus, morningReadiness } from './morning.ts';
