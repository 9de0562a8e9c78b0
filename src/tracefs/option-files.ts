// trace_options, options/event-fork and options/function-fork of every trace_array
// (kernel/trace/trace.c), and the probes the two fork options put on sched_process_fork and
// sched_process_exit.
//
// trace_options lists the trace_array's core flags, "name" when set and "noname" when clear, then the
// current tracer's own flags (tracing_trace_options_show); a write sets one ("name") or clears it
// ("noname"), a core flag first, else a flag of the current tracer, else EINVAL (trace_set_options).
// Only the flags this emulator models are listed, in the kernel's TRACE_FLAGS order.
import type { RingMachine } from '../api.ts';
import { RingtraceError } from '../errors.ts';
import { GRAPH_OPTIONS } from '../ftrace/function-graph.ts';
import type { TraceBuffer } from '../ring/trace-buffer.ts';
import { traceFilterAddRemoveTask } from '../events/pid-list.ts';
import { TRACE_MODE_WRITE, file } from './node.ts';
import { kstrtoulFromUser } from './parse.ts';
import { ftracePidFollowExit, ftracePidFollowFork, funcForkOf, setFuncFork } from './pid-files.ts';
import type { TraceArray, TraceArrayFile } from './trace-array.ts';

interface Flag {
  name: string;
  get(tr: TraceArray): boolean;
  set(tr: TraceArray, on: boolean): void;
}

// options/event-fork (TRACE_ITER_EVENT_FORK): set_event_pid follows forks (trace_event_follow_fork)
const eventFork = new WeakSet<TraceBuffer>();

// TRACE_FLAGS (kernel/trace/trace.h), the ones modelled
const CORE_FLAGS: readonly Flag[] = [
  {
    name: 'overwrite',
    get: (tr) => tr.buffer.overwrite,
    set: (tr, on) => {
      if (on !== tr.buffer.overwrite) tr.buffer.setOverwrite(on);
    },
  },
  {
    name: 'event-fork',
    get: (tr) => eventFork.has(tr.buffer),
    set: (tr, on) => {
      if (on) eventFork.add(tr.buffer);
      else eventFork.delete(tr.buffer);
    },
  },
  { name: 'function-fork', get: funcForkOf, set: setFuncFork },
];

// tr->current_trace->flags->opts: function_graph's tracer_flags
function tracerFlags(tr: TraceArray): Flag[] {
  if (tr.rm.ftrace.currentTracer(tr.buffer) !== 'function_graph') return [];
  const graph = tr.rm.ftrace.graph;
  return GRAPH_OPTIONS.map(([name]) => ({ name, get: () => graph.option(name), set: (_tr, on) => graph.setOption(name, on) }));
}

// tracing_trace_options_show()
function traceOptionsRead(tr: TraceArray): string {
  return [...CORE_FLAGS, ...tracerFlags(tr)].map((f) => `${f.get(tr) ? '' : 'no'}${f.name}\n`).join('');
}

// tracing_trace_options_write() -> trace_set_options(): at most 63 bytes, stripped, "no" clears
async function traceOptionsWrite(tr: TraceArray, text: string): Promise<void> {
  if (new TextEncoder().encode(text).length >= 64) throw new RingtraceError('EINVAL', 'trace_options takes one option of at most 63 bytes');
  let cmp = text.replace(/\0.*$/s, '').trim();
  const neg = cmp.startsWith('no');
  if (neg) cmp = cmp.slice(2);
  const flag = [...CORE_FLAGS, ...tracerFlags(tr)].find((f) => f.name === cmp);
  if (!flag) throw new RingtraceError('EINVAL', `no trace option "${cmp}"`);
  flag.set(tr, !neg);
}

// trace_options_core_write(): 0 or 1 -> set_tracer_flag()
function coreFlagWrite(tr: TraceArray, flag: Flag, text: string): void {
  const val = kstrtoulFromUser(text);
  if (val !== 0n && val !== 1n) throw new RingtraceError('EINVAL', `options/${flag.name}: ${val} is neither 0 nor 1`);
  flag.set(tr, val === 1n);
}

// options/NAME of a core flag: trace_options_core_read() / trace_options_core_write()
function coreFlagFile(name: string): TraceArrayFile {
  const flag = CORE_FLAGS.find((f) => f.name === name)!;
  return [`options/${name}`, (tr) => file({ mode: TRACE_MODE_WRITE, read: () => (flag.get(tr) ? '1\n' : '0\n'), write: async (t) => coreFlagWrite(tr, flag, t) })];
}

export const OPTION_FILES: readonly TraceArrayFile[] = [
  ['trace_options', (tr) => file({ mode: TRACE_MODE_WRITE, read: () => traceOptionsRead(tr), write: (t) => traceOptionsWrite(tr, t) })],
  coreFlagFile('event-fork'),
  coreFlagFile('function-fork'),
];

// event_filter_pid_sched_process_fork() / _exit(): trace_filter_add_remove_task() on set_event_pid of
// each trace_array with event-fork
async function eventPidFollow(rm: RingMachine, self: number | undefined, task: number): Promise<void> {
  for (const b of [rm.buffer, ...rm.instances.values()]) {
    if (!eventFork.has(b)) continue;
    const next = traceFilterAddRemoveTask(rm.events.array(b).pids, self, task);
    if (next) await rm.events.setEventPids(b, next);
  }
}

// The sched_process_fork probes of function-fork and event-fork
export async function schedProcessForkProbes(rm: RingMachine, parent: number, child: number): Promise<void> {
  await ftracePidFollowFork(rm, parent, child);
  await eventPidFollow(rm, parent, child);
}

// The sched_process_exit probes of both options
export async function schedProcessExitProbes(rm: RingMachine, pid: number): Promise<void> {
  await ftracePidFollowExit(rm, pid);
  await eventPidFollow(rm, undefined, pid);
}
