export { startRefreshRun, getRunSummary, type RefreshRun, type StartRefreshRunOptions } from './refresh-run.ts';
