// Workloads: what a CPU is asked to do, built on the host and run by the Wasm interpreter
// (assembly/workload.ts) on the CPU's own thread.
import { abi } from '../layout.ts';
import type { TraceBuffer } from '../ring/trace-buffer.ts';
import { RingtraceError } from '../errors.ts';

const { OP_END, OP_WRITE, OP_BENCH, OP_STRESS, OP_STRESS_COUNT, OP_CONTEXT, OP_NEST_BEGIN, OP_NEST_END, OP_DISCARD_END,
  OP_DELAY, OP_READ_PAGES, OP_WALK, CTX_NORMAL, CTX_SOFTIRQ, CTX_IRQ, CTX_NMI } = abi;

export type Context = 'normal' | 'softirq' | 'irq' | 'nmi';
const contexts: Record<Context, number> = { normal: CTX_NORMAL, softirq: CTX_SOFTIRQ, irq: CTX_IRQ, nmi: CTX_NMI };

export interface WorkloadResult {
  written: number; // events committed
  failed: number; // reserves refused (buffer full in producer/consumer mode, recording off, recursion)
  nested: number; // of the written, those from nested contexts
  bytes: number; // payload bytes written (or read, for readPages)
  pages: number; // pages read (readPages)
}

// An op is encoded against the buffer it names; `undefined` means the machine's main buffer.
type Op = (resolve: (b?: TraceBuffer) => TraceBuffer, res: number) => number[];

function checkSize(size: number, what: string): void {
  if (!Number.isInteger(size) || size <= 0) throw new RingtraceError('EINVAL', `${what}: event size must be a positive integer, not ${size}`);
}

export class Workload {
  private readonly ops: Op[] = [];

  // `count` events of `size` bytes each, with self-checking payloads (ring_buffer_write)
  write(opts: { size: number; count: number; buffer?: TraceBuffer }): this {
    checkSize(opts.size, 'write');
    if (!Number.isInteger(opts.count) || opts.count < 0) throw new RingtraceError('EINVAL', `write: bad count ${opts.count}`);
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
    checkSize(opts.maxSize, 'stress');
    this.ops.push((r, res) => {
      const tb = r(opts.buffer);
      checkFits(tb, opts.maxSize);
      const args = [tb.addr, opts.seed >>> 0, opts.maxSize, opts.nestPercent ?? 0, res];
      return opts.count === undefined ? [OP_STRESS, ...args] : [OP_STRESS_COUNT, ...args, opts.count];
    });
    return this;
  }

  // The benchmark loop: events of `size` bytes until stopped.
  bench(opts: { size: number; buffer?: TraceBuffer }): this {
    checkSize(opts.size, 'bench');
    this.ops.push((r, res) => {
      const tb = r(opts.buffer);
      checkFits(tb, opts.size);
      return [OP_BENCH, tb.addr, opts.size, res];
    });
    return this;
  }

  // Consume whole pages of `cpu`'s buffer with ring_buffer_read_page() until stopped.
  readPages(opts: { cpu: number; slot: number; buffer?: TraceBuffer }): this {
    this.ops.push((r, res) => [OP_READ_PAGES, r(opts.buffer).addr, opts.cpu, opts.slot, res]);
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

  encode(resolve: (b?: TraceBuffer) => TraceBuffer, res: number): Int32Array {
    const words = this.ops.flatMap((op) => op(resolve, res));
    words.push(OP_END);
    return Int32Array.from(words);
  }
}

function checkFits(tb: TraceBuffer, size: number): void {
  if (size > tb.maxDataSize) {
    throw new RingtraceError('EINVAL', `event size ${size} is larger than a ${tb.subbufSize}-byte sub-buffer allows (${tb.maxDataSize})`);
  }
}
