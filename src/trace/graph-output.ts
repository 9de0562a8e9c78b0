// The function_graph tracer's text output (kernel/trace/trace_functions_graph.c): print_graph_headers,
// and print_graph_function_flags() for every event with the iterator's fgraph_data (last pid, depth,
// irq depth and the entered functions per CPU): the CPU / proc / abstime / duration columns, `{` `}`
// nesting, leaf calls on one line (get_return_for_leaf() looks at the next event of the same CPU),
// duration marks, `==========>` irq entries, task switch banners, funcgraph-tail and funcgraph-retval.
// Events the graph printer leaves (the function tracer's, stack traces) print as the default tracer's.
import type { TraceEvent } from '../ring/trace-buffer.ts';
import { abi } from '../layout.ts';
import {
  TRACE_GRAPH_PRINT_OVERRUN, TRACE_GRAPH_PRINT_CPU, TRACE_GRAPH_PRINT_OVERHEAD, TRACE_GRAPH_PRINT_PROC,
  TRACE_GRAPH_PRINT_DURATION, TRACE_GRAPH_PRINT_ABS_TIME, TRACE_GRAPH_PRINT_IRQS, TRACE_GRAPH_PRINT_TAIL,
  TRACE_GRAPH_PRINT_RETVAL, TRACE_GRAPH_PRINT_RETVAL_HEX,
} from '../ftrace/function-graph.ts';
import { entryHeader, graphDuration, ipSym, printEvent, printTraceLine, type SymbolSource } from './output.ts';

const {
  TRACE_FN, TRACE_STACK, TRACE_GRAPH_ENT, TRACE_GRAPH_RET, FGE_FUNC, FGE_DEPTH, FGR_FUNC, FGR_RETVAL, FGR_DEPTH, FGR_OVERRUN, FGR_CALLTIME,
  FGR_RETTIME, FGRAPH_RET_SIZE, FGRAPH_ENT_SIZE, FTC_STACK_MAX,
} = abi;

const TRACE_GRAPH_INDENT = 2;
const FTRACE_RETFUNC_DEPTH = FTC_STACK_MAX;
const ULONG = (1n << 64n) - 1n;
const MAX_ERRNO = 4095n;

// What the graph printer needs of the kernel: symbols and comms, nr_cpu_ids, the irq entry text.
export interface GraphSymbols extends SymbolSource {
  nrCpuIds: number;
  isIrqEntry(ip: bigint): boolean;
}

interface GraphEnt {
  pid: number;
  func: bigint;
  depth: number;
}

interface GraphRet extends GraphEnt {
  retval: bigint;
  overrun: number;
  calltime: bigint;
  rettime: bigint;
}

function view(ev: TraceEvent): DataView {
  return new DataView(ev.data.buffer, ev.data.byteOffset, ev.data.byteLength);
}

function graphEnt(ev: TraceEvent): GraphEnt | null {
  const h = entryHeader(ev.data);
  if (h.type !== TRACE_GRAPH_ENT || ev.data.byteLength < FGRAPH_ENT_SIZE) return null;
  const dv = view(ev);
  return { pid: h.pid, func: dv.getBigUint64(FGE_FUNC, true), depth: dv.getUint32(FGE_DEPTH, true) };
}

function graphRet(ev: TraceEvent): GraphRet | null {
  const h = entryHeader(ev.data);
  if (h.type !== TRACE_GRAPH_RET || ev.data.byteLength < FGRAPH_RET_SIZE) return null;
  const dv = view(ev);
  return {
    pid: h.pid,
    func: dv.getBigUint64(FGR_FUNC, true),
    retval: dv.getBigUint64(FGR_RETVAL, true),
    depth: dv.getUint32(FGR_DEPTH, true),
    overrun: dv.getUint32(FGR_OVERRUN, true),
    calltime: dv.getBigUint64(FGR_CALLTIME, true),
    rettime: dv.getBigUint64(FGR_RETTIME, true),
  };
}

