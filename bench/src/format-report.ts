import type { BenchReport } from './report.ts';

type Row = [string, string];

const ms = (v: number | null) => (v === null ? 'n/a' : `${v} ms`);

/** The machine, the setup and the run's own figures. */
function runRows(r: BenchReport): Row[] {
  const m = r.machine;
  const s = r.settings;
  const nats = s.natsServers > 1 ? `NATS cluster of ${s.natsServers}, stream replicas ${s.streamReplicas}` : 'one nats-server';
  return [
    ['machine', `${m.cores} cores (${m.cpuModel}), ${m.memoryGb} GB, Node ${m.node}, load ${m.loadAverageAtStart} at start`],
    [
      'setup',
      `${s.users} users, ${s.authReplicas} iifl-auth${s.authConcurrency ? ` x ${s.authConcurrency}` : ''}, ${nats}, simulator ${s.latencyMs} + 0..${s.jitterMs} ms per call`,
    ],
    ['key pairs', `${s.keyPairPolicy}; ${r.keyPairsMade ?? 'n/a'} made`],
    ['users / failed', `${r.users} / ${r.failed}${r.failed ? ` ${JSON.stringify(r.failureCodes)}` : ''}`],
    ['request accepted', ms(r.acceptedMs)],
    ['wall time', `${r.wallSeconds} s (request to last recorded outcome)`],
    ['throughput', `${r.usersPerSecond} users/s`],
    [
      'latency request -> token stored',
      `p50 ${ms(r.latencyMs.p50)}, p95 ${ms(r.latencyMs.p95)}, p99 ${ms(r.latencyMs.p99)}, max ${ms(r.latencyMs.max)}`,
    ],
    ['delivery login -> subscriber', `p50 ${ms(r.deliveryMs.p50)}, p99 ${ms(r.deliveryMs.p99)} (${r.delivered} received)`],
    ['subscriber vs stored', `p50 ${ms(r.deliveryAfterStoreMs.p50)}, p99 ${ms(r.deliveryAfterStoreMs.p99)} (negative: before the store)`],
  ];
}

function natsMessages(r: BenchReport): string {
  const n = r.natsMessagesPerUser;
  if (!n) return 'n/a';
  if (r.settings.natsServers === 1) return `${n.in} in, ${n.out} out`;
  return (
    `${n.in} in, ${n.out} out, summed over ${r.settings.natsServers} servers; of which between the servers ` +
    `${n.routeIn} in, ${n.routeOut} out (clients: ${Math.round((n.in - n.routeIn) * 10) / 10} in, ${Math.round((n.out - n.routeOut) * 10) / 10} out)`
  );
}

/** CPU, memory, NATS messages and IIFL calls of the run. */
function resourceRows(r: BenchReport): Row[] {
  const rows: Row[] = [
    ['CPU per user (all processes)', `${r.cpuMsPerUser} ms`],
    ['NATS messages per user', natsMessages(r)],
    [
      'IIFL calls (simulator)',
      Object.entries(r.simulator.requests)
        .map(([endpoint, n]) => `${endpoint} ${n}`)
        .join(', ') || 'none',
    ],
    ['tokens used once (profile)', `${r.simulator.profileCalls} profile calls for ${r.simulator.sessionsIssued} sessions issued`],
  ];
  for (const [name, cpu] of Object.entries(r.cpuSeconds)) {
    const rss = r.peakRssMb[name];
    rows.push([`  ${name}`, `${cpu} CPU s${rss === undefined ? '' : `, peak RSS ${rss} MB`}`]);
  }
  if (r.natsServers && r.natsServers.servers > 1) {
    rows.push([
      `  nats-server, ${r.natsServers.servers} summed`,
      `${r.natsServers.cpuSeconds} CPU s, peak RSS ${r.natsServers.peakRssMb} MB`,
    ]);
  }
  return rows;
}

/** The bare client's ceiling and the run's fraction of it. */
function ceilingRows(r: BenchReport): Row[] {
  const c = r.ceiling;
  if (!c) return [];
  const failures = c.failed ? `, ${c.failed} failed ${JSON.stringify(c.failureCodes)}` : '';
  return [
    [
      'ceiling (IIFL client alone)',
      `${c.logins} logins, ${c.concurrency} at a time, in ${c.wallSeconds} s: ${c.loginsPerSecond} logins/s${failures}`,
    ],
    ['  CPU per login', `client ${c.clientCpuMsPerLogin} ms, simulator ${c.simulatorCpuMsPerLogin ?? 'n/a'} ms`],
    ['pipeline / ceiling', `${r.ceilingFraction ?? 'n/a'} (${r.usersPerSecond} users/s over ${c.loginsPerSecond} logins/s)`],
  ];
}

function baselineRows(r: BenchReport): Row[] {
  if (!r.baseline) return [];
  const b = r.baseline;
  return [
    ['legacy algorithm', `${b.users} users in ${b.wallSeconds} s: ${b.usersPerSecond} users/s, ${b.cpuMsPerUser} ms CPU per user`],
    ['ratio', `${r.ratio ?? 'n/a'} x the legacy throughput`],
  ];
}

function idleRows(r: BenchReport): Row[] {
  if (!r.idle) return [];
  const { overheadMs, overheadBeyondBareMs: beyond, stagesMs: st } = r.idle;
  return [
    [
      'one user, idle system',
      `${overheadMs.p50 ?? 'n/a'} ms beyond the simulator's ${r.idle.simulatorMs} ms (p50 of ${r.idle.probes}, max ${overheadMs.max ?? 'n/a'}${r.idle.failed ? `, ${r.idle.failed} failed` : ''})`,
    ],
    [
      '  beyond a bare login',
      `${beyond.p50 ?? 'n/a'} ms (p50, max ${beyond.max ?? 'n/a'}) beyond the IIFL client alone against the same simulator (p50 ${r.idle.bareLoginMs ?? 'n/a'} ms)`,
    ],
    [
      '  where (p50)',
      `register ${ms(st.register)}, to login end minus simulator ${ms(st.beforeAndAroundLogin)}, store ${ms(st.store)}, answer ${ms(st.answer)}`,
    ],
  ];
}

/** The report as a two-column table for a terminal. */
export function formatReport(r: BenchReport): string {
  const rows = [...runRows(r), ...resourceRows(r), ...ceilingRows(r), ...baselineRows(r), ...idleRows(r)];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}
