// A trace_array as tracefs sees it, and the directory of files every trace_array has (the top level
// now; each instances/NAME later gets the same set over its own TraceBuffer).
import type { RingMachine } from '../api.ts';
import type { TraceBuffer } from '../ring/trace-buffer.ts';
import { type TraceDir, type TraceNode, dynamicDir, staticDir, treeFrom } from './node.ts';
import { BUFFER_FILES, PER_CPU_BUFFER_FILES } from './buffer-files.ts';

export interface TraceArray {
  readonly name: string; // "" for the top level, else the instance's name
  readonly buffer: TraceBuffer; // tr->array_buffer.buffer
  readonly rm: RingMachine;
}

// A file of every trace_array, by its path inside the trace_array's directory ("tracing_on",
// "options/overwrite").
export type TraceArrayFile = readonly [path: string, make: (tr: TraceArray) => TraceNode];
// A file of every per_cpu/cpuN directory.
export type PerCpuFile = readonly [name: string, make: (tr: TraceArray, cpu: number) => TraceNode];

// The registry. Later issues add their tables here (ftrace files, trace, trace_pipe, ...).
export const TRACE_ARRAY_FILES: readonly TraceArrayFile[] = [...BUFFER_FILES];
export const PER_CPU_FILES: readonly PerCpuFile[] = [...PER_CPU_BUFFER_FILES];

export function topLevel(rm: RingMachine): TraceArray {
  return {
    name: '',
    get buffer() {
      return rm.buffer;
    },
    rm,
  };
}

const CPU_DIR = /^cpu(0|[1-9][0-9]*)$/;

// per_cpu/: a cpuN directory for every possible CPU (tracing_init_tracefs_percpu() is called
// for_each_tracing_cpu(), and tracing_buffer_mask is cpu_possible_mask), whether it was ever online or not.
function perCpuDir(tr: TraceArray): TraceDir {
  const dirs = new Map<number, TraceDir>();
  const nr = () => tr.rm.nrCpuIds;
  return dynamicDir(
    () => Array.from({ length: nr() }, (_, cpu) => `cpu${cpu}`),
    (name) => {
      const m = CPU_DIR.exec(name);
      if (!m) return undefined;
      const cpu = Number(m[1]);
      if (cpu >= nr()) return undefined;
      let dir = dirs.get(cpu);
      if (!dir) {
        dir = staticDir(new Map(PER_CPU_FILES.map(([file, make]) => [file, make(tr, cpu)])));
        dirs.set(cpu, dir);
      }
      return dir;
    },
  );
}

// The directory of a trace_array (init_tracer_tracefs()), with `extra` entries (the top level's
// instances/, later).
export function traceArrayDir(tr: TraceArray, extra: Iterable<[string, TraceNode]> = []): TraceDir {
  return treeFrom([
    ...TRACE_ARRAY_FILES.map(([path, make]) => [path, make(tr)] as [string, TraceNode]),
    ['per_cpu', perCpuDir(tr)],
    ...extra,
  ]);
}