// print_graph_headers_flags() (no latency format)
export function graphHeader(flags: number): string {
  let a = '#';
  let b = '#';
  if (flags & TRACE_GRAPH_PRINT_ABS_TIME) {
    a += '     TIME       ';
    b += '      |         ';
  }
  if (flags & TRACE_GRAPH_PRINT_CPU) {
    a += ' CPU';
    b += ' |  ';
  }
  if (flags & TRACE_GRAPH_PRINT_PROC) {
    a += '  TASK/PID       ';
    b += '   |    |        ';
  }
  if (flags & TRACE_GRAPH_PRINT_DURATION) {
    a += '  DURATION   ';
    b += '   |   |      ';
  }
  return `${a}               FUNCTION CALLS\n${b}               |   |   |   |\n`;
}

// trace_find_mark(): the first threshold the duration exceeds ($ 1 s, @ 100 ms, * 10 ms, # 1 ms,
// ! 100 us, + 10 us)
const MARKS: readonly (readonly [bigint, string])[] = [
  [1_000_000_000n, '$'],
  [100_000_000n, '@'],
  [10_000_000n, '*'],
  [1_000_000n, '#'],
  [100_000n, '!'],
  [10_000n, '+'],
];

export function traceFindMark(d: bigint): string {
  for (const [val, sym] of MARKS) if (d > val) return sym;
  return ' ';
}

// the FLAGS_FILL_* modes of print_graph_duration()
type Fill = 'none' | 'full' | 'start' | 'end';

interface CpuData {
  lastPid: number;
  depth: number;
  depthIrq: number;
  enterFuncs: bigint[];
}

// The iterator's side of one read of `trace` or `trace_pipe` (graph_trace_open()).
export class GraphPrinter {
  private readonly cpus = new Map<number, CpuData>();
  private readonly cpuWidth: number;

  constructor(private readonly syms: GraphSymbols, private readonly flags: number) {
    // max_bytes_for_cpu: the digits of nr_cpu_ids - 1
    this.cpuWidth = String(Math.max(0, syms.nrCpuIds - 1)).length;
  }

  private data(cpu: number): CpuData {
    let d = this.cpus.get(cpu);
    if (!d) this.cpus.set(cpu, (d = { lastPid: -1, depth: 0, depthIrq: -1, enterFuncs: new Array(FTRACE_RETFUNC_DEPTH).fill(0n) }));
    return d;
  }

  // print_graph_function_flags(): `next` peeks the next event of the same CPU, `take` consumes it (a
  // leaf's return); function and stack events, and types nobody registered, get the default line
  line(ev: TraceEvent, inNs: boolean, lost: number, next: () => TraceEvent | null, take: () => void): string {
    const ent = graphEnt(ev);
    if (ent) return this.entry(ev, ent, next, take);
    const ret = graphRet(ev);
    if (ret) return this.ret(ev, ret);
    const h = entryHeader(ev.data);
    if (h.type !== TRACE_FN && h.type !== TRACE_STACK) {
      const text = printEvent(this.syms, ev, h);
      if (!text.startsWith('Unknown type ')) return this.comment(ev, h.pid, text);
    }
    return printTraceLine(this.syms, ev, inNs, lost);
  }

  // print_graph_comment(): any other event as a comment one level below the current depth
  private comment(ev: TraceEvent, pid: number, text: string): string {
    const depth = this.data(ev.cpu).depth;
    let s = this.prologue(ev, pid, 0, 0n) + this.duration(0n, 'full');
    if (depth > 0) s += ' '.repeat((depth + 1) * TRACE_GRAPH_INDENT);
    return `${s}/* ${text.endsWith('\n') ? text.slice(0, -1) : text} */\n`;
  }

  private cpuCol(cpu: number): string {
    return ` ${String(cpu).padStart(this.cpuWidth)}) `;
  }

  // print_graph_proc(): comm cut to 7 characters and pid, centred in 14 columns
  private proc(pid: number): string {
    const comm = (pid === 0 ? '<idle>' : this.syms.commOf(pid)).slice(0, 7);
    const s = `${comm}-${pid}`;
    const spaces = Math.max(0, 14 - s.length);
    return ' '.repeat(spaces >> 1) + s + ' '.repeat(spaces - (spaces >> 1));
  }

