// A trace_array as tracefs sees it, and the directory of files every trace_array has: the top level
// and each instances/NAME, each over its own TraceBuffer.
import type { RingMachine } from '../api.ts';
import type { TraceBuffer } from '../ring/trace-buffer.ts';
import { type TraceDir, type TraceNode, dynamicDir, staticDir, treeFrom } from './node.ts';
import { BUFFER_FILES, PER_CPU_BUFFER_FILES } from './buffer-files.ts';
import { FTRACE_FILES, TOP_LEVEL_FTRACE_FILES } from './ftrace-files.ts';
import { PER_CPU_TRACE_FILES, TRACE_FILES } from './trace-files.ts';
import { EVENT_FILES, TOP_LEVEL_EVENT_FILES } from './event-files.ts';
import { CPUMASK_FILES } from './cpumask-file.ts';
import { PID_FILES } from './pid-files.ts';
import { OPTION_FILES } from './option-files.ts';
import { PER_CPU_SNAPSHOT_FILES, SNAPSHOT_FILES } from './snapshot-files.ts';
import { GRAPH_FILES, TOP_LEVEL_GRAPH_FILES } from './graph-files.ts';
import { STACK_FILES } from './stack-files.ts';

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

// The registry: files of every trace_array (init_tracer_tracefs, ftrace_create_filter_files,
// event_trace_add_tracer), files only the top level has (ftrace_init_dyn_tracefs, the function
// profiler, trace_stat), and files of every per_cpu/cpuN.
export const TRACE_ARRAY_FILES: readonly TraceArrayFile[] = [
  ...BUFFER_FILES, ...FTRACE_FILES, ...TRACE_FILES, ...GRAPH_FILES, ...EVENT_FILES, ...CPUMASK_FILES, ...SNAPSHOT_FILES, ...PID_FILES, ...OPTION_FILES,
];
export const TOP_LEVEL_FILES: readonly TraceArrayFile[] = [...TOP_LEVEL_FTRACE_FILES, ...TOP_LEVEL_GRAPH_FILES, ...STACK_FILES, ...TOP_LEVEL_EVENT_FILES];
export const PER_CPU_FILES: readonly PerCpuFile[] = [...PER_CPU_BUFFER_FILES, ...PER_CPU_TRACE_FILES, ...PER_CPU_SNAPSHOT_FILES];

export function instanceArray(rm: RingMachine, name: string, buffer: TraceBuffer): TraceArray {
  return { name, buffer, rm };
}

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
        dir = staticDir(new Map(PER_CPU_FILES.map(([file, make]) => [file, held(tr, make(tr, cpu))])));
        dirs.set(cpu, dir);
      }
      return dir;
    },
  );
}

// An open file of an instance holds the instance (trace_array_get()), so rmdir fails with EBUSY.
function held(tr: TraceArray, node: TraceNode): TraceNode {
  if (node.kind !== 'file' || tr.name === '') return node;
  return { ...node, hold: () => tr.buffer.open() };
}

// The directory of a trace_array (init_tracer_tracefs()); the top level also gets TOP_LEVEL_FILES and
// `extra` entries (instances/).
export function traceArrayDir(tr: TraceArray, extra: Iterable<[string, TraceNode]> = []): TraceDir {
  const files = tr.name === '' ? [...TRACE_ARRAY_FILES, ...TOP_LEVEL_FILES] : TRACE_ARRAY_FILES;
  return treeFrom([
    ...files.map(([path, make]) => [path, held(tr, make(tr))] as [string, TraceNode]),
    ['per_cpu', perCpuDir(tr)],
    ...extra,
  ]);
}

// instances/: a directory per instance (instance_mkdir() / instance_rmdir() through Tracefs.mkdir/rmdir)
export function instancesDir(rm: RingMachine): TraceDir {
  const dirs = new WeakMap<TraceBuffer, TraceDir>();
  return dynamicDir(
    () => [...rm.instances.keys()],
    (name) => {
      const buffer = rm.instances.get(name);
      if (!buffer) return undefined;
      let dir = dirs.get(buffer);
      if (!dir) dirs.set(buffer, (dir = traceArrayDir(instanceArray(rm, name, buffer))));
      return dir;
    },
  );
}
