// The text of the `trace` and `trace_pipe` files (kernel/trace/trace.c, kernel/trace/trace_output.c): the
// default header of the function tracer with the irq-info legend, one line per event with the context
// columns, the function and stack-trace events, unknown types, and the lost-events markers.
//
// Only the events the emulated kernel registers have a formatter (TRACE_FN and TRACE_STACK here, the
// event layer's through SymbolSource.eventPrinter); any other
// type, e.g. the self-checking payloads of raw ring-buffer workloads, prints as the kernel prints a type
// nobody registered ("Unknown type N").
import type { Ftrace } from '../ftrace/ftrace.ts';
import type { TraceBuffer, TraceEvent } from '../ring/trace-buffer.ts';
import { abi } from '../layout.ts';

const {
  TRACE_FN, TRACE_STACK, TRACE_FLAG_IRQS_OFF, TRACE_FLAG_NEED_RESCHED, TRACE_FLAG_PREEMPT_RESCHED, TRACE_FLAG_HARDIRQ,
  TRACE_FLAG_SOFTIRQ, TRACE_FLAG_NMI, TRACE_FLAG_BH_OFF,
} = abi;

const ULONG_MAX = (1n << 64n) - 1n;

// The part of the kernel a formatter needs: comm by pid (trace_find_cmdline) and kallsyms.
export interface SymbolSource {
  commOf(pid: number): string;
  symbolize(addr: bigint): { name: string } | null;
  // the output function of a registered event type (print_trace_fmt's event->funcs->trace)
  eventPrinter?(type: number): ((data: Uint8Array, syms: SymbolSource) => string) | undefined;
}

export function symbolSource(ft: Ftrace): SymbolSource {
  return ft;
}

// struct trace_entry, read from what is there (a raw event may be shorter than the header)
export interface EntryHeader {
  type: number;
  flags: number;
  preemptCount: number;
  pid: number;
}

function view(data: Uint8Array): DataView {
  return new DataView(data.buffer, data.byteOffset, data.byteLength);
}

export function entryHeader(data: Uint8Array): EntryHeader {
  const pad = new Uint8Array(8);
  pad.set(data.subarray(0, 8));
  const dv = view(pad);
  return { type: dv.getUint16(0, true), flags: dv.getUint8(2), preemptCount: dv.getUint8(3), pid: dv.getInt32(4, true) };
}

// ns2usecs(): rounded to the nearest microsecond
function ns2usecs(ns: bigint): bigint {
  return (ns + 500n) / 1000n;
}

// trace_print_time(): " %5lu.%06lu" in ns clocks, else " %12llu"
export function printTime(ts: number, inNs: boolean): string {
  const t = BigInt(ts);
  if (!inNs) return ` ${String(t).padStart(12)}`;
  const us = ns2usecs(t);
  const sec = us / 1_000_000n;
  const rem = us % 1_000_000n;
  return ` ${String(sec).padStart(5)}.${String(rem).padStart(6, '0')}`;
}

// trace_print_lat_fmt(): irqs-off, need-resched, hardirq/softirq, preempt-depth, migrate-disable
export function latFmt(flags: number, preemptCount: number): string {
  const nmi = flags & TRACE_FLAG_NMI;
  const hardirq = flags & TRACE_FLAG_HARDIRQ;
  const softirq = flags & TRACE_FLAG_SOFTIRQ;
  const bhOff = flags & TRACE_FLAG_BH_OFF;
  const irqsOff = flags & TRACE_FLAG_IRQS_OFF && bhOff ? 'D' : flags & TRACE_FLAG_IRQS_OFF ? 'd' : bhOff ? 'b' : '.';
  let needResched: string;
  switch (flags & (TRACE_FLAG_NEED_RESCHED | TRACE_FLAG_PREEMPT_RESCHED)) {
    case TRACE_FLAG_NEED_RESCHED | TRACE_FLAG_PREEMPT_RESCHED:
      needResched = 'N';
      break;
    case TRACE_FLAG_NEED_RESCHED:
      needResched = 'n';
      break;
    case TRACE_FLAG_PREEMPT_RESCHED:
      needResched = 'p';
      break;
    default:
      needResched = '.';
  }
  const hardsoft = nmi && hardirq ? 'Z' : nmi ? 'z' : hardirq && softirq ? 'H' : hardirq ? 'h' : softirq ? 's' : '.';
  const depth = preemptCount & 0xf ? (preemptCount & 0xf).toString(16) : '.';
  const migrate = preemptCount & 0xf0 ? (preemptCount >> 4).toString(16) : '.';
  return `${irqsOff}${needResched}${hardsoft}${depth}${migrate}`;
}