  // print_graph_abs_time()
  private absTime(ts: number): string {
    const t = BigInt(ts);
    return `${String(t / 1_000_000_000n).padStart(5)}.${String((t % 1_000_000_000n) / 1000n).padStart(6, '0')} |  `;
  }

  // verif_pid(): the context-switch banner when the CPU's task changed since its last event
  private verifPid(pid: number, cpu: number): string {
    const d = this.data(cpu);
    if (d.lastPid === pid) return '';
    const prev = d.lastPid;
    d.lastPid = pid;
    if (prev === -1) return '';
    return (
      ' ------------------------------------------\n' +
      this.cpuCol(cpu) + this.proc(prev) + ' => ' + this.proc(pid) +
      '\n ------------------------------------------\n\n'
    );
  }

  // print_graph_duration()
  private duration(d: bigint, fill: Fill): string {
    if (!(this.flags & TRACE_GRAPH_PRINT_DURATION)) return '';
    if (fill === 'full') return '              |  ';
    if (fill === 'start') return '  ';
    if (fill === 'end') return ' |';
    const mark = this.flags & TRACE_GRAPH_PRINT_OVERHEAD ? `${traceFindMark(d)} ` : '  ';
    return `${mark}${graphDuration(d)}|  `;
  }

  // the abstime, cpu and proc columns of print_graph_prologue() and print_graph_irq()
  private columns(ev: TraceEvent, pid: number): string {
    let s = '';
    if (this.flags & TRACE_GRAPH_PRINT_ABS_TIME) s += this.absTime(ev.ts);
    if (this.flags & TRACE_GRAPH_PRINT_CPU) s += this.cpuCol(ev.cpu);
    if (this.flags & TRACE_GRAPH_PRINT_PROC) s += `${this.proc(pid)} | `;
    return s;
  }

  // print_graph_irq(): the arrow line around a function of the irq entry text
  private irq(ev: TraceEvent, addr: bigint, type: number, pid: number): string {
    if (!this.syms.isIrqEntry(addr)) return '';
    const arrow = type === TRACE_GRAPH_ENT ? '==========>' : '<==========';
    return this.columns(ev, pid) + this.duration(0n, 'start') + arrow + this.duration(0n, 'end') + '\n';
  }

  private prologue(ev: TraceEvent, pid: number, type: number, addr: bigint): string {
    let s = this.verifPid(pid, ev.cpu);
    if (type) s += this.irq(ev, addr, type, pid);
    return s + this.columns(ev, pid);
  }

  // check_irq_entry(): with funcgraph-irqs off, everything from an irq entry function down is hidden
  private irqEntryHidden(cpu: number, addr: bigint, depth: number): boolean {
    if (this.flags & TRACE_GRAPH_PRINT_IRQS) return false;
    const d = this.data(cpu);
    if (d.depthIrq >= 0) return true;
    if (!this.syms.isIrqEntry(addr)) return false;
    d.depthIrq = depth;
    return true;
  }

  // check_irq_return()
  private irqReturnHidden(cpu: number, depth: number): boolean {
    if (this.flags & TRACE_GRAPH_PRINT_IRQS) return false;
    const d = this.data(cpu);
    if (d.depthIrq === -1) return false;
    if (d.depthIrq >= depth) d.depthIrq = -1;
    return true;
  }

  // print_graph_entry()
  private entry(ev: TraceEvent, call: GraphEnt, next: () => TraceEvent | null, take: () => void): string {
    if (this.irqEntryHidden(ev.cpu, call.func, call.depth)) return '';
    let s = this.prologue(ev, call.pid, TRACE_GRAPH_ENT, call.func);
    // get_return_for_leaf()
    const n = next();
    const ret = n ? graphRet(n) : null;
    const d = this.data(ev.cpu);
    const indent = ' '.repeat(call.depth * TRACE_GRAPH_INDENT);
    if (ret && ret.pid === call.pid && ret.func === call.func) {
      take();
      // print_graph_entry_leaf()
      d.depth = call.depth - 1;
      if (call.depth < FTRACE_RETFUNC_DEPTH) d.enterFuncs[call.depth] = 0n;
      s += this.duration(ret.rettime - ret.calltime, 'none') + indent;
      s += this.flags & TRACE_GRAPH_PRINT_RETVAL ? this.retval(ret, true) : `${ipSym(this.syms, call.func)}();`;
      s += '\n';
      return s + this.irq(ev, ret.func, TRACE_GRAPH_RET, call.pid);
    }
    // print_graph_entry_nested()
    d.depth = call.depth;
    if (call.depth < FTRACE_RETFUNC_DEPTH) d.enterFuncs[call.depth] = call.func;
    return s + this.duration(0n, 'full') + indent + `${ipSym(this.syms, call.func)}() {\n`;
  }

