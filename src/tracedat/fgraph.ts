// trace-cmd report's function_graph output (lib/trace-cmd/trace-ftrace.c: fgraph_ent_handler,
// fgraph_ret_handler): a funcgraph_entry whose next record (in the merged order) is its own return on
// the same CPU and task is a leaf, printed with its duration as "func();" and the return is consumed;
// any other entry opens "func() {", and each return prints its duration and "}". Durations come from
// the return's calltime/rettime, with the overhead mark (+ ! # $) of print_graph_overhead. Return
// values are not printed: trace-cmd 3.1 (Debian 12's) does not, though the exit event carries them.
import { fieldValue, findField, type EventFormat } from './events.ts';
import type { TraceRecord } from './kbuffer.ts';
import type { TraceSession } from './report.ts';

// TRACE_GRAPH_INDENT
const INDENT = 2;

function num(ev: EventFormat, r: TraceRecord, name: string): bigint | null {
  const f = findField(ev, name);
  const v = f ? fieldValue(f, r.data) : null;
  return typeof v === 'bigint' ? BigInt.asUintN(64, v) : null;
}

// print_graph_overhead()
function overhead(ns: bigint): string {
  if (ns > 1_000_000_000n) return '$ ';
  if (ns > 1_000_000n) return '# ';
  if (ns > 100_000n) return '! ';
  if (ns > 10_000n) return '+ ';
  return '  ';
}

// print_graph_duration(): microseconds, ".nnn" while they have fewer than 7 digits, " us ", padding to
// 7 columns, "|  ". (trace-cmd's snprintf bound is taken from the whole line's length, so the
// nanoseconds are always three digits.)
function duration(ns: bigint): string {
  const usecs = String(ns / 1000n);
  let s = usecs;
  if (usecs.length < 7) s += `.${String(ns % 1000n).padStart(3, '0')}`;
  return s + ' us ' + ' '.repeat(Math.max(0, 7 - s.length)) + '|  ';
}

export class GraphPrinter {
  constructor(private readonly s: TraceSession) {}

  private func(addr: bigint | null): string | null {
    return addr === null ? null : this.s.syms.functionAt(addr)?.name ?? null;
  }

  isEntry(ev: EventFormat | undefined): boolean {
    return ev?.system === 'ftrace' && (ev.name === 'funcgraph_entry' || ev.name === 'fgraph_retaddr_entry');
  }

  isExit(ev: EventFormat | undefined): boolean {
    return ev?.system === 'ftrace' && ev.name === 'funcgraph_exit';
  }

  // get_return_for_leaf(): the next record is this entry's return
  isLeaf(ev: EventFormat, r: TraceRecord, next: TraceRecord | undefined): boolean {
    if (!next || next.cpu !== r.cpu) return false;
    const nev = this.s.eventOf(next);
    return this.isExit(nev) && this.s.pidOf(next) === this.s.pidOf(r) && num(nev!, next, 'func') === num(ev, r, 'func');
  }

  entry(ev: EventFormat, r: TraceRecord, ret: TraceRecord | undefined): string {
    const depth = Number(num(ev, r, 'depth') ?? 0n);
    const addr = num(ev, r, 'func');
    const name = this.func(addr);
    const retaddr = this.func(num(ev, r, 'retaddr'));
    const indent = ' '.repeat(Math.max(0, depth * INDENT));
    if (ret) {
      const rev = this.s.eventOf(ret)!;
      const ns = (num(rev, ret, 'rettime') ?? 0n) - (num(rev, ret, 'calltime') ?? 0n);
      let out = overhead(ns) + duration(ns) + indent + (name ? `${name}();` : `${(addr ?? 0n).toString(16)}();`);
      if (retaddr) out += ` /* <-${retaddr} */`;
      return out;
    }
    let out = '  ' + '           |  ' + indent;
    if (name) out += retaddr ? `${name}() /* <-${retaddr} */ {` : `${name}() {`;
    else out += retaddr ? `${(addr ?? 0n).toString(16)}() /* <-${retaddr} */ {` : ') {';
    return out;
  }

  exit(ev: EventFormat, r: TraceRecord): string {
    const ns = (num(ev, r, 'rettime') ?? 0n) - (num(ev, r, 'calltime') ?? 0n);
    const depth = Number(num(ev, r, 'depth') ?? 0n);
    return overhead(ns) + duration(ns) + ' '.repeat(Math.max(0, depth * INDENT)) + '}';
  }
}
