// trace_options and options/function-fork of every trace_array (kernel/trace/trace.c).
//
// trace_options lists the trace_array's core flags, "name" when set and "noname" when clear, then the
// current tracer's own flags (tracing_trace_options_show); a write sets one ("name") or clears it
// ("noname"), a core flag first, else a flag of the current tracer, else EINVAL (trace_set_options).
// Only the flags this emulator models are listed, in the kernel's TRACE_FLAGS order.
import { RingtraceError } from '../errors.ts';
import { GRAPH_OPTIONS } from '../ftrace/function-graph.ts';
import { TRACE_MODE_WRITE, file } from './node.ts';
import { kstrtoulFromUser } from './parse.ts';
import { funcForkOf, setFuncFork } from './pid-files.ts';
import type { TraceArray, TraceArrayFile } from './trace-array.ts';

interface Flag {
  name: string;
  get(tr: TraceArray): boolean;
  set(tr: TraceArray, on: boolean): void;
}

// TRACE_FLAGS (kernel/trace/trace.h), the ones modelled
const CORE_FLAGS: readonly Flag[] = [
  {
    name: 'overwrite',
    get: (tr) => tr.buffer.overwrite,
    set: (tr, on) => {
      if (on !== tr.buffer.overwrite) tr.buffer.setOverwrite(on);
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

const FUNCTION_FORK = CORE_FLAGS.find((f) => f.name === 'function-fork')!;

export const OPTION_FILES: readonly TraceArrayFile[] = [
  ['trace_options', (tr) => file({ mode: TRACE_MODE_WRITE, read: () => traceOptionsRead(tr), write: (t) => traceOptionsWrite(tr, t) })],
  ['options/function-fork', (tr) => file({ mode: TRACE_MODE_WRITE, read: () => (FUNCTION_FORK.get(tr) ? '1\n' : '0\n'), write: async (t) => coreFlagWrite(tr, FUNCTION_FORK, t) })],
];
