// How busy the machine was while the benchmark ran: the load average before and after, and, where
// /proc/stat exists, the CPU time of every other process during each round (all cores' busy time minus
// this process's own, which includes its workers and the child processes it waited for).
import os from 'node:os';
import { readFileSync } from 'node:fs';

export interface CpuSnapshot {
  at: number; // performance.now()
  busyS: number | null; // all cores' non-idle time since boot (s), null without /proc/stat
  ownS: number; // this process's user + system time (s), with its waited-for children's
}

const USER_HZ = 100; // /proc/stat's unit (sysconf(_SC_CLK_TCK) on every Linux architecture Node runs on)

export function cpuSnapshot(): CpuSnapshot {
  let busyS: number | null = null;
  try {
    // cpu  user nice system idle iowait irq softirq steal ...
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    busyS = (total - f[3] - f[4]) / USER_HZ;
  } catch {
    busyS = null;
  }
  const u = process.cpuUsage();
  return { at: performance.now(), busyS, ownS: (u.user + u.system) / 1e6 + childrenCpuS() };
}

// cutime + cstime of /proc/self/stat (fields 16 and 17, after the parenthesised comm): the CPU time of
// the children this process waited for, e.g. the CLI processes of cli.sh_startup
function childrenCpuS(): number {
  try {
    const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    return (Number(f[13]) + Number(f[14])) / USER_HZ;
  } catch {
    return 0;
  }
}

// other processes' share of all cores between two snapshots, in percent (null without /proc/stat)
export function othersCpuPct(a: CpuSnapshot, b: CpuSnapshot): number | null {
  if (a.busyS === null || b.busyS === null) return null;
  const wallS = (b.at - a.at) / 1000;
  if (wallS <= 0) return null;
  const others = b.busyS - a.busyS - (b.ownS - a.ownS);
  return Math.min(100, Math.max(0, (others / (wallS * cores())) * 100));
}

export function cores(): number {
  return os.availableParallelism?.() ?? os.cpus().length;
}

export function loadAverage(): number {
  return os.loadavg()[0];
}

// the verdict on a run's load: other processes above 10 % of the machine, or a 1-minute load average
// above half the cores before we started
export function busyWarning(othersPct: number | null, loadBefore: number, loadAfter: number): string | null {
  const n = cores();
  const busy = (othersPct !== null && othersPct > 10) || loadBefore > n / 2;
  if (!busy) return null;
  const others = othersPct === null ? '' : `other processes used ${othersPct.toFixed(0)} % of the ${n} cores during the run; `;
  return `warning: the machine was busy: ${others}load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after. ` +
    'Absolute figures are unreliable (2-10x off on a loaded machine); the gate compares calibrated ratios and noise bands.';
}
