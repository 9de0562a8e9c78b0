// Workloads: what a CPU is asked to do, built on the host and run by the Wasm interpreter
// (assembly/workload.ts) on the CPU's own thread.
import { abi } from '../layout.ts';
import type { TraceBuffer } from '../ring/trace-buffer.ts';
import { RingtraceError } from '../errors.ts';
import { ftraceHooks, taskKey, type FtraceWorkloadHooks } from '../ftrace/registry.ts';
import { eventHooks, type EventValues } from '../events/events.ts';

const { OP_END, OP_WRITE, OP_BENCH, OP_STRESS, OP_STRESS_COUNT, OP_CONTEXT, OP_NEST_BEGIN, OP_NEST_END, OP_DISCARD_END,
  OP_DELAY, OP_READ_PAGES, OP_WALK, OP_FLOOR_WRITE, OP_FLOOR_PIPE_WRITE, OP_FLOOR_PIPE_READ, CTX_NORMAL, CTX_SOFTIRQ, CTX_IRQ, CTX_NMI } = abi;

export type Context = 'normal' | 'softirq' | 'irq' | 'nmi';
const contexts: Record<Context, number> = { normal: CTX_NORMAL, softirq: CTX_SOFTIRQ, irq: CTX_IRQ, nmi: CTX_NMI };

export interface WorkloadResult {
  written: number; // events committed
  failed: number; // reserves refused (buffer full in producer/consumer mode, recording off, recursion)
  nested: number; // of the written, those from nested contexts
  bytes: number; // payload bytes written (or read, for readPages)
  pages: number; // pages read (readPages)
}

// What a workload is encoded against: the buffers it names (`undefined` is the machine's main buffer),
// its result block, and spare pages for its page readers.
export interface EncodeContext {
  resolve(b?: TraceBuffer): TraceBuffer;
  res: number;
  // the slot holding a spare page for ring_buffer_read_page() of tb's `cpu`, held for the run: the
  // caller's own slot (checked), or one allocated for the run
  readSlot?(tb: TraceBuffer, cpu: number, slot?: number, pool?: { addr: number; size: number }): number;
}

type Op = (resolve: (b?: TraceBuffer) => TraceBuffer, res: number, ctx: EncodeContext) => number[];

const U32_MAX = 0xffffffff;

function checkSize(size: number, what: string): void {
  if (!Number.isInteger(size) || size <= 0) throw new RingtraceError('EINVAL', `${what}: event size must be a positive integer, not ${size}`);
}

// Counts and other arguments travel as u32 words: anything else would wrap silently.
function checkU32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > U32_MAX) throw new RingtraceError('EINVAL', `${what} must be an integer from 0 to ${U32_MAX}, not ${value}`);
}

function checkOpts(opts: unknown, what: string): void {
  if (typeof opts !== 'object' || opts === null) throw new RingtraceError('EINVAL', `${what}: the options must be an object, not ${opts === null ? 'null' : typeof opts}`);
}

export class Workload {
  private readonly ops: Op[] = [];

  // `count` events of `size` bytes each, with self-checking payloads (ring_buffer_write)
  write(opts: { size: number; count: number; buffer?: TraceBuffer }): this {
    checkOpts(opts, 'write');
    checkSize(opts.size, 'write');
    checkU32(opts.count, 'write: count');
    this.ops.push((r, res) => {
      const tb = r(opts.buffer);
      checkFits(tb, opts.size);
      return [OP_WRITE, tb.addr, opts.size, opts.count, res];
    });
    return this;
  }

