// The function_graph tracer's host side (kernel/trace/fgraph.c, kernel/trace/trace_functions_graph.c):
// the fgraph_array of graph users (every trace_array whose current_tracer is function_graph), the global
// set_graph_function / set_graph_notrace hashes, max_graph_depth, and the tracer's options (tracer_flags,
// shared by every instance as in the kernel). The entry and return hooks run in Wasm (assembly/ftrace.ts:
// graphEntry, graphReturn); the output is src/trace/graph-output.ts.
//
// Event layout (for readers of the raw pages, e.g. a Perfetto converter): TRACE_GRAPH_ENT (11) is
// struct ftrace_graph_ent_entry { trace_entry; u64 func @8; u32 depth @16 } (20 bytes), TRACE_GRAPH_RET
// (10) is struct ftrace_graph_ret_entry { trace_entry; u64 func @8; u64 retval @16; u32 depth @24;
// u32 overrun @28; u64 calltime @32; u64 rettime @40 } (48 bytes); calltime and rettime are on the
// top-level buffer's trace clock (the virtual clock: the CPU's virtual time). A return without its entry
// on the same CPU just before it is a function with children; depth nests them.
import { RingtraceError } from '../errors.ts';
import { abi } from '../layout.ts';
import { FtraceHash, type Ftrace, type FtraceOps } from './ftrace.ts';

const {
  FT_GRAPH_HASH, FT_GRAPH_NOTRACE, FT_GRAPH_MAX_DEPTH, FT_GRAPH_FLAGS, FT_GRAPH_ARRAY, FGRAPH_ARRAY_SIZE,
  OPS_GRAPH_IDX, OPS_CALLBACK, FT_CB_GRAPH, FT_PERCPU, FTC_SIZE, FTC_GRAPH_VARS, FGRAPH_FL_SKIP_IRQS, FGRAPH_FL_NO_GRAPH_TIME, FGRAPH_FL_NO_SLEEP_TIME,
} = abi;

// tracer_flags bits (kernel/trace/trace.h)
export const TRACE_GRAPH_PRINT_OVERRUN = 0x1;
export const TRACE_GRAPH_PRINT_CPU = 0x2;
export const TRACE_GRAPH_PRINT_OVERHEAD = 0x4;
export const TRACE_GRAPH_PRINT_PROC = 0x8;
export const TRACE_GRAPH_PRINT_DURATION = 0x10;
export const TRACE_GRAPH_PRINT_ABS_TIME = 0x20;
export const TRACE_GRAPH_PRINT_IRQS = 0x80;
export const TRACE_GRAPH_PRINT_TAIL = 0x100;
export const TRACE_GRAPH_SLEEP_TIME = 0x200;
export const TRACE_GRAPH_GRAPH_TIME = 0x400;
export const TRACE_GRAPH_PRINT_RETVAL = 0x800;
export const TRACE_GRAPH_PRINT_RETVAL_HEX = 0x1000;

// trace_opts[] in the order the kernel declares them (CONFIG_FUNCTION_GRAPH_RETVAL and
// CONFIG_FUNCTION_PROFILER built in; no RETADDR, no TRACE_ARGS)
export const GRAPH_OPTIONS: readonly (readonly [string, number])[] = [
  ['funcgraph-overrun', TRACE_GRAPH_PRINT_OVERRUN],
  ['funcgraph-cpu', TRACE_GRAPH_PRINT_CPU],
  ['funcgraph-overhead', TRACE_GRAPH_PRINT_OVERHEAD],
  ['funcgraph-proc', TRACE_GRAPH_PRINT_PROC],
  ['funcgraph-duration', TRACE_GRAPH_PRINT_DURATION],
  ['funcgraph-abstime', TRACE_GRAPH_PRINT_ABS_TIME],
  ['funcgraph-irqs', TRACE_GRAPH_PRINT_IRQS],
  ['funcgraph-tail', TRACE_GRAPH_PRINT_TAIL],
  ['funcgraph-retval', TRACE_GRAPH_PRINT_RETVAL],
  ['funcgraph-retval-hex', TRACE_GRAPH_PRINT_RETVAL_HEX],
  ['sleep-time', TRACE_GRAPH_SLEEP_TIME],
  ['graph-time', TRACE_GRAPH_GRAPH_TIME],
];

// tracer_flags.val at boot
const DEFAULT_FLAGS =
  TRACE_GRAPH_PRINT_CPU | TRACE_GRAPH_PRINT_OVERHEAD | TRACE_GRAPH_PRINT_DURATION | TRACE_GRAPH_PRINT_IRQS |
  TRACE_GRAPH_SLEEP_TIME | TRACE_GRAPH_GRAPH_TIME;

export type GraphFilter = 'function' | 'notrace';

export class FunctionGraph {
  private val = DEFAULT_FLAGS;
  private maxDepth = 0;
  private readonly hashes: Record<GraphFilter, FtraceHash> = { function: new FtraceHash(), notrace: new FtraceHash() };
  private readonly slots: (FtraceOps | null)[] = new Array(FGRAPH_ARRAY_SIZE).fill(null);
  private readonly array: number;