  // print_graph_return()
  private ret(ev: TraceEvent, trace: GraphRet): string {
    if (this.irqReturnHidden(ev.cpu, trace.depth)) return '';
    const d = this.data(ev.cpu);
    d.depth = trace.depth - 1;
    let funcMatch = true;
    if (trace.depth < FTRACE_RETFUNC_DEPTH) {
      if (d.enterFuncs[trace.depth] !== trace.func) funcMatch = false;
      d.enterFuncs[trace.depth] = 0n;
    }
    let s = this.prologue(ev, trace.pid, 0, 0n);
    s += this.duration(trace.rettime - trace.calltime, 'none') + ' '.repeat(trace.depth * TRACE_GRAPH_INDENT);
    if (this.flags & TRACE_GRAPH_PRINT_RETVAL) s += this.retval(trace, false);
    else if (funcMatch && !(this.flags & TRACE_GRAPH_PRINT_TAIL)) s += '}';
    else s += `} /* ${ipSym(this.syms, trace.func)} */`;
    s += '\n';
    if (this.flags & TRACE_GRAPH_PRINT_OVERRUN) s += ` (Overruns: ${trace.overrun})\n`;
    return s + this.irq(ev, trace.func, TRACE_GRAPH_RET, trace.pid);
  }

  // print_graph_retval(): an error code (a negative int or long) in signed decimal unless
  // funcgraph-retval-hex, anything else in hex
  private retval(ret: GraphRet, leaf: boolean): string {
    const retval = ret.retval;
    const hex = (this.flags & TRACE_GRAPH_PRINT_RETVAL_HEX) !== 0;
    let errCode = 0n;
    if (retval && !hex) {
      errCode = retval & (1n << 31n) && retval >> 32n === 0n ? BigInt.asUintN(64, BigInt.asIntN(32, retval)) : retval;
      // IS_ERR_VALUE()
      if (errCode < ULONG + 1n - MAX_ERRNO) errCode = 0n;
    }
    const name = ipSym(this.syms, ret.func);
    // 6.12's "/* = %ld */" (later kernels, with funcgraph-retaddr, print " ret=%ld")
    const value = hex || errCode === 0n ? `0x${retval.toString(16)}` : `${BigInt.asIntN(64, errCode)}`;
    return leaf ? `${name}(); /* = ${value} */` : `} /* ${name} = ${value} */`;
  }
}

// The events of one read in the order the reader takes them, with each event's successor on its own
// CPU (what get_return_for_leaf() peeks at); a leaf's return is taken with its entry.
export function printGraphEvents(printer: GraphPrinter, events: readonly TraceEvent[], inNs: boolean, lostOf: (ev: TraceEvent) => number): string {
  const nextOnCpu = new Array<number>(events.length).fill(-1);
  const last = new Map<number, number>();
  for (let i = events.length - 1; i >= 0; i--) {
    const c = events[i].cpu;
    nextOnCpu[i] = last.get(c) ?? -1;
    last.set(c, i);
  }
  const taken = new Uint8Array(events.length);
  let out = '';
  for (let i = 0; i < events.length; i++) {
    if (taken[i]) continue;
    const j = nextOnCpu[i];
    out += printer.line(events[i], inNs, lostOf(events[i]), () => (j >= 0 ? events[j] : null), () => {
      if (j >= 0) taken[j] = 1;
    });
  }
  return out;
}