  // Random sizes from 12 to maxSize with self-checking payloads; nestPercent of the events are
  // interrupted by nested events from higher contexts. Runs until stopped, or `count` events.
  stress(opts: { seed: number; maxSize: number; nestPercent?: number; count?: number; buffer?: TraceBuffer }): this {
    checkOpts(opts, 'stress');
    checkSize(opts.maxSize, 'stress');
    if (!Number.isInteger(opts.seed)) throw new RingtraceError('EINVAL', `stress: seed must be an integer, not ${opts.seed}`);
    const nest = opts.nestPercent ?? 0;
    if (!Number.isInteger(nest) || nest < 0 || nest > 100) throw new RingtraceError('EINVAL', `stress: nestPercent must be 0..100, not ${nest}`);
    if (opts.count !== undefined) checkU32(opts.count, 'stress: count');
    this.ops.push((r, res) => {
      const tb = r(opts.buffer);
      checkFits(tb, opts.maxSize);
      const args = [tb.addr, opts.seed >>> 0, opts.maxSize, opts.nestPercent ?? 0, res];
      return opts.count === undefined ? [OP_STRESS, ...args] : [OP_STRESS_COUNT, ...args, opts.count];
    });
    return this;
  }

  // The benchmark loop: events of `size` bytes until stopped. `barriers` full barriers per event make
  // it slower on purpose (the benchmark gate's own test); normally 0.
  bench(opts: { size: number; buffer?: TraceBuffer; barriers?: number }): this {
    checkOpts(opts, 'bench');
    checkSize(opts.size, 'bench');
    const barriers = opts.barriers ?? 0;
    if (!Number.isInteger(barriers) || barriers < 0) throw new RingtraceError('EINVAL', `bench: bad barriers ${barriers}`);
    this.ops.push((r, res) => {
      const tb = r(opts.buffer);
      checkFits(tb, opts.size);
      return [OP_BENCH, tb.addr, opts.size, barriers, res];
    });
    return this;
  }

  // The benchmark's floor references (assembly/bench_floor.ts), on memory the caller allocated: the
  // same event bytes bump-written into one page, and the two ends of a minimal page handoff
  // (an area laid out as abi.FLOOR_PIPE_*).
  floorWrite(opts: { page: number; pageSize: number; size: number }): this {
    checkOpts(opts, 'floorWrite');
    checkSize(opts.size, 'floorWrite');
    this.ops.push((_, res) => [OP_FLOOR_WRITE, opts.page, opts.pageSize, opts.size, res]);
    return this;
  }

  floorPipeWrite(opts: { area: number; size: number }): this {
    checkOpts(opts, 'floorPipeWrite');
    checkSize(opts.size, 'floorPipeWrite');
    this.ops.push((_, res) => [OP_FLOOR_PIPE_WRITE, opts.area, opts.size, res]);
    return this;
  }

  floorPipeRead(opts: { area: number; spare: number }): this {
    checkOpts(opts, 'floorPipeRead');
    this.ops.push((_, res) => [OP_FLOOR_PIPE_READ, opts.area, opts.spare, res]);
    return this;
  }

  // Consume whole pages of `cpu`'s buffer with ring_buffer_read_page() until stopped, into a spare
  // page of its own, or the one whose address is stored at `slot` (ring_buffer_alloc_read_page()).
  // `pool`: a table of `size` more spare pages (u32 addresses at `addr`, memory the caller allocated)
  // that the pages read rotate through, so the spare going back into the ring is one read `size`
  // pages ago.
  readPages(opts: { cpu: number; slot?: number; buffer?: TraceBuffer; pool?: { addr: number; size: number } }): this {
    checkOpts(opts, 'readPages');
    if (opts.pool !== undefined) {
      checkOpts(opts.pool, 'readPages: pool');
      checkU32(opts.pool.addr, 'readPages: pool.addr');
      checkU32(opts.pool.size, 'readPages: pool.size');
    }
    this.ops.push((r, res, ctx) => {
      const tb = r(opts.buffer);
      if (!ctx.readSlot) throw new RingtraceError('EINVAL', 'readPages: this workload cannot read pages here');
      return [OP_READ_PAGES, tb.addr, opts.cpu, ctx.readSlot(tb, opts.cpu, opts.slot, opts.pool), res, opts.pool?.addr ?? 0, opts.pool?.size ?? 0];
    });
    return this;
  }