  constructor(private readonly ft: Ftrace) {
    const m = ft.machine;
    this.array = m.arena.alloc(FGRAPH_ARRAY_SIZE * 4);
    m.mem.store32(ft.area + FT_GRAPH_ARRAY, this.array);
    this.writeFlags();
  }

  // ---- the tracer options (func_graph_set_flag())

  get flags(): number {
    return this.val;
  }

  option(name: string): boolean {
    return (this.val & optionBit(name)) !== 0;
  }

  setOption(name: string, on: boolean): void {
    const bit = optionBit(name);
    this.val = on ? this.val | bit : this.val & ~bit;
    this.writeFlags();
  }

  // ftrace_graph_skip_irqs, fgraph_graph_time, fgraph_sleep_time: what the recording side reads
  private writeFlags(): void {
    let f = 0;
    if (!(this.val & TRACE_GRAPH_PRINT_IRQS)) f |= FGRAPH_FL_SKIP_IRQS;
    if (!(this.val & TRACE_GRAPH_GRAPH_TIME)) f |= FGRAPH_FL_NO_GRAPH_TIME;
    if (!(this.val & TRACE_GRAPH_SLEEP_TIME)) f |= FGRAPH_FL_NO_SLEEP_TIME;
    this.ft.machine.mem.store32(this.ft.area + FT_GRAPH_FLAGS, f);
  }

  // ---- max_graph_depth (graph_depth_write / graph_depth_read)

  get maxGraphDepth(): number {
    return this.maxDepth;
  }

  setMaxGraphDepth(depth: number): void {
    if (!Number.isInteger(depth) || depth < 0 || depth > 0xffffffff) throw new RingtraceError('EINVAL', `bad max_graph_depth ${depth}`);
    this.maxDepth = depth;
    this.ft.machine.mem.store32(this.ft.area + FT_GRAPH_MAX_DEPTH, depth);
  }

  // ---- set_graph_function / set_graph_notrace (ftrace_graph_hash, ftrace_graph_notrace_hash)

  graphFunctions(which: GraphFilter): bigint[] {
    return [...this.hashes[which].ips].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  // ftrace_graph_release(): the new hash is published with one pointer swap and the old one freed
  // after a grace period
  setGraphFunctions(which: GraphFilter, ips: Iterable<bigint>): Promise<void> {
    return this.ft.locked(async () => {
      this.ft.checkEnabled();
      const next = this.ft.publishHash(new FtraceHash(new Set(ips)));
      const old = this.hashes[which];
      this.hashes[which] = next;
      this.ft.machine.mem.store32(this.ft.area + (which === 'function' ? FT_GRAPH_HASH : FT_GRAPH_NOTRACE), next.addr);
      if (old.addr !== 0 && old !== next) {
        await this.ft.machine.synchronizeRcu();
        this.ft.freeHash(old);
      }
    });
  }

  // ---- the graph users (register_ftrace_graph / unregister_ftrace_graph)

  // register_ftrace_graph(): a free slot of fgraph_array for the ops (which turns into ftrace_graph_func)
  attach(ops: FtraceOps): void {
    const idx = this.slots.indexOf(null);
    if (idx < 0) throw new RingtraceError('ENOSPC', `more than ${FGRAPH_ARRAY_SIZE} function graph users`);
    const m = this.ft.machine;
    const mem = m.mem;
    // init_task_vars(): no CPU or task keeps a previous user's set_graph_function or notrace state for the slot
    const percpu = mem.loadU32(this.ft.area + FT_PERCPU);
    for (let cpu = 0; cpu < m.nrCpuIds; cpu++) mem.store32(percpu + cpu * FTC_SIZE + FTC_GRAPH_VARS + idx * 4, 0);
    for (const area of this.ft.retStackAreas()) mem.store32(area + FTC_GRAPH_VARS + idx * 4, 0);
    this.slots[idx] = ops;
    ops.callback = FT_CB_GRAPH;
    mem.store32(ops.addr + OPS_CALLBACK, FT_CB_GRAPH);
    mem.store32(ops.addr + OPS_GRAPH_IDX, idx);
    Atomics.store(mem.i32, (this.array + idx * 4) >> 2, ops.addr);
  }

  // unregister_ftrace_graph(): the slot goes back to fgraph_stub (after the ops was unregistered and a
  // grace period passed, so no CPU is inside its entry); returns still on a stack find no user there
  detach(ops: FtraceOps, callback: number): void {
    const idx = this.slots.indexOf(ops);
    if (idx < 0) return;
    const mem = this.ft.machine.mem;
    this.slots[idx] = null;
    Atomics.store(mem.i32, (this.array + idx * 4) >> 2, 0);
    ops.callback = callback;
    mem.store32(ops.addr + OPS_CALLBACK, callback);
  }

  get users(): number {
    return this.slots.filter((s) => s !== null).length;
  }
}

function optionBit(name: string): number {
  const o = GRAPH_OPTIONS.find(([n]) => n === name);
  if (!o) throw new RingtraceError('EINVAL', `no function_graph option "${name}"`);
  return o[1];
}
