// The reproducers of the modelled upstream fixes (`ringtrace repro`): one per entry of FIXES, each
// showing the bug with the fix switched off and its absence with the fix on.
import { FIXES, findFix, type Fix } from '../fixes.ts';

export { reproCpumaskRace } from './cpumask-race.ts';
export type { CpumaskRaceOptions, CpumaskRaceResult } from './cpumask-race.ts';
export { reproFtraceReload, runFtraceReload, FTRACE_RELOAD_SCRIPT, FTRACE_ALIVE_CHECK } from './ftrace-reload.ts';
export type { FtraceReloadRun, FtraceReloadResult } from './ftrace-reload.ts';

export interface Reproducer {
  commit: string; // the fix it demonstrates (FIXES)
  how: string; // one line: what it runs
}

export const REPRODUCERS: readonly Reproducer[] = [
  {
    commit: '20ad8b0888be',
    how:
      "a reader CPU walks every trace_buffer's cpumask and buffers[] while fresh per-CPU buffers are prepared " +
      '(new instances, CPUs up for the first time): fix off and on on the weak memory model, and on tso',
  },
  {
    commit: '8c4f3c3fa968',
    how: "the patch mail's shell reproducer (modprobe/rmmod uinput under a uinput_release filter) through `ringtrace sh`, fix on and off",
  },
];

// Every modelled fix with its reproducer (undefined where there is none yet).
export function listReproducers(): { fix: Fix; reproducer?: Reproducer }[] {
  return FIXES.map((fix) => ({ fix, reproducer: REPRODUCERS.find((r) => r.commit === fix.commit) }));
}

// The reproducer of a commit id or unique prefix (findFix's rules); throws EINVAL for an unknown one.
export function findReproducer(id: string): { fix: Fix; reproducer?: Reproducer } {
  const fix = findFix(id);
  return { fix, reproducer: REPRODUCERS.find((r) => r.commit === fix.commit) };
}
