// struct trace_buffer on the host: allocation of per-CPU buffers (rb_allocate_cpu_buffer), resize,
// reset, record disable/enable, counters, and the readers (consume, iterate, read_page, merged).
import { abi } from '../layout.ts';
import type { Machine } from '../machine/machine.ts';
import { RingtraceError } from '../errors.ts';

const {
  TB_FLAGS, TB_RECORD_DISABLED, TB_SUBBUF_ORDER, TB_SUBBUF_SIZE, TB_CLOCK, TB_TIME_STAMP_ABS, TB_ID,
  TB_MAX_DATA_SIZE, TB_CPUMASK, TB_BUFFERS, TB_SIZE, RB_FL_OVERWRITE, RB_BUFFER_OFF, CPB_SIZE, CPB_NR_PAGES,
  CPB_RECORD_DISABLED, CPB_ENTRIES, CPB_OVERRUN, CPB_COMMIT_OVERRUN, CPB_DROPPED_EVENTS, CPB_READ,
  CPB_ENTRIES_BYTES, CPB_READ_BYTES, CPB_PAGES_TOUCHED, CPB_PAGES_LOST, CPB_PAGES_READ, CPB_RECURSION,
  CPB_NR_LOOPS_WARN, CPB_BUFFER, BP_SIZE, BP_NEXT, BP_PREV, BP_PAGE, BP_ID, BUF_PAGE_HDR_SIZE, SYS_PAGE_SIZE,
  SUBBUF_ORDER_MAX, RD_TS, RD_LOST, RD_LENGTH, RD_DATA, IT_SIZE, CLOCK_LOCAL, CLOCK_GLOBAL, CLOCK_COUNTER,
  CLOCK_VIRTUAL, BDP_COMMIT, TB_VIEWS,
} = abi;

export type ClockName = 'local' | 'global' | 'counter' | 'uptime' | 'perf' | 'mono' | 'mono_raw' | 'boot' | 'tai' | 'x86-tsc' | 'virtual';
// trace_clocks[], in the order tracefs lists them
export const CLOCKS: { name: ClockName; id: number; inNs: boolean }[] = [
  { name: 'local', id: CLOCK_LOCAL, inNs: true },
  { name: 'global', id: CLOCK_GLOBAL, inNs: true },
  { name: 'counter', id: CLOCK_COUNTER, inNs: false },
  { name: 'uptime', id: abi.CLOCK_UPTIME, inNs: false },
  { name: 'perf', id: abi.CLOCK_PERF, inNs: true },
  { name: 'mono', id: abi.CLOCK_MONO, inNs: true },
  { name: 'mono_raw', id: abi.CLOCK_MONO_RAW, inNs: true },
  { name: 'boot', id: abi.CLOCK_BOOT, inNs: true },
  { name: 'tai', id: abi.CLOCK_TAI, inNs: true },
  { name: 'x86-tsc', id: abi.CLOCK_X86_TSC, inNs: false },
  { name: 'virtual', id: CLOCK_VIRTUAL, inNs: true },
];

export function clockByName(name: string): (typeof CLOCKS)[number] {
  const clock = CLOCKS.find((c) => c.name === name);
  if (!clock) throw new RingtraceError('EINVAL', `unknown trace clock "${name}" (known: ${CLOCKS.map((c) => c.name).join(', ')})`);
  return clock;
}

export interface TraceEvent {
  cpu: number;
  ts: number; // in the buffer's clock units (ns, or counts for `counter`)
  lost: number; // events lost before this one (consuming reads), or 1 if the iterator was overrun
  data: Uint8Array; // the payload, as ring_buffer_event_length() reports it (rounded up to 4 bytes)
}

// per_cpu/cpuN/stats, as tracing_stats_read() fills it
export interface RingBufferStats {
  entries: number;
  overrun: number;
  commitOverrun: number;
  bytes: number;
  oldestEventTs: number;
  nowTs: number;
  droppedEvents: number;
  readEvents: number;
  pagesTouched: number;
  pagesLost: number;
  pagesRead: number;
  recursion: number;
  warnings: number;
}

