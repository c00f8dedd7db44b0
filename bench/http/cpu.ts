/**
 * Where the machine's CPU goes during a measurement, from /proc (Linux only; elsewhere the
 * figures are simply absent). On a small box the load generator, both app instances,
 * PostgreSQL and Redis share the cores, so CPU per request is what bounds throughput.
 */
import { readdirSync, readFileSync } from 'node:fs';

export const CPU_GROUPS = ['app', 'postgres', 'redis', 'load generator', 'other'] as const;
export type CpuGroup = (typeof CPU_GROUPS)[number];

interface Snapshot {
  perPid: Map<number, { group: CpuGroup; ticks: number }>;
  machineTicks: number;
  idleTicks: number;
}

export interface CpuUsage {
  /** CPU seconds per group over the window. */
  seconds: Record<CpuGroup, number>;
  /** Share of the machine's CPU time that was busy (0-1). */
  busy: number;
  /** Wall seconds of the window. */
  wall: number;
}

/** USER_HZ: the kernel reports /proc times in 1/100 s on every Linux this runs on. */
const TICKS_PER_SECOND = 100;

function readSnapshot(appPids: ReadonlySet<number>): Snapshot | undefined {
  let stat: string;
  try {
    stat = readFileSync('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
  // cpu  user nice system idle iowait irq softirq steal ...
  const fields = (stat.split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
  const machineTicks = fields.reduce((a, b) => a + b, 0);
  const idleTicks = (fields[3] ?? 0) + (fields[4] ?? 0);
  const perPid = new Map<number, { group: CpuGroup; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    let line: string;
    try {
      line = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const close = line.lastIndexOf(')');
    const comm = line.slice(line.indexOf('(') + 1, close);
    // Fields after "pid (comm) ": state is field 3, utime 14 and stime 15 (man 5 proc).
    const rest = line.slice(close + 2).split(' ');
    const ticks = Number(rest[11]) + Number(rest[12]);
    let group: CpuGroup = 'other';
    if (appPids.has(pid)) group = 'app';
    else if (pid === process.pid) group = 'load generator';
    else if (comm === 'postgres') group = 'postgres';
    else if (comm.startsWith('redis-server')) group = 'redis';
    perPid.set(pid, { group, ticks });
  }
  return { perPid, machineTicks, idleTicks };
}

/** Starts a window; the returned function closes it and reports CPU use inside it. */
export function cpuWindow(appPids: readonly number[]): () => CpuUsage | undefined {
  const pids = new Set(appPids);
  const startedAt = performance.now();
  const before = readSnapshot(pids);
  return () => {
    const after = readSnapshot(pids);
    if (!before || !after) return undefined;
    const seconds = Object.fromEntries(CPU_GROUPS.map((group) => [group, 0])) as Record<
      CpuGroup,
      number
    >;
    for (const [pid, now] of after.perPid) {
      // A process started inside the window counts from zero; one that ended is lost (rare:
      // the apps, PostgreSQL backends of their pools and Redis live through every window).
      const then = before.perPid.get(pid)?.ticks ?? 0;
      seconds[now.group] += Math.max(0, now.ticks - then) / TICKS_PER_SECOND;
    }
    const machine = after.machineTicks - before.machineTicks;
    const idle = after.idleTicks - before.idleTicks;
    return {
      seconds,
      busy: machine > 0 ? 1 - idle / machine : 0,
      wall: (performance.now() - startedAt) / 1000,
    };
  };
}

export function addCpu(a: CpuUsage | undefined, b: CpuUsage | undefined): CpuUsage | undefined {
  if (!a || !b) return a ?? b;
  const seconds = { ...a.seconds };
  for (const group of CPU_GROUPS) seconds[group] += b.seconds[group];
  const wall = a.wall + b.wall;
  return { seconds, wall, busy: (a.busy * a.wall + b.busy * b.wall) / wall };
}
