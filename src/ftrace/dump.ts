// Decoding the ftrace events of a trace_buffer (struct ftrace_entry, struct stack_entry) and
// ftrace_dump() into the machine log. The text of a line follows the default trace format
// (print_trace_fmt: "%16s-%-7d [%03d] FLAGS %5lu.%06lu: func <-parent"); the tracefs `trace` files
// have their own formatter.
import type { Ftrace } from './ftrace.ts';
import type { TraceBuffer, TraceEvent } from '../ring/trace-buffer.ts';
import { abi } from '../layout.ts';

const { TRACE_FN, TRACE_STACK, TRACE_FLAG_IRQS_OFF, TRACE_FLAG_NEED_RESCHED, TRACE_FLAG_PREEMPT_RESCHED, TRACE_FLAG_HARDIRQ, TRACE_FLAG_SOFTIRQ, TRACE_FLAG_NMI, TRACE_FLAG_BH_OFF } = abi;

export interface FtraceEntry {
  type: number; // TRACE_FN or TRACE_STACK (others: raw)
  flags: number;
  preemptCount: number;
  pid: number;
  ip?: bigint; // TRACE_FN
  parentIp?: bigint; // TRACE_FN
  callers?: bigint[]; // TRACE_STACK
}

// struct trace_entry + struct ftrace_entry / struct stack_entry
export function decodeFtraceEvent(data: Uint8Array): FtraceEntry {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const e: FtraceEntry = { type: dv.getUint16(0, true), flags: dv.getUint8(2), preemptCount: dv.getUint8(3), pid: dv.getInt32(4, true) };
  if (e.type === TRACE_FN && data.byteLength >= 24) {
    e.ip = dv.getBigUint64(8, true);
    e.parentIp = dv.getBigUint64(16, true);
  } else if (e.type === TRACE_STACK && data.byteLength >= 16) {
    const n = dv.getInt32(8, true);
    e.callers = [];
    for (let i = 0; i < n && 16 + i * 8 + 8 <= data.byteLength; i++) e.callers.push(dv.getBigUint64(16 + i * 8, true));
  }
  return e;
}

// trace_print_lat_fmt(): irqs-off, need-resched, hardirq/softirq, preempt-depth, migrate-disable
export function latFlags(flags: number, preemptCount: number): string {
  const nmi = flags & TRACE_FLAG_NMI;
  const hardirq = flags & TRACE_FLAG_HARDIRQ;
  const softirq = flags & TRACE_FLAG_SOFTIRQ;
  const bhOff = flags & TRACE_FLAG_BH_OFF;
  const irqsOff = flags & TRACE_FLAG_IRQS_OFF && bhOff ? 'D' : flags & TRACE_FLAG_IRQS_OFF ? 'd' : bhOff ? 'b' : '.';
  const nr = flags & (TRACE_FLAG_NEED_RESCHED | TRACE_FLAG_PREEMPT_RESCHED);
  const needResched = nr === (TRACE_FLAG_NEED_RESCHED | TRACE_FLAG_PREEMPT_RESCHED) ? 'N' : nr === TRACE_FLAG_NEED_RESCHED ? 'n' : nr ? 'p' : '.';
  const hs = nmi && hardirq ? 'Z' : nmi ? 'z' : hardirq && softirq ? 'H' : hardirq ? 'h' : softirq ? 's' : '.';
  const pc = preemptCount & 0xf ? (preemptCount & 0xf).toString(16) : '.';
  const mig = preemptCount & 0xf0 ? (preemptCount >> 4).toString(16) : '.';
  return `${irqsOff}${needResched}${hs}${pc}${mig}`;
}

function sym(ft: Ftrace, ip: bigint | undefined): string {
  if (ip === undefined || ip === 0n) return '0';
  const s = ft.symbolize(ip);
  return s ? s.name : `0x${ip.toString(16)}`;
}

export function formatFtraceLine(ft: Ftrace, ev: TraceEvent): string[] {
  const e = decodeFtraceEvent(ev.data);
  const comm = e.pid === 0 ? '<idle>' : ft.commOf(e.pid);
  const ts = `${Math.floor(ev.ts / 1e9)}.${String(Math.floor(ev.ts / 1e3) % 1e6).padStart(6, '0')}`;
  const head = `${`${comm}-${String(e.pid).padEnd(7)}`.padStart(24)} [${String(ev.cpu).padStart(3, '0')}] ${latFlags(e.flags, e.preemptCount)} ${ts.padStart(12)}: `;
  if (e.type === TRACE_FN) return [`${head}${sym(ft, e.ip)} <-${sym(ft, e.parentIp)}`];
  if (e.type === TRACE_STACK) return [`${head}<stack trace>`, ...(e.callers ?? []).map((ip) => ` => ${sym(ft, ip)}`)];
  return [`${head}[type ${e.type}]`];
}

// ftrace_dump_one(): consumes what it prints; cpu < 0 is DUMP_ALL, else DUMP_ORIG of that CPU
export function formatDump(ft: Ftrace, buffer: TraceBuffer, cpu: number): string[] {
  const out = [buffer === ft.rm.buffer ? 'Dumping ftrace buffer:' : `Dumping ftrace instance ${buffer.name} buffer:`];
  if (ft.disabled) out.push('# WARNING: FUNCTION TRACING IS CORRUPTED', '#          MAY BE MISSING FUNCTION EVENTS');
  out.push('---------------------------------');
  let cnt = 0;
  const cpus = cpu < 0 ? buffer.bufferCpus() : buffer.bufferCpus().filter((c) => c === cpu);
  for (let ev = buffer.consumeMerged(cpus); ev; ev = buffer.consumeMerged(cpus)) {
    if (ev.lost) out.push(`CPU:${ev.cpu} [LOST ${ev.lost} EVENTS]`);
    out.push(...formatFtraceLine(ft, ev));
    cnt++;
  }
  if (!cnt) out.push('   (ftrace buffer empty)');
  else out.push('---------------------------------');
  return out;
}