  // A reader on this CPU calling ring_buffer_entries() on every trace_buffer (walking each cpumask and
  // loading buffers[cpu]) `count` times, or until stopped; a full barrier every `barrierEvery` walks.
  // WorkloadResult.written counts the walks.
  walk(opts: { count?: number; barrierEvery?: number } = {}): this {
    const count = opts.count ?? 0;
    const barrierEvery = opts.barrierEvery ?? 64;
    if (!Number.isInteger(count) || count < 0) throw new RingtraceError('EINVAL', `walk: bad count ${count}`);
    if (!Number.isInteger(barrierEvery) || barrierEvery < 0) throw new RingtraceError('EINVAL', `walk: bad barrierEvery ${barrierEvery}`);
    this.ops.push((_, res) => [OP_WALK, count, barrierEvery, res]);
    return this;
  }

  // Following ops run in this interrupt context (interrupt_context_level()).
  context(ctx: Context): this {
    if (!(ctx in contexts)) throw new RingtraceError('EINVAL', `unknown context "${ctx}" (normal, softirq, irq, nmi)`);
    this.ops.push(() => [OP_CONTEXT, contexts[ctx]]);
    return this;
  }

  // Reserve an event and keep it open until end() or discard(); ops in between nest inside it.
  begin(opts: { size: number; buffer?: TraceBuffer }): this {
    checkOpts(opts, 'begin');
    checkSize(opts.size, 'begin');
    this.ops.push((r) => {
      const tb = r(opts.buffer);
      checkFits(tb, opts.size);
      return [OP_NEST_BEGIN, tb.addr, opts.size];
    });
    return this;
  }

  end(): this {
    this.ops.push(() => [OP_NEST_END]);
    return this;
  }

  // ring_buffer_discard_commit() of the innermost open event
  discard(): this {
    this.ops.push(() => [OP_DISCARD_END]);
    return this;
  }

  // Advance this CPU's virtual clock.
  delay(ns: number): this {
    if (!Number.isInteger(ns) || ns < 0 || ns > 0xffffffff) throw new RingtraceError('EINVAL', `delay: bad ns ${ns}`);
    this.ops.push(() => [OP_DELAY, ns]);
    return this;
  }

  // ---- ftrace: calls of traced functions (call sites resolved to their records once, at encoding)

  private ftStack: (string | bigint)[] = []; // functions the current task entered here and has not exited
  private readonly taskStacks = new Map<string, (string | bigint)[]>(); // the same for the tasks switched away from
  private task_ = ''; // the current task, once task() named one

  // Call `fn` (a name, or an ip) `count` times from `parent` (a name, giving a return address inside
  // it, or an exact parent_ip; default: the function entered last, else none). Each call takes
  // `durationNs` on this CPU's virtual clock (the function profiler's time).
  call(fn: string | bigint, opts: { parent?: string | bigint; count?: number; durationNs?: number } = {}): this {
    const count = opts.count ?? 1;
    const ns = opts.durationNs ?? 0;
    if (!Number.isInteger(count) || count < 0 || count > 0xffffffff) throw new RingtraceError('EINVAL', `call: bad count ${count}`);
    if (!Number.isInteger(ns) || ns < 0 || ns > 0xffffffff) throw new RingtraceError('EINVAL', `call: bad durationNs ${ns}`);
    const parent = opts.parent ?? this.ftStack[this.ftStack.length - 1];
    this.ops.push((r) => {
      const h = ftraceHooksOf(r);
      const site = h.resolveCall(fn);
      const pip = parent === undefined ? 0n : h.returnAddress(parent, site.ip);
      return [abi.OP_FT_CALL, site.rec, lo32(site.ip), hi32(site.ip), lo32(pip), hi32(pip), count | 0, ns | 0];
    });
    return this;
  }

  // Call `fn` and stay inside it: following calls are its children (parent_ip inside it, and a frame
  // for stack traces) until exit().
  enter(fn: string | bigint, opts: { parent?: string | bigint } = {}): this {
    const parent = opts.parent ?? this.ftStack[this.ftStack.length - 1];
    this.ftStack.push(fn);
    this.ops.push((r) => {
      const h = ftraceHooksOf(r);
      const site = h.resolveCall(fn);
      const pip = parent === undefined ? 0n : h.returnAddress(parent, site.ip);
      return [abi.OP_FT_ENTER, site.rec, lo32(site.ip), hi32(site.ip), lo32(pip), hi32(pip)];
    });
    return this;
  }