export interface TraceBufferOptions {
  sizeBytes: number; // per CPU, like buffer_size_kb << 10
  subbufSize: number; // bytes per sub-buffer including its 16-byte header: 4096 << order
  overwrite: boolean;
  clock: ClockName;
}

interface CpuPages {
  cb: number;
  pages: Set<number>; // buffer_pages in the ring, plus the reader page
  readSlot?: number; // ring_buffer_alloc_read_page(): the slot holding the spare data page
  resizeDisabled: number;
}

let nextBufferId = 1;

export function subbufOrder(bytes: number): number {
  const order = Math.log2(bytes / SYS_PAGE_SIZE);
  if (!Number.isInteger(order) || order < 0 || order > SUBBUF_ORDER_MAX) {
    throw new RingtraceError(
      'EINVAL',
      `sub-buffer size ${bytes} is not a power of two from ${SYS_PAGE_SIZE} to ${SYS_PAGE_SIZE << SUBBUF_ORDER_MAX} bytes`,
    );
  }
  return order;
}

export class TraceBuffer {
  readonly addr: number;
  readonly id = nextBufferId++;
  private pageSize: number;
  private sizeRequest: number;
  private readonly cpus = new Map<number, CpuPages>();
  private scratch: number;
  private scratchSize: number;
  private destroyed = false;

  constructor(readonly machine: Machine, readonly name: string, opts: TraceBufferOptions) {
    const mem = machine.mem;
    const order = subbufOrder(opts.subbufSize);
    checkSize(opts.sizeBytes);
    this.pageSize = opts.subbufSize;
    this.sizeRequest = opts.sizeBytes;
    this.addr = machine.arena.alloc(TB_SIZE);
    mem.store32(this.addr + TB_FLAGS, opts.overwrite ? RB_FL_OVERWRITE : 0);
    mem.store32(this.addr + TB_SUBBUF_ORDER, order);
    mem.store32(this.addr + TB_SUBBUF_SIZE, this.dataSize);
    mem.store32(this.addr + TB_MAX_DATA_SIZE, this.maxDataSize);
    mem.store32(this.addr + TB_CLOCK, clockByName(opts.clock).id);
    mem.store32(this.addr + TB_ID, this.id);
    this.scratchSize = RD_DATA + this.dataSize;
    this.scratch = machine.arena.alloc(this.scratchSize);
    if (machine.memoryModel === 'weak') {
      this.viewsSize = machine.nrCpuIds * machine.nrCpuIds * 4;
      mem.store32(this.addr + TB_VIEWS, machine.arena.alloc(this.viewsSize));
    }
    machine.registerTraceBuffer(this.addr);
  }

  private viewsSize = 0;

  // buffer->subbuf_size: data bytes per sub-buffer
  get dataSize(): number {
    return this.pageSize - BUF_PAGE_HDR_SIZE;
  }

  // buffer->max_data_size: the largest payload ring_buffer_lock_reserve() accepts
  get maxDataSize(): number {
    return this.dataSize - 8;
  }

  get subbufSize(): number {
    return this.pageSize;
  }

  // nr_pages for a size, as ring_buffer_resize() computes it
  nrPagesFor(sizeBytes: number): number {
    return Math.max(2, Math.ceil(sizeBytes / this.dataSize));
  }

  hasCpu(cpu: number): boolean {
    return this.cpus.has(cpu);
  }

  cpuBuffer(cpu: number): number {
    const c = this.cpus.get(cpu);
    if (!c) throw new RingtraceError('ENODEV', `trace buffer "${this.name}" has no buffer for CPU ${cpu}`);
    return c.cb;
  }

  // CPUs that have a per-CPU buffer (for_each_buffer_cpu)
  bufferCpus(): number[] {
    return [...this.cpus.keys()].sort((a, b) => a - b);
  }

  private allocBufferPage(): number {
    const arena = this.machine.arena;
    const bp = arena.alloc(BP_SIZE);
    const page = arena.alloc(this.pageSize, 64);
    const mem = this.machine.mem;
    mem.store32(bp + BP_PAGE, page);
    mem.store32(bp + BP_ID, bp);
    this.machine.exports.rbInitPage(page);
    return bp;
  }

  private freeBufferPage(bp: number): void {
    const mem = this.machine.mem;
    this.machine.arena.release(mem.load32(bp + BP_PAGE), this.pageSize);
    this.machine.arena.release(bp, BP_SIZE);
  }

