// The readers of a trace_array (kernel/trace/trace.c): `trace` (the non-consuming iterator with the
// header), `trace_pipe` (consuming), their per_cpu/cpuN twins, and the format files of events/.
//
// trace_pipe does not block: a read returns what the buffer holds when it is read (the kernel's read
// would wait for data while the buffer is empty, unless the file was opened O_NONBLOCK), consuming at
// most the events that were there when the read began, so CPUs that keep writing cannot keep it going.
import { printTraceLine, totalEntries, traceHeader, symbolSource, type SymbolSource } from '../trace/output.ts';
import { GraphPrinter, graphHeader, printGraphEvents } from '../trace/graph-output.ts';
import { TRACE_MODE_READ, TRACE_MODE_WRITE, file, type OpenFile, type OpenFlags } from './node.ts';
import { resetOnlineCpus } from './ftrace-files.ts';
import type { PerCpuFile, TraceArray, TraceArrayFile } from './trace-array.ts';

function symbols(tr: TraceArray): SymbolSource {
  const ft = tr.rm.ftrace;
  const base: SymbolSource = ft ? symbolSource(ft) : { commOf: (pid) => (pid === 0 ? '<idle>' : '<...>'), symbolize: () => null };
  const events = tr.rm.events;
  return { commOf: (pid) => base.commOf(pid), symbolize: (a) => base.symbolize(a), eventPrinter: (type) => events?.printer(type) };
}

function tracerName(tr: TraceArray): string {
  return tr.rm.ftrace?.currentTracer(tr.buffer) ?? 'nop';
}

// the function_graph tracer's print_line (graph_trace_open() per read), or none
function graphPrinter(tr: TraceArray, tracer: string): GraphPrinter | null {
  const ft = tr.rm.ftrace;
  if (!ft || tracer !== 'function_graph') return null;
  const syms = { commOf: (pid: number) => ft.commOf(pid), symbolize: (ip: bigint) => ft.symbolize(ip) };
  return new GraphPrinter({ ...syms, nrCpuIds: tr.rm.nrCpuIds, isIrqEntry: (ip) => ft.isIrqEntry(ip) }, ft.graph.flags);
}

// s_show()'s header for a tracer with print_header (function_graph: print_graph_headers())
function graphTraceHeader(tr: TraceArray, tracer: string): string {
  const ft = tr.rm.ftrace!;
  let s = `# tracer: ${tracer}\n#\n`;
  if (ft.disabled) s += '# WARNING: FUNCTION TRACING IS CORRUPTED\n#          MAY BE MISSING FUNCTION EVENTS\n';
  return s + graphHeader(ft.graph.flags);
}

// s_show() over __tracing_open(): pause-on-trace stops recording while the file is read
// (tracing_stop_tr .. tracing_start_tr); the header, then every event of the CPUs in stamp order.
export function traceRead(tr: TraceArray, cpu?: number, tracer = tracerName(tr)): string {
  const tb = tr.buffer;
  const syms = symbols(tr);
  const inNs = tb.clock.inNs;
  tb.recordDisable();
  try {
    const cpus = cpu === undefined ? tb.bufferCpus() : tb.bufferCpus().filter((c) => c === cpu);
    const graph = graphPrinter(tr, tracer);
    if (graph) return graphTraceHeader(tr, tracer) + printGraphEvents(graph, [...tb.iterateMerged(cpus)], inNs, (ev) => (ev.lost ? -1 : 0));
    const { entries, total } = totalEntries(tb, tr.rm.nrCpuIds);
    let out = traceHeader({
      tracer,
      entries,
      total,
      online: tr.rm.onlineCpus().length,
      ftraceDead: tr.rm.ftrace?.disabled ?? false,
    });
    // TRACE_FILE_ANNOTATE when the buffer had overruns at open: test_cpu_buff_start() marks the first
    // event of each CPU, except while the iterator's index is still 0 or 1
    let overruns = 0;
    for (const c of tb.bufferCpus()) overruns += tb.stats(c).overrun;
    const started = new Set<number>();
    let idx = 0;
    for (const ev of tb.iterateMerged(cpus)) {
      // the iterator reports an overrun as lost_events = -1: "CPU:N [LOST EVENTS]"
      const line = printTraceLine(syms, ev, inNs, ev.lost ? -1 : 0);
      if (overruns && !started.has(ev.cpu)) {
        started.add(ev.cpu);
        if (idx > 1) {
          const at = ev.lost ? line.indexOf('\n') + 1 : 0;
          out += line.slice(0, at) + `##### CPU ${ev.cpu} buffer started ####\n` + line.slice(at);
          idx++;
          continue;
        }
      }
      out += line;
      idx++;
    }
    return out;
  } finally {
    tb.recordEnable();
  }
}

// tracing_open() with O_TRUNC: tracing_reset_online_cpus() (or tracing_reset_cpu() for per_cpu/cpuN/trace)
// at open, so `: > trace` clears it without writing; what is written is ignored (tracing_write_stub)
function traceOpen(tr: TraceArray, flags: OpenFlags, cpu?: number): OpenFile {
  const reset = flags.append ? undefined : cpu === undefined ? resetOnlineCpus(tr) : tr.buffer.hasCpu(cpu) ? tr.buffer.reset(cpu) : undefined;
  return { write: async () => undefined, close: async () => void (await reset) };
}

// tracing_read_pipe(): consume in stamp order across the CPUs; each event's lost count (from the
// reader page swap) comes first as "CPU:N [LOST M EVENTS]"
function tracePipeRead(tr: TraceArray, cpu?: number): string {
  const tb = tr.buffer;
  const syms = symbols(tr);
  const inNs = tb.clock.inNs;
  const cpus = cpu === undefined ? tb.bufferCpus() : tb.bufferCpus().filter((c) => c === cpu);
  const close = tb.open();
  try {
    let limit = 0;
    for (const c of cpus) limit += tb.stats(c).entries;
    const graph = graphPrinter(tr, tracerName(tr));
    if (graph) return printGraphEvents(graph, [...tb.consumeMergedUpTo(limit, cpus)], inNs, (ev) => ev.lost);
    let out = '';
    for (const ev of tb.consumeMergedUpTo(limit, cpus)) out += printTraceLine(syms, ev, inNs, ev.lost);
    return out;
  } finally {
    close();
  }
}

export const TRACE_FILES: readonly TraceArrayFile[] = [
  ['trace', (tr) => file({ mode: TRACE_MODE_WRITE, read: () => traceRead(tr), open: (flags) => traceOpen(tr, flags) })],
  ['trace_pipe', (tr) => file({ mode: TRACE_MODE_READ, read: () => tracePipeRead(tr) })],
];

export const PER_CPU_TRACE_FILES: readonly PerCpuFile[] = [
  ['trace', (tr, cpu) => file({ mode: TRACE_MODE_WRITE, read: () => traceRead(tr, cpu), open: (flags) => traceOpen(tr, flags, cpu) })],
  ['trace_pipe', (tr, cpu) => file({ mode: TRACE_MODE_READ, read: () => tracePipeRead(tr, cpu) })],
];
