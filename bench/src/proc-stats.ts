import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

export interface ProcSample {
  /** user + system CPU seconds since the process started. */
  cpuSeconds: number;
  rssMb: number;
  /** Peak resident memory (VmHWM). */
  peakRssMb: number;
}

/** One reading of /proc/<pid>/stat and /proc/<pid>/status; null once the process is gone. */
export function sampleProcess(pid: number): ProcSample | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return {
      cpuSeconds: (utime + stime) / TICKS_PER_SECOND,
      rssMb: kbField(status, 'VmRSS') / 1024,
      peakRssMb: kbField(status, 'VmHWM') / 1024,
    };
  } catch {
    return null;
  }
}

function kbField(status: string, name: string): number {
  const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status);
  return match ? Number(match[1]) : 0;
}

export interface ProcessUsage {
  name: string;
  /** CPU seconds spent between `mark()` and `stop()`. */
  cpuSeconds: number;
  /** CPU seconds from the process start to `stop()`. */
  cpuSecondsTotal: number;
  peakRssMb: number;
}

/**
 * Samples a set of processes until stopped, so that the last reading before a process exits is
 * kept. `mark()` sets the start of the measured interval for CPU.
 */
export function watchProcesses(processes: ReadonlyArray<{ name: string; pid: number }>, intervalMs = 250) {
  const last = new Map<string, ProcSample>();
  const atMark = new Map<string, ProcSample>();
  const sampleAll = () => {
    for (const p of processes) {
      const s = sampleProcess(p.pid);
      if (s) last.set(p.name, s);
    }
  };
  sampleAll();
  const timer = setInterval(sampleAll, intervalMs);
  timer.unref();
  return {
    mark() {
      sampleAll();
      for (const [name, s] of last) atMark.set(name, s);
    },
    stop(): ProcessUsage[] {
      sampleAll();
      clearInterval(timer);
      return processes.map((p) => {
        const end = last.get(p.name);
        const start = atMark.get(p.name);
        return {
          name: p.name,
          cpuSeconds: end ? end.cpuSeconds - (start?.cpuSeconds ?? 0) : 0,
          cpuSecondsTotal: end?.cpuSeconds ?? 0,
          peakRssMb: end?.peakRssMb ?? 0,
        };
      });
    },
  };
}

/** CPU seconds of a set of pids that may come and go (Postgres backends). */
export function cpuOf(pids: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    const s = sampleProcess(pid);
    if (s) out.set(pid, s.cpuSeconds);
  }
  return out;
}