  // Allocate nr buffer pages linked in a chain (not closed into a ring).
  private allocChain(nr: number): number[] {
    const mem = this.machine.mem;
    const pages: number[] = [];
    for (let i = 0; i < nr; i++) pages.push(this.allocBufferPage());
    for (let i = 0; i < nr; i++) {
      mem.store32(pages[i] + BP_NEXT, pages[(i + 1) % nr]);
      mem.store32(pages[i] + BP_PREV, pages[(i + nr - 1) % nr]);
    }
    return pages;
  }

  // rb_allocate_cpu_buffer(), sized as trace_rb_cpu_prepare() does: like the other CPUs' buffers if
  // they all have the same size, else the minimum of 2 pages. The cpumask bit is the caller's to set.
  allocateCpuBuffer(cpu: number): number {
    if (this.cpus.has(cpu)) return this.cpus.get(cpu)!.cb;
    const mem = this.machine.mem;
    const sizes = new Set([...this.cpus.values()].map((c) => mem.load32(c.cb + CPB_NR_PAGES)));
    const nr = sizes.size === 0 ? this.nrPagesFor(this.sizeRequest) : sizes.size === 1 ? [...sizes][0] : 2;
    const cb = this.machine.arena.alloc(CPB_SIZE);
    const pages = this.allocChain(nr);
    const reader = this.allocBufferPage();
    mem.store32(cb + CPB_NR_PAGES, nr);
    this.machine.exports.rbInitCpuBuffer(cb, this.addr, cpu, pages[0], reader);
    this.cpus.set(cpu, { cb, pages: new Set([...pages, reader]), resizeDisabled: 0 });
    return cb;
  }

  // buffer->buffers[cpu] = cpu_buffer
  publishCpuBuffer(cpu: number): void {
    this.machine.mem.store32(this.addr + TB_BUFFERS + cpu * 4, this.cpuBuffer(cpu));
  }

  // cpumask_set_cpu(cpu, buffer->cpumask)
  setCpumask(cpu: number): void {
    Atomics.or(this.machine.mem.i32, (this.addr + TB_CPUMASK + ((cpu >> 5) << 2)) >> 2, 1 << (cpu & 31));
  }

  cpumaskTest(cpu: number): boolean {
    return (this.machine.mem.loadU32(this.addr + TB_CPUMASK + ((cpu >> 5) << 2)) & (1 << (cpu & 31))) !== 0;
  }

  // ---- recording switches

  // ring_buffer_record_off() / _on(): what tracing_on writes
  recordOff(): void {
    this.machine.mem.or32(this.addr + TB_RECORD_DISABLED, RB_BUFFER_OFF);
  }
  recordOn(): void {
    Atomics.and(this.machine.mem.i32, (this.addr + TB_RECORD_DISABLED) >> 2, ~RB_BUFFER_OFF);
  }
  // ring_buffer_record_is_set_on()
  get recordIsSetOn(): boolean {
    return (this.machine.mem.load32(this.addr + TB_RECORD_DISABLED) & RB_BUFFER_OFF) === 0;
  }
  // ring_buffer_record_is_on()
  get recordIsOn(): boolean {
    return this.machine.mem.load32(this.addr + TB_RECORD_DISABLED) === 0;
  }
  // ring_buffer_record_disable() / _enable(): nestable
  recordDisable(): void {
    this.machine.mem.add32(this.addr + TB_RECORD_DISABLED, 1);
  }
  recordEnable(): void {
    this.machine.mem.add32(this.addr + TB_RECORD_DISABLED, -1);
  }
  // ring_buffer_record_disable_cpu() / _enable_cpu()
  recordDisableCpu(cpu: number): void {
    this.machine.mem.add32(this.cpuBuffer(cpu) + CPB_RECORD_DISABLED, 1);
  }
  recordEnableCpu(cpu: number): void {
    this.machine.mem.add32(this.cpuBuffer(cpu) + CPB_RECORD_DISABLED, -1);
  }