  // Return from the function entered last, optionally with a return value (funcgraph-retval shows it;
  // a negative number is an error code, stored as the 64-bit register would hold it).
  // After a task(), a task may also return from a function it entered before (in an earlier workload):
  // each task has its own shadow stack.
  exit(opts: { retval?: number | bigint } = {}): this {
    if (!this.ftStack.length && !this.task_) throw new RingtraceError('EINVAL', 'exit: no function was entered');
    this.ftStack.pop();
    if (opts.retval === undefined) {
      this.ops.push(() => [abi.OP_FT_EXIT]);
      return this;
    }
    if (typeof opts.retval === 'number' && !Number.isSafeInteger(opts.retval)) throw new RingtraceError('EINVAL', `exit: bad retval ${opts.retval}`);
    const rv = BigInt.asUintN(64, BigInt(opts.retval));
    this.ops.push(() => [abi.OP_FT_EXIT_RET, lo32(rv), hi32(rv)]);
    return this;
  }

  // A call graph: each node is called `count` times; a node with children is entered, its children
  // run, and it returns.
  callGraph(nodes: CallNode | readonly CallNode[]): this {
    for (const node of Array.isArray(nodes) ? (nodes as readonly CallNode[]) : [nodes as CallNode]) {
      const count = node.count ?? 1;
      if (!node.children?.length) {
        this.call(node.fn, { count, durationNs: node.durationNs });
        continue;
      }
      for (let i = 0; i < count; i++) {
        this.enter(node.fn);
        this.callGraph(node.children);
        if (node.durationNs) this.delay(node.durationNs);
        this.exit({ retval: node.retval });
      }
    }
    return this;
  }

  // Switch this CPU to another task (what the events' pid and the trace's comm show), with the task's
  // own shadow return stack: the calls it entered and has not returned from come back with it.
  task(pid: number, comm: string): this {
    if (!Number.isInteger(pid) || pid < 0) throw new RingtraceError('EINVAL', `task: bad pid ${pid}`);
    const key = taskKey(pid, comm);
    this.taskStacks.set(this.task_, this.ftStack);
    this.ftStack = this.taskStacks.get(key) ?? [];
    this.task_ = key;
    this.ops.push((r) => {
      const h = ftraceHooksOf(r);
      return [abi.OP_FT_TASK, pid, h.commId(pid, comm), h.taskRetStack(pid, comm)];
    });
    return this;
  }

  // Interrupts off, need-resched and the preempt count the following events record (on top of the
  // interrupt context's own flags).
  irqFlags(opts: { irqsOff?: boolean; needResched?: boolean; preemptCount?: number } = {}): this {
    const pc = opts.preemptCount ?? 0;
    if (!Number.isInteger(pc) || pc < 0 || pc > 255) throw new RingtraceError('EINVAL', `irqFlags: bad preemptCount ${pc}`);
    const flags = (opts.irqsOff ? abi.TRACE_FLAG_IRQS_OFF : 0) | (opts.needResched ? abi.TRACE_FLAG_NEED_RESCHED : 0);
    this.ops.push(() => [abi.OP_FT_IRQFLAGS, flags, pc]);
    return this;
  }

  // ---- trace events

  // A tracepoint site: the event "system:name" (or a unique "name") with its field values (numbers,
  // strings for char arrays and __data_loc strings, arrays of numbers). It is written into every
  // trace_array that has it enabled, after their pid lists, filters and triggers; disabled, it costs the
  // CPU a load and a test.
  event(name: string, values: EventValues = {}): this {
    this.ops.push((r) => {
      const h = eventHooks(r().machine);
      if (!h) throw new RingtraceError('ENODEV', 'this machine has no event layer');
      const { call, payload } = h.encodeEvent(name, values);
      return [abi.OP_EVENT, call, payload.length, ...payloadWords(payload)];
    });
    return this;
  }

