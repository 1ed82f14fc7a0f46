import { cpus, loadavg, totalmem } from 'node:os';
import { round } from './stats.ts';

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  platform: string;
  /** 1-minute load average when the bench started: above ~0.5 others were using the machine. */
  loadAverageAtStart: number;
}

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    cores: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryGb: round(totalmem() / 1024 ** 3, 1)!,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverageAtStart: round(loadavg()[0] ?? 0, 2)!,
  };
}