  get overwrite(): boolean {
    return (this.machine.mem.load32(this.addr + TB_FLAGS) & RB_FL_OVERWRITE) !== 0;
  }
  // ring_buffer_change_overwrite()
  setOverwrite(on: boolean): void {
    const mem = this.machine.mem;
    if (on) mem.or32(this.addr + TB_FLAGS, RB_FL_OVERWRITE);
    else Atomics.and(mem.i32, (this.addr + TB_FLAGS) >> 2, ~RB_FL_OVERWRITE);
  }

  get clock(): (typeof CLOCKS)[number] {
    const id = this.machine.mem.load32(this.addr + TB_CLOCK);
    return CLOCKS.find((c) => c.id === id)!;
  }

  // tracing_set_clock(): ring_buffer_set_clock() and a reset, since old and new stamps do not compare
  async setClock(name: string): Promise<void> {
    const clock = clockByName(name);
    this.machine.mem.store32(this.addr + TB_CLOCK, clock.id);
    await this.reset();
  }

  // ring_buffer_set_time_stamp_abs()
  setTimeStampAbs(on: boolean): void {
    this.machine.mem.store32(this.addr + TB_TIME_STAMP_ABS, on ? 1 : 0);
  }

  // ---- reset and resize: recording off on the CPU, a grace period, then the change on the host

  private async quiesce<T>(cpus: number[], fn: () => T): Promise<T> {
    for (const cpu of cpus) this.recordDisableCpu(cpu);
    try {
      await this.machine.synchronizeRcu();
      return fn();
    } finally {
      for (const cpu of cpus) this.recordEnableCpu(cpu);
    }
  }

  // ring_buffer_reset_cpu() / ring_buffer_reset(): every event and counter of the CPU(s) goes
  async reset(cpu?: number): Promise<void> {
    const cpus = cpu === undefined ? this.bufferCpus() : [this.checkCpu(cpu)];
    await this.quiesce(cpus, () => {
      for (const c of cpus) this.machine.exports.rbResetCpu(this.cpuBuffer(c));
    });
  }

  // ring_buffer_swap_cpu() for each of `cpus`: this buffer and `other` exchange the CPU's
  // ring_buffer_per_cpu with its pages and counters (the snapshot's swap). Both must hold every CPU with
  // the same number of pages. The CPUs' recording is off on both sides for the change, with a grace
  // period before it (no writer is inside either buffer) and one after it (weakly ordered CPUs refresh
  // their view of buffers[]).
  async swapCpus(other: TraceBuffer, cpus: number[]): Promise<void> {
    const mem = this.machine.mem;
    for (const cpu of cpus) {
      if (!this.cpus.has(cpu) || !other.cpus.has(cpu)) throw new RingtraceError('EINVAL', `CPU ${cpu} is not in both buffers`);
      if (this.nrPages(cpu) !== other.nrPages(cpu) || this.subbufSize !== other.subbufSize) {
        throw new RingtraceError('EINVAL', `CPU ${cpu}: the two buffers differ in size`);
      }
    }
    for (const cpu of cpus) {
      this.recordDisableCpu(cpu);
      other.recordDisableCpu(cpu);
    }
    try {
      await this.machine.synchronizeRcu();
      for (const cpu of cpus) {
        const a = this.cpus.get(cpu)!;
        const b = other.cpus.get(cpu)!;
        this.cpus.set(cpu, b);
        other.cpus.set(cpu, a);
        mem.store32(b.cb + CPB_BUFFER, this.addr);
        mem.store32(a.cb + CPB_BUFFER, other.addr);
        this.publishCpuBuffer(cpu);
        other.publishCpuBuffer(cpu);
      }
      await this.machine.synchronizeRcu();
    } finally {
      for (const cpu of cpus) {
        this.recordEnableCpu(cpu);
        other.recordEnableCpu(cpu);
      }
    }
  }