// trace_print_context(): "%16s-%-7d [%03d] FLAGS %5lu.%06lu: "
export function printContext(syms: SymbolSource, ev: TraceEvent, ent: EntryHeader, inNs: boolean): string {
  const comm = ent.pid === 0 ? '<idle>' : syms.commOf(ent.pid);
  return `${comm.padStart(16)}-${String(ent.pid).padEnd(7)} [${String(ev.cpu).padStart(3, '0')}] ${latFmt(ent.flags, ent.preemptCount)}${printTime(ev.ts, inNs)}: `;
}

// seq_print_ip_sym() without sym-offset/sym-addr: '0' for 0, the kallsyms name (no module), else 0x%08lx
export function ipSym(syms: SymbolSource, ip: bigint): string {
  if (ip === 0n) return '0';
  const s = syms.symbolize(ip);
  return s && s.name ? s.name : `0x${ip.toString(16).padStart(8, '0')}`;
}

// The event part of a line: trace_fn_trace(), trace_stack_print(), or print_trace_fmt()'s unknown type.
export function printEvent(syms: SymbolSource, ev: TraceEvent, ent: EntryHeader): string {
  const data = ev.data;
  if (ent.type === TRACE_FN && data.byteLength >= 24) {
    const dv = view(data);
    const ip = dv.getBigUint64(8, true);
    const parent = dv.getBigUint64(16, true);
    // print_fn_trace(): the parent only when there is one (options/print-parent is on by default)
    return parent ? `${ipSym(syms, ip)} <-${ipSym(syms, parent)}\n` : `${ipSym(syms, ip)}\n`;
  }
  if (ent.type === TRACE_STACK && data.byteLength >= 16) {
    // trace_stack_print(): every caller up to the end of the event or ULONG_MAX
    const dv = view(data);
    let out = '<stack trace>\n';
    for (let p = 16; p + 8 <= data.byteLength; p += 8) {
      const ip = dv.getBigUint64(p, true);
      if (ip === ULONG_MAX) break;
      out += ` => ${ipSym(syms, ip)}\n`;
    }
    return out;
  }
  const printer = syms.eventPrinter?.(ent.type);
  if (printer) return printer(data, syms);
  return `Unknown type ${ent.type}\n`;
}

// print_trace_line(): the lost-events marker, then the context and the event. `lost` is what the reader
// reported: a count from a consuming read, or -1 when a non-consuming iterator was overrun.
export function printTraceLine(syms: SymbolSource, ev: TraceEvent, inNs: boolean, lost: number): string {
  let out = '';
  if (lost === -1) out += `CPU:${ev.cpu} [LOST EVENTS]\n`;
  else if (lost) out += `CPU:${ev.cpu} [LOST ${lost} EVENTS]\n`;
  const ent = entryHeader(ev.data);
  return out + printContext(syms, ev, ent, inNs) + printEvent(syms, ev, ent);
}

// get_total_entries(): over every possible CPU, entries in the buffer and entries written (entries plus
// overrun); a CPU without a ring buffer counts zero
export function totalEntries(tb: TraceBuffer, nrCpuIds: number): { entries: number; total: number } {
  let entries = 0;
  let total = 0;
  for (let cpu = 0; cpu < nrCpuIds; cpu++) {
    if (!tb.hasCpu(cpu)) continue;
    const s = tb.stats(cpu);
    entries += s.entries;
    total += s.entries + s.overrun;
  }
  return { entries, total };
}