  // A tracepoint site whose record the caller laid out (the bytes after struct trace_entry), as a
  // user_events_data write carries it
  eventRecord(name: string, payload: Uint8Array): this {
    this.ops.push((r) => {
      const h = eventHooks(r().machine);
      if (!h) throw new RingtraceError('ENODEV', 'this machine has no event layer');
      return [abi.OP_EVENT, h.eventCall(name), payload.length, ...payloadWords(payload)];
    });
    return this;
  }

  // One entry of `type` (struct trace_entry filled in by the CPU: its context flags and current pid)
  // with `payload` after the header, into one buffer (what trace_marker writes). WorkloadResult.written
  // counts the entries recorded, failed those the buffer refused.
  // `triggers` names the event ("ftrace:print" for tracing_mark_write) whose triggers of that buffer run on
  // the entry; `newlineAt`, the payload offset of a newline the writer added, is hidden from them (the
  // kernel adds it after the triggers ran).
  entry(opts: { type: number; payload: Uint8Array; buffer?: TraceBuffer; triggers?: string; newlineAt?: number }): this {
    this.ops.push((r, res) => {
      const tb = r(opts.buffer);
      checkFits(tb, abi.ENT_SIZE + opts.payload.length);
      let file = 0;
      if (opts.triggers !== undefined) {
        const h = eventHooks(tb.machine);
        if (!h) throw new RingtraceError('ENODEV', 'this machine has no event layer');
        file = h.eventFile(tb, opts.triggers);
      }
      const nl = opts.newlineAt ?? 0;
      if (!Number.isInteger(nl) || nl < 0 || nl >= opts.payload.length) throw new RingtraceError('EINVAL', `newlineAt ${nl} is not an offset in the payload`);
      return [abi.OP_TRACE_WRITE, tb.addr, opts.type, opts.payload.length, res, file, nl, ...payloadWords(opts.payload)];
    });
    return this;
  }

  // An event begun must end in the same workload: an open one would keep its CPU's commit from moving
  // and hide every later event of that CPU from readers.
  encode(ctx: EncodeContext): Int32Array {
    const words: number[] = [];
    let open = 0;
    for (const op of this.ops) {
      const w = op(ctx.resolve, ctx.res, ctx);
      if (w[0] === OP_NEST_BEGIN) open++;
      else if (w[0] === OP_NEST_END || w[0] === OP_DISCARD_END) {
        if (--open < 0) throw new RingtraceError('EINVAL', `${w[0] === OP_NEST_END ? 'end' : 'discard'}() without an open begin()`);
      }
      words.push(...w);
    }
    if (open > 0) throw new RingtraceError('EINVAL', `${open} event(s) begun and never ended: every begin() needs an end() or discard()`);
    words.push(OP_END);
    return Int32Array.from(words);
  }
}

function checkFits(tb: TraceBuffer, size: number): void {
  if (size > tb.maxDataSize) {
    throw new RingtraceError('EINVAL', `event size ${size} is larger than a ${tb.subbufSize}-byte sub-buffer allows (${tb.maxDataSize})`);
  }
}

// ---- ftrace call ops

export interface CallNode {
  fn: string | bigint;
  count?: number;
  durationNs?: number; // a leaf's time per call; a parent's own time after its children
  retval?: number | bigint; // what a node with children returns
  children?: readonly CallNode[];
}

function ftraceHooksOf(resolve: (b?: TraceBuffer) => TraceBuffer): FtraceWorkloadHooks {
  const h = ftraceHooks(resolve().machine);
  if (!h) throw new RingtraceError('ENODEV', 'this machine has no ftrace');
  return h;
}

// bytes as little-endian i32 program words, the last one zero-padded
function payloadWords(bytes: Uint8Array): number[] {
  const padded = new Uint8Array((bytes.length + 3) & ~3);
  padded.set(bytes);
  return Array.from(new Int32Array(padded.buffer));
}

function lo32(v: bigint): number {
  return Number(v & 0xffffffffn) | 0;
}

function hi32(v: bigint): number {
  return Number((v >> 32n) & 0xffffffffn) | 0;
}
