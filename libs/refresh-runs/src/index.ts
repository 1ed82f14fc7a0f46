export {
  startRefreshRun,
  getRunSummary,
  outcomeFromNotice,
  type RefreshRun,
  type StartRefreshRunOptions,
  type UserOutcome,
} from './refresh-run.ts';
export { getMorningStatus, morningReadiness } from './morning.ts';