export interface HeaderInfo {
  tracer: string;
  entries: number;
  total: number;
  online: number; // num_online_cpus()
  ftraceDead: boolean; // ftrace_is_dead()
}

// s_show() for the header: "# tracer: NAME", "#", test_ftrace_alive(), then trace_default_header() ->
// print_func_help_header_irq() (options/irq-info is on by default, record-tgid off)
export function traceHeader(h: HeaderInfo): string {
  let s = `# tracer: ${h.tracer}\n#\n`;
  if (h.ftraceDead) s += '# WARNING: FUNCTION TRACING IS CORRUPTED\n#          MAY BE MISSING FUNCTION EVENTS\n';
  // print_event_info()
  s += `# entries-in-buffer/entries-written: ${h.entries}/${h.total}   #P:${h.online}\n#\n`;
  // print_func_help_header_irq() with prec 2 ("  ") and the non-tgid column texts
  const sp = '  ';
  s += `#                            ${sp}  _-----=> irqs-off/BH-disabled\n`;
  s += `#                            ${sp} / _----=> need-resched\n`;
  s += `#                            ${sp}| / _---=> hardirq/softirq\n`;
  s += `#                            ${sp}|| / _--=> preempt-depth\n`;
  s += `#                            ${sp}||| / _-=> migrate-disable\n`;
  s += `#                            ${sp}|||| /     delay\n`;
  s += `#           TASK-PID  ${'     TGID   '.slice(0, 2)} CPU#  |||||  TIMESTAMP  FUNCTION\n`;
  s += `#              | |    ${'       |    '.slice(0, 2)}   |   |||||     |         |\n`;
  return s;
}

// trace_print_graph_duration(): usecs, then ".nnn" while the usecs have fewer than 7 digits, " us ", and
// spaces up to the column's width
export function graphDuration(ns: bigint): string {
  const usecs = String(ns / 1000n);
  const nsecsRem = ns % 1000n;
  let s = usecs;
  let len = usecs.length;
  if (len < 7) {
    // snprintf(nsecs_str, min(5, 8 - len), "%03lu"): at most 8 - len - 1 characters of the remainder
    const nsecs = String(nsecsRem).padStart(3, '0').slice(0, Math.min(5, 8 - len) - 1);
    s += `.${nsecs}`;
    len += nsecs.length + 1;
  }
  s += ' us ';
  for (let i = len; i < 8; i++) s += ' ';
  return s;
}

// function_stat_headers() with CONFIG_FUNCTION_GRAPH_TRACER
export const FUNCTION_STAT_HEADERS =
  '  Function                               Hit    Time            Avg             s^2\n' +
  '  --------                               ---    ----            ---             ---\n';

// function_stat_show(): name (kallsyms, no module) in 30 columns, hits, total time, average and the sample
// variance (s^2, in us^2 printed through trace_print_graph_duration, hence the single /1000)
export function functionStatLine(name: string, hits: number, timeNs: number, timeSqNs: number): string {
  const n = BigInt(hits);
  const time = BigInt(timeNs);
  const avg = time / n;
  let stddev = 0n;
  const denom = n * (n - 1n) * 1000n;
  if (denom) {
    const U64 = (1n << 64n) - 1n;
    // u64 arithmetic, as in the kernel
    stddev = ((n * BigInt(timeSqNs) - time * time) & U64) / (denom & U64 || 1n);
  }
  const padded = name.length > 30 ? name.slice(0, 30) : name.padEnd(30);
  return `  ${padded}  ${String(hits).padStart(10)}    ${graphDuration(time)}    ${graphDuration(avg)}    ${graphDuration(stddev)}\n`;
}
