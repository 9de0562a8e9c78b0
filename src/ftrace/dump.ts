// Decoding the ftrace events of a trace_buffer (struct ftrace_entry, struct stack_entry) and
// ftrace_dump() into the machine log, in the default trace format (src/trace/output.ts).
import type { Ftrace } from './ftrace.ts';
import type { TraceBuffer } from '../ring/trace-buffer.ts';
import { abi } from '../layout.ts';
import { printTraceLine, symbolSource } from '../trace/output.ts';

const { TRACE_FN, TRACE_STACK } = abi;

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

// ftrace_dump_one(): consumes what it prints; cpu < 0 is DUMP_ALL, else DUMP_ORIG of that CPU
export function formatDump(ft: Ftrace, buffer: TraceBuffer, cpu: number): string[] {
  const out = [buffer === ft.rm.buffer ? 'Dumping ftrace buffer:' : `Dumping ftrace instance ${buffer.name} buffer:`];
  if (ft.disabled) out.push('# WARNING: FUNCTION TRACING IS CORRUPTED', '#          MAY BE MISSING FUNCTION EVENTS');
  out.push('---------------------------------');
  let cnt = 0;
  const cpus = cpu < 0 ? buffer.bufferCpus() : buffer.bufferCpus().filter((c) => c === cpu);
  // trace_print_seq(): the lines of the default trace format, as the trace file prints them
  const syms = symbolSource(ft);
  const inNs = buffer.clock.inNs;
  for (let ev = buffer.consumeMerged(cpus); ev; ev = buffer.consumeMerged(cpus)) {
    out.push(...printTraceLine(syms, ev, inNs, ev.lost).replace(/\n$/, '').split('\n'));
    cnt++;
  }
  if (!cnt) out.push('   (ftrace buffer empty)');
  else out.push('---------------------------------');
  return out;
}
