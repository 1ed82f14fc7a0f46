export { startScheduler, SchedulerStoppedError, type Scheduler } from './app.ts';
export { schedulerConfigSchema, type SchedulerConfig } from './config.ts';
export { slotRunId, nextSlot, latestSlot } from './slot.ts';