  private checkCpu(cpu: number): number {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.machine.nrCpuIds) {
      throw new RingtraceError('EINVAL', `CPU ${cpu} does not exist (possible CPUs: 0-${this.machine.nrCpuIds - 1})`);
    }
    if (!this.cpus.has(cpu)) throw new RingtraceError('ENODEV', `CPU ${cpu} has no buffer (it was never online)`);
    return cpu;
  }

  // ring_buffer_size(): bytes of data a CPU's buffer holds
  sizeOf(cpu: number): number {
    return this.machine.mem.load32(this.cpuBuffer(cpu) + CPB_NR_PAGES) * this.dataSize;
  }

  nrPages(cpu: number): number {
    return this.machine.mem.load32(this.cpuBuffer(cpu) + CPB_NR_PAGES);
  }

  // ring_buffer_resize(): pages are added before the head or removed after the tail (oldest first,
  // counted as overrun). EBUSY while an iterator holds the CPU (resize_disabled).
  async resize(sizeBytes: number, cpu?: number): Promise<void> {
    checkSize(sizeBytes);
    const cpus = cpu === undefined ? this.bufferCpus() : [this.checkCpu(cpu)];
    for (const c of cpus) {
      if (this.cpus.get(c)!.resizeDisabled > 0) {
        throw new RingtraceError('EBUSY', `CPU ${c} buffer is being read by an iterator; close it first`);
      }
    }
    const nr = this.nrPagesFor(sizeBytes);
    if (cpu === undefined) this.sizeRequest = sizeBytes;
    await this.quiesce(cpus, () => {
      for (const c of cpus) this.resizeCpu(c, nr);
    });
  }

  private resizeCpu(cpu: number, nr: number): void {
    const mem = this.machine.mem;
    const info = this.cpus.get(cpu)!;
    const current = mem.load32(info.cb + CPB_NR_PAGES);
    if (nr > current) {
      const chain = this.allocChain(nr - current);
      if (!this.machine.exports.rbInsertPages(info.cb, chain[0], chain[chain.length - 1], chain.length)) {
        for (const bp of chain) this.freeBufferPage(bp);
        throw new RingtraceError('EBUSY', `could not insert pages into CPU ${cpu}'s buffer`);
      }
      for (const bp of chain) info.pages.add(bp);
    } else if (nr < current) {
      const n = current - nr;
      const out = this.machine.arena.alloc(n * 4);
      const removed = this.machine.exports.rbRemovePages(info.cb, n, out);
      for (let i = 0; i < removed; i++) {
        const bp = mem.load32(out + i * 4);
        info.pages.delete(bp);
        this.freeBufferPage(bp);
      }
      this.machine.arena.release(out, n * 4);
    }
  }

  // ring_buffer_subbuf_order_set(): every page is reallocated at the new size; the data is lost
  async setSubbufSize(bytes: number): Promise<void> {
    const order = subbufOrder(bytes);
    if (bytes === this.pageSize) return;
    for (const [cpu, info] of this.cpus) {
      if (info.resizeDisabled > 0) throw new RingtraceError('EBUSY', `CPU ${cpu} buffer is being read by an iterator`);
    }
    const cpus = this.bufferCpus();
    this.recordDisable();
    try {
      await this.machine.synchronizeRcu();
      const mem = this.machine.mem;
      const sizes = new Map(cpus.map((c) => [c, this.sizeOf(c)]));
      for (const info of this.cpus.values()) {
        for (const bp of info.pages) this.freeBufferPage(bp);
        if (info.readSlot) this.releaseReadSlot(info);
      }
      this.pageSize = bytes;
      mem.store32(this.addr + TB_SUBBUF_ORDER, order);
      mem.store32(this.addr + TB_SUBBUF_SIZE, this.dataSize);
      mem.store32(this.addr + TB_MAX_DATA_SIZE, this.maxDataSize);
      this.machine.arena.release(this.scratch, this.scratchSize);
      this.scratchSize = RD_DATA + this.dataSize;
      this.scratch = this.machine.arena.alloc(this.scratchSize);
      for (const cpu of cpus) {
        const info = this.cpus.get(cpu)!;
        const nr = this.nrPagesFor(sizes.get(cpu)!);
        const pages = this.allocChain(nr);
        const reader = this.allocBufferPage();
        mem.store32(info.cb + CPB_NR_PAGES, nr);
        this.machine.exports.rbInitCpuBuffer(info.cb, this.addr, cpu, pages[0], reader);
        this.machine.exports.rbResetCpu(info.cb);
        info.pages = new Set([...pages, reader]);
      }
    } finally {
      this.recordEnable();
    }
  }

  // ---- counters

  private u64(cpu: number, off: number): number {
    return this.machine.mem.load64(this.cpuBuffer(cpu) + off);
  }

  // Make what the CPU committed visible to this reader (see assembly/ring_buffer.ts, publication).
  publish(cpu: number): void {
    this.machine.exports.rbRequestPublish(this.cpuBuffer(cpu));
  }

  // ring_buffer_time_stamp(): the buffer clock's "now" as the host sees it
  nowTs(cpu: number): number {
    const clock = this.clock;
    if (clock.id === CLOCK_COUNTER) return this.machine.mem.load64(abi.LAYOUT_BASE + abi.H_COUNTER_CLOCK);
    if (clock.id === CLOCK_VIRTUAL) return Number(this.machine.virtualNow(cpu));
    return Math.floor(this.machine.hostNowNs());
  }

  stats(cpu: number): RingBufferStats {
    this.checkCpu(cpu);
    this.publish(cpu);
    const e = this.machine.exports;
    return {
      entries: Number(e.rbEntriesCpu(this.addr, cpu)),
      overrun: this.u64(cpu, CPB_OVERRUN),
      commitOverrun: this.u64(cpu, CPB_COMMIT_OVERRUN),
      bytes: Number(e.rbBytesCpu(this.addr, cpu)),
      oldestEventTs: Number(e.rbOldestEventTs(this.addr, cpu)),
      nowTs: this.nowTs(cpu),
      droppedEvents: this.u64(cpu, CPB_DROPPED_EVENTS),
      readEvents: this.u64(cpu, CPB_READ),
      pagesTouched: this.u64(cpu, CPB_PAGES_TOUCHED),
      pagesLost: this.u64(cpu, CPB_PAGES_LOST),
      pagesRead: this.u64(cpu, CPB_PAGES_READ),
      recursion: this.u64(cpu, CPB_RECURSION),
      warnings: this.u64(cpu, CPB_NR_LOOPS_WARN),
    };
  }

  // Events committed on the CPU so far (cpu_buffer->entries, before overrun and reads are taken off).
  written(cpu: number): number {
    this.publish(cpu);
    return this.u64(cpu, CPB_ENTRIES);
  }

  bytesRaw(cpu: number): { entriesBytes: number; readBytes: number } {
    return { entriesBytes: this.u64(cpu, CPB_ENTRIES_BYTES), readBytes: this.u64(cpu, CPB_READ_BYTES) };
  }

  // ---- readers

  private readRecord(cpu: number): TraceEvent {
    const mem = this.machine.mem;
    const s = this.scratch;
    const length = Math.min(mem.load32(s + RD_LENGTH), this.dataSize);
    return {
      cpu,
      ts: mem.load64(s + RD_TS),
      lost: mem.load64(s + RD_LOST),
      data: mem.u8.slice(s + RD_DATA, s + RD_DATA + length),
    };
  }

  // ring_buffer_consume()
  consume(cpu: number): TraceEvent | null {
    this.checkCpu(cpu);
    this.publish(cpu);
    if (!this.machine.exports.rbConsume(this.addr, cpu, this.scratch, this.dataSize)) return null;
    return this.readRecord(cpu);
  }

  // ring_buffer_peek()
  peek(cpu: number): TraceEvent | null {
    this.checkCpu(cpu);
    this.publish(cpu);
    if (!this.machine.exports.rbPeek(this.addr, cpu, this.scratch, this.dataSize)) return null;
    return this.readRecord(cpu);
  }

  empty(cpu: number): boolean {
    this.checkCpu(cpu);
    this.publish(cpu);
    return this.machine.exports.rbEmptyCpu(this.addr, cpu) !== 0;
  }

  // Consume the oldest event across all CPUs (trace_pipe's order: peek every CPU, take the smallest
  // stamp; on a tie the lowest CPU, like __find_next_entry()).
  consumeMerged(cpus = this.bufferCpus()): TraceEvent | null {
    let best: TraceEvent | null = null;
    for (const cpu of cpus) {
      const ev = this.peek(cpu);
      if (ev && (!best || ev.ts < best.ts)) best = ev;
    }
    if (!best) return null;
    return this.consume(best.cpu);
  }

  // Readers that hold the buffer open (an instance is busy while there are any).
  private readers = 0;

  get busy(): boolean {
    return this.readers > 0;
  }

  // Hold the buffer open for a reader (trace_pipe, trace) until the returned function is called.
  open(): () => void {
    this.readers++;
    let closed = false;
    return () => {
      if (!closed) this.readers--;
      closed = true;
    };
  }

  // ring_buffer_read_start() .. ring_buffer_read_finish(): a non-consuming iterator over one CPU.
  *iterate(cpu: number): Generator<TraceEvent> {
    this.checkCpu(cpu);
    const info = this.cpus.get(cpu)!;
    const it = this.machine.arena.alloc(IT_SIZE + this.dataSize);
    info.resizeDisabled++;
    this.readers++;
    try {
      if (!this.machine.exports.rbIterStart(this.addr, cpu, it)) return;
      while (this.machine.exports.rbIterNext(it, this.scratch, this.dataSize)) yield this.readRecord(cpu);
    } finally {
      info.resizeDisabled--;
      this.readers--;
      this.machine.arena.release(it, IT_SIZE + this.dataSize);
    }
  }

  // All CPUs' iterators merged in stamp order (the `trace` file's order).
  *iterateMerged(cpus = this.bufferCpus()): Generator<TraceEvent> {
    const its = cpus.map((cpu) => this.iterate(cpu));
    const heads = its.map((it) => it.next());
    try {
      for (;;) {
        let best = -1;
        for (let i = 0; i < heads.length; i++) {
          const h = heads[i];
          if (h.done) continue;
          if (best < 0 || h.value.ts < (heads[best].value as TraceEvent).ts) best = i;
        }
        if (best < 0) return;
        yield heads[best].value as TraceEvent;
        heads[best] = its[best].next();
      }
    } finally {
      for (const it of its) it.return(undefined);
    }
  }

  private releaseReadSlot(info: CpuPages): void {
    const mem = this.machine.mem;
    this.machine.arena.release(mem.load32(info.readSlot!), this.pageSize);
    this.machine.arena.release(info.readSlot!, 64);
    info.readSlot = undefined;
  }

  // ring_buffer_read_page() into a spare page (ring_buffer_alloc_read_page()); returns a copy of the
  // whole sub-buffer in the kernel's format (what trace_pipe_raw reads), or null when there is nothing.
  readPage(cpu: number, full = false): Uint8Array | null {
    this.checkCpu(cpu);
    const info = this.cpus.get(cpu)!;
    const mem = this.machine.mem;
    if (!info.readSlot) {
      info.readSlot = this.machine.arena.alloc(64);
      const spare = this.machine.arena.alloc(this.pageSize, 64);
      this.machine.exports.rbInitPage(spare);
      mem.store32(info.readSlot, spare);
    }
    this.publish(cpu);
    const ret = this.machine.exports.rbReadPage(this.addr, cpu, info.readSlot, this.pageSize, full ? 1 : 0);
    if (ret < 0) return null;
    const page = mem.load32(info.readSlot);
    return mem.u8.slice(page, page + this.pageSize);
  }

  // the commit word of a page returned by readPage (flags included)
  static pageCommit(page: Uint8Array): number {
    return new DataView(page.buffer, page.byteOffset).getUint32(BDP_COMMIT, true);
  }

  // Free everything; the caller has unregistered the buffer and waited for a grace period.
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (this.viewsSize) this.machine.arena.release(this.machine.mem.load32(this.addr + TB_VIEWS), this.viewsSize);
    for (const info of this.cpus.values()) {
      for (const bp of info.pages) this.freeBufferPage(bp);
      if (info.readSlot) this.releaseReadSlot(info);
      this.machine.arena.release(info.cb, CPB_SIZE);
    }
    this.cpus.clear();
    this.machine.arena.release(this.scratch, this.scratchSize);
    this.machine.arena.release(this.addr, TB_SIZE);
  }
}

function checkSize(sizeBytes: number): void {
  if (!Number.isFinite(sizeBytes) || !Number.isInteger(sizeBytes) || sizeBytes <= 0) {
    throw new RingtraceError('EINVAL', `buffer size must be a positive whole number of bytes, not ${sizeBytes}`);
  }
}
