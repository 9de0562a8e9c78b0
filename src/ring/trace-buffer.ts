// struct trace_buffer on the host: allocation of per-CPU buffers (rb_allocate_cpu_buffer), resize,
// reset, record disable/enable, counters, and the readers (consume, iterate, read_page, merged).
import { abi } from '../layout.ts';
import type { Machine } from '../machine/machine.ts';
import type { BlockRequest } from '../machine/alloc.ts';
import { RingtraceError } from '../errors.ts';
import { readRecord, readPageLocked, type TraceEvent } from './cpu-reader.ts';

export type { TraceEvent } from './cpu-reader.ts';

const {
  TB_FLAGS, TB_RECORD_DISABLED, TB_SUBBUF_ORDER, TB_SUBBUF_SIZE, TB_CLOCK, TB_TIME_STAMP_ABS, TB_ID,
  TB_MAX_DATA_SIZE, TB_CPUMASK, TB_BUFFERS, TB_SIZE, RB_FL_OVERWRITE, RB_BUFFER_OFF, CPB_SIZE, CPB_NR_PAGES,
  CPB_RECORD_DISABLED, CPB_ENTRIES, CPB_OVERRUN, CPB_COMMIT_OVERRUN, CPB_DROPPED_EVENTS, CPB_READ,
  CPB_ENTRIES_BYTES, CPB_READ_BYTES, CPB_PAGES_TOUCHED, CPB_PAGES_LOST, CPB_PAGES_READ, CPB_RECURSION,
  CPB_NR_LOOPS_WARN, CPB_BUFFER, BP_SIZE, BP_NEXT, BP_PREV, BP_PAGE, BP_ID, BUF_PAGE_HDR_SIZE, SYS_PAGE_SIZE,
  SUBBUF_ORDER_MAX, RD_DATA, IT_SIZE, CLOCK_LOCAL, CLOCK_GLOBAL, CLOCK_COUNTER,
  CLOCK_VIRTUAL, BDP_COMMIT, TB_VIEWS, CPB_SPARE_PAGE,
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
  resizeDisabled: number;
}

let nextBufferId = 1;

// pages of a CPU buffer besides its ring: the reader page and the readers' spare page (CPB_SPARE_PAGE)
const EXTRA_PAGES = 2;

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
    this.viewsSize = machine.memoryModel === 'weak' ? machine.nrCpuIds * machine.nrCpuIds * 4 : 0;
    machine.arena.reserve(
      [{ size: TB_SIZE, count: 1 }, { size: RD_DATA + this.dataSize, count: 1 }, { size: this.viewsSize, count: 1 }],
      `trace buffer "${name}"`,
    );
    this.addr = machine.arena.alloc(TB_SIZE);
    mem.store32(this.addr + TB_FLAGS, opts.overwrite ? RB_FL_OVERWRITE : 0);
    mem.store32(this.addr + TB_SUBBUF_ORDER, order);
    mem.store32(this.addr + TB_SUBBUF_SIZE, this.dataSize);
    mem.store32(this.addr + TB_MAX_DATA_SIZE, this.maxDataSize);
    mem.store32(this.addr + TB_CLOCK, clockByName(opts.clock).id);
    mem.store32(this.addr + TB_ID, this.id);
    this.scratchSize = RD_DATA + this.dataSize;
    this.scratch = machine.arena.alloc(this.scratchSize);
    if (this.viewsSize) mem.store32(this.addr + TB_VIEWS, machine.arena.alloc(this.viewsSize));
    try {
      machine.registerTraceBuffer(this.addr);
    } catch (err) {
      this.destroy();
      throw err;
    }
  }

  private readonly viewsSize: number;

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
  nrPagesFor(sizeBytes: number, dataSize = this.dataSize): number {
    return Math.max(2, Math.ceil(sizeBytes / dataSize));
  }

  hasCpu(cpu: number): boolean {
    return this.cpus.has(cpu);
  }

  cpuBuffer(cpu: number): number {
    this.checkLive();
    const c = this.cpus.get(cpu);
    if (!c) throw new RingtraceError('ENODEV', `trace buffer "${this.name}" has no buffer for CPU ${cpu}`);
    return c.cb;
  }

  // CPUs that have a per-CPU buffer (for_each_buffer_cpu)
  bufferCpus(): number[] {
    return [...this.cpus.keys()].sort((a, b) => a - b);
  }

  // The arena blocks of nr buffer pages (a buffer_page and its data page each) of pageSize bytes.
  private static pageBlocks(nr: number, pageSize: number): BlockRequest[] {
    return [{ size: BP_SIZE, count: nr }, { size: pageSize, count: nr }];
  }

  private freeBufferPage(bp: number, pageSize = this.pageSize): void {
    const mem = this.machine.mem;
    this.machine.arena.release(mem.load32(bp + BP_PAGE), pageSize);
    this.machine.arena.release(bp, BP_SIZE);
  }

  // Allocate nr buffer pages linked in a chain (not closed into a ring); the caller has reserved them.
  // The arena hands out zeroed memory, which is what rb_init_page() makes of a data page: data pages
  // stay untouched, so a large buffer costs the system no memory until it is written.
  private allocChain(nr: number, pageSize = this.pageSize): number[] {
    const mem = this.machine.mem;
    const arena = this.machine.arena;
    const bps = arena.allocMany(BP_SIZE, nr);
    let pages: number[];
    try {
      pages = arena.allocMany(pageSize, nr);
    } catch (err) {
      for (const bp of bps) arena.release(bp, BP_SIZE);
      throw err;
    }
    for (let i = 0; i < nr; i++) {
      mem.store32(bps[i] + BP_PAGE, pages[i]);
      mem.store32(bps[i] + BP_ID, bps[i]);
      mem.store32(bps[i] + BP_NEXT, bps[(i + 1) % nr]);
      mem.store32(bps[i] + BP_PREV, bps[(i + nr - 1) % nr]);
    }
    return bps;
  }

  // The number of pages a new per-CPU buffer gets, as trace_rb_cpu_prepare() sizes it: like the other
  // CPUs' buffers if they all have the same size, else the minimum of 2 pages.
  private newCpuPages(): number {
    const mem = this.machine.mem;
    const sizes = new Set([...this.cpus.values()].map((c) => mem.load32(c.cb + CPB_NR_PAGES)));
    return sizes.size === 0 ? this.nrPagesFor(this.sizeRequest) : sizes.size === 1 ? [...sizes][0] : 2;
  }

  // ENOMEM now, before anything is allocated, unless `cpus` more per-CPU buffers fit (an instance
  // prepares every online CPU: all or nothing).
  reserveCpuBuffers(cpus: number): void {
    const nr = this.newCpuPages() + EXTRA_PAGES;
    this.machine.arena.reserve(
      [{ size: CPB_SIZE, count: cpus }, ...TraceBuffer.pageBlocks(nr * cpus, this.pageSize)],
      `${cpus} per-CPU buffer(s) of ${nr} pages for "${this.name}"`,
    );
  }

  // rb_allocate_cpu_buffer(). The cpumask bit is the caller's to set.
  allocateCpuBuffer(cpu: number): number {
    this.checkLive();
    if (this.cpus.has(cpu)) return this.cpus.get(cpu)!.cb;
    const nr = this.newCpuPages();
    this.reserveCpuBuffers(1);
    const cb = this.machine.arena.alloc(CPB_SIZE);
    this.cpus.set(cpu, { cb, pages: this.initCpuBuffer(cb, cpu, this.allocChain(nr + EXTRA_PAGES)), resizeDisabled: 0 });
    return cb;
  }

  // rb_allocate_pages() + rb_init_cpu_buffer() over a chain of nr + EXTRA_PAGES pages: the first nr
  // closed into the ring, then the reader page and the readers' spare page. Returns every page of the
  // CPU's buffer.
  private initCpuBuffer(cb: number, cpu: number, pages: number[]): Set<number> {
    const mem = this.machine.mem;
    const nr = pages.length - EXTRA_PAGES;
    mem.store32(pages[0] + BP_PREV, pages[nr - 1]);
    mem.store32(pages[nr - 1] + BP_NEXT, pages[0]);
    mem.store32(cb + CPB_NR_PAGES, nr);
    mem.store32(cb + CPB_SPARE_PAGE, pages[nr + 1]);
    this.machine.exports.rbInitCpuBuffer(cb, this.addr, cpu, pages[0], pages[nr]);
    return new Set(pages);
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
    await this.exclusive(async () => {
      this.machine.mem.store32(this.addr + TB_CLOCK, clock.id);
      await this.resetCpus(this.bufferCpus());
    });
  }

  // ring_buffer_set_time_stamp_abs()
  setTimeStampAbs(on: boolean): void {
    this.machine.mem.store32(this.addr + TB_TIME_STAMP_ABS, on ? 1 : 0);
  }

  // ---- reset and resize: recording off on the CPU, a grace period, then the change on the host.
  // Changes are serialised per buffer (the kernel's buffer->mutex); everything a change needs is
  // allocated before the grace period and swapped in after it, so a failed change leaves the buffer
  // exactly as it was and gives back what it took.

  private mutex: Promise<unknown> = Promise.resolve();

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.mutex.then(() => {
      this.checkLive();
      return fn();
    });
    this.mutex = run.catch(() => undefined);
    return run;
  }

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
    await this.exclusive(() => this.resetCpus(cpus));
  }

  private resetCpus(cpus: number[]): Promise<void> {
    return this.quiesce(cpus, () => {
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
    this.checkLive();
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.machine.nrCpuIds) {
      throw new RingtraceError('EINVAL', `CPU ${cpu} does not exist (possible CPUs: 0-${this.machine.nrCpuIds - 1})`);
    }
    if (!this.cpus.has(cpu)) throw new RingtraceError('ENODEV', `CPU ${cpu} has no buffer (it was never online)`);
    return cpu;
  }

  // A removed buffer's memory belongs to others now: every use of its handle fails.
  checkLive(): void {
    if (this.destroyed || this.removing) throw new RingtraceError('ENODEV', `trace buffer "${this.name}" was removed`);
  }

  // EBUSY while something reads a CPU's pages in place: an iterator, or a CPU's readPages workload
  // (the kernel's resize_disabled)
  private checkResizable(cpus: number[]): void {
    for (const c of cpus) {
      if (this.cpus.get(c)!.resizeDisabled > 0) {
        throw new RingtraceError('EBUSY', `CPU ${c} buffer is being read by an iterator or a page reader; close it first`);
      }
    }
  }

  // ring_buffer_size(): bytes of data a CPU's buffer holds
  sizeOf(cpu: number): number {
    return this.machine.mem.load32(this.cpuBuffer(cpu) + CPB_NR_PAGES) * this.dataSize;
  }

  nrPages(cpu: number): number {
    return this.machine.mem.load32(this.cpuBuffer(cpu) + CPB_NR_PAGES);
  }

  // ring_buffer_resize(): pages are added before the head or removed after the tail (oldest first,
  // counted as overrun). EBUSY while an iterator holds the CPU (resize_disabled); ENOMEM at once when
  // the new pages do not fit, with nothing changed.
  async resize(sizeBytes: number, cpu?: number): Promise<void> {
    checkSize(sizeBytes);
    const cpus = cpu === undefined ? this.bufferCpus() : [this.checkCpu(cpu)];
    await this.exclusive(async () => {
      this.checkResizable(cpus);
      const nr = this.nrPagesFor(sizeBytes);
      const current = new Map(cpus.map((c) => [c, this.nrPages(c)]));
      let adding = 0;
      for (const c of cpus) adding += Math.max(0, nr - current.get(c)!);
      const arena = this.machine.arena;
      arena.reserve(
        [...TraceBuffer.pageBlocks(adding, this.pageSize), ...cpus.map((c) => ({ size: Math.max(0, current.get(c)! - nr) * 4, count: 1 }))],
        `${nr} sub-buffers per CPU (${(sizeBytes / 1024).toFixed(0)} KB)`,
      );
      // rb_update_pages()'s new_pages lists: allocated before anything changes
      const chains = new Map<number, number[]>();
      const outs = new Map<number, number>();
      const giveBack = () => {
        for (const chain of chains.values()) for (const bp of chain) this.freeBufferPage(bp);
        for (const [c, out] of outs) arena.release(out, (current.get(c)! - nr) * 4);
      };
      try {
        for (const c of cpus) {
          if (nr > current.get(c)!) chains.set(c, this.allocChain(nr - current.get(c)!));
          else if (nr < current.get(c)!) outs.set(c, arena.alloc((current.get(c)! - nr) * 4));
        }
      } catch (err) {
        giveBack();
        throw err;
      }
      try {
        await this.quiesce(cpus, () => {
          this.checkResizable(cpus);
          for (const c of cpus) {
            const chain = chains.get(c);
            if (chain) {
              this.insertPages(c, chain);
              chains.delete(c);
            }
            const out = outs.get(c);
            if (out !== undefined) this.removePages(c, current.get(c)! - nr, out);
          }
        });
      } finally {
        giveBack();
      }
      if (cpu === undefined) this.sizeRequest = sizeBytes;
    });
  }

  private insertPages(cpu: number, chain: number[]): void {
    const info = this.cpus.get(cpu)!;
    if (!this.machine.exports.rbInsertPages(info.cb, chain[0], chain[chain.length - 1], chain.length)) {
      throw new RingtraceError('EBUSY', `could not insert pages into CPU ${cpu}'s buffer`);
    }
    for (const bp of chain) info.pages.add(bp);
  }

  private removePages(cpu: number, n: number, out: number): void {
    const info = this.cpus.get(cpu)!;
    const mem = this.machine.mem;
    const removed = this.machine.exports.rbRemovePages(info.cb, n, out);
    for (let i = 0; i < removed; i++) {
      const bp = mem.load32(out + i * 4);
      info.pages.delete(bp);
      this.freeBufferPage(bp);
    }
  }

  // ring_buffer_subbuf_order_set(): every page is reallocated at the new size and the data is lost.
  // The new pages, reader pages and scratch are allocated first; only after the grace period are the
  // old ones given back.
  async setSubbufSize(bytes: number): Promise<void> {
    const order = subbufOrder(bytes);
    await this.exclusive(async () => {
      if (bytes === this.pageSize) return;
      const cpus = this.bufferCpus();
      this.checkResizable(cpus);
      const dataSize = bytes - BUF_PAGE_HDR_SIZE;
      const plan = new Map(cpus.map((c) => [c, this.nrPagesFor(this.sizeOf(c), dataSize)]));
      let pagesNeeded = 0;
      for (const nr of plan.values()) pagesNeeded += nr + EXTRA_PAGES;
      const arena = this.machine.arena;
      arena.reserve(
        [...TraceBuffer.pageBlocks(pagesNeeded, bytes), { size: RD_DATA + dataSize, count: 1 }],
        `${bytes >> 10} KB sub-buffers (${pagesNeeded} of them)`,
      );
      const chains = new Map<number, number[]>();
      let scratch = 0;
      const giveBack = () => {
        for (const chain of chains.values()) for (const bp of chain) this.freeBufferPage(bp, bytes);
        if (scratch) arena.release(scratch, RD_DATA + dataSize);
      };
      try {
        for (const [c, nr] of plan) chains.set(c, this.allocChain(nr + EXTRA_PAGES, bytes));
        scratch = arena.alloc(RD_DATA + dataSize);
      } catch (err) {
        giveBack();
        throw err;
      }
      this.recordDisable();
      try {
        await this.machine.synchronizeRcu();
        this.checkResizable(cpus);
        if (this.cpus.size !== cpus.length) throw new RingtraceError('EBUSY', 'a CPU came online during the sub-buffer change; nothing changed');
        this.swapPages(cpus, chains, bytes, order, scratch);
        chains.clear();
        scratch = 0;
      } finally {
        giveBack();
        this.recordEnable();
      }
    });
  }

  // Each CPU buffer changes under its reader_lock, and the buffer's sizes only after all of them: a
  // reader on another thread reads either the old pages at the old size, or a new empty buffer.
  private swapPages(cpus: number[], chains: Map<number, number[]>, bytes: number, order: number, scratch: number): void {
    const mem = this.machine.mem;
    const x = this.machine.exports;
    for (const info of this.cpus.values()) for (const bp of info.pages) this.freeBufferPage(bp);
    this.machine.arena.release(this.scratch, this.scratchSize);
    for (const cpu of cpus) {
      const info = this.cpus.get(cpu)!;
      x.rbReaderLockWait(info.cb);
      try {
        info.pages = this.initCpuBuffer(info.cb, cpu, chains.get(cpu)!);
        x.rbResetCpu(info.cb);
      } finally {
        x.rbReaderUnlock(info.cb);
      }
    }
    this.pageSize = bytes;
    mem.store32(this.addr + TB_SUBBUF_ORDER, order);
    mem.store32(this.addr + TB_SUBBUF_SIZE, this.dataSize);
    mem.store32(this.addr + TB_MAX_DATA_SIZE, this.maxDataSize);
    this.scratch = scratch;
    this.scratchSize = RD_DATA + this.dataSize;
  }

  // ---- counters

  private u64(cpu: number, off: number): number {
    return this.machine.mem.load64(this.cpuBuffer(cpu) + off);
  }

  // Ask the CPU to make what it committed visible to readers (see assembly/ring_buffer.ts,
  // publication). Never waits: the synchronous readers read what is published, which a writing CPU
  // brings up to date at its next commit or quiescent point.
  publish(cpu: number): void {
    this.machine.exports.rbRequestPublish(this.cpuBuffer(cpu));
  }

  // Ask the CPUs to publish and wait, asynchronously and boundedly, until they have: afterwards the
  // readers see every event committed before the call (unless a CPU sits inside an open event).
  async publishAsync(cpus = this.bufferCpus()): Promise<void> {
    await Promise.all(
      cpus.map((cpu) => {
        const seq = this.machine.publishSeq(cpu);
        this.publish(cpu);
        return this.machine.publishedSince(cpu, seq);
      }),
    );
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
    return readRecord(this.machine.mem, this.scratch, this.dataSize, cpu);
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

  // trace_pipe's loop (tracing_read_pipe() over trace_find_next_entry_inc()): up to `limit` events in
  // consumeMerged()'s order. Each CPU is peeked again only after an event was taken from it, so an
  // event costs one peek and one consume instead of a peek of every CPU: the host's read of a full
  // buffer stays short. A head a writer overwrote meanwhile is replaced by what consume() returns.
  *consumeMergedUpTo(limit: number, cpus = this.bufferCpus()): Generator<TraceEvent> {
    const heads = new Map(cpus.map((cpu) => [cpu, this.peek(cpu)]));
    for (let n = 0; n < limit; n++) {
      let best: TraceEvent | null = null;
      for (const ev of heads.values()) if (ev && (!best || ev.ts < best.ts)) best = ev;
      if (!best) return;
      const ev = this.consume(best.cpu);
      heads.set(best.cpu, this.peek(best.cpu));
      if (ev) yield ev;
    }
  }

  // Readers that hold the buffer open, and workloads writing into it (an instance is busy while there
  // are any: instance_rmdir()'s EBUSY while the trace_array is referenced).
  private readers = 0;
  private writers = 0;

  get busy(): boolean {
    return this.readers > 0 || this.writers > 0;
  }

  // A workload writes into this buffer until the returned function is called.
  holdWriter(): () => void {
    this.checkLive();
    this.writers++;
    return once(() => this.writers--);
  }

  // A CPU's readPages workload reads `cpu`'s pages in place until the returned function is called: no
  // resize or sub-buffer change meanwhile (resize_disabled).
  holdPageReader(cpu: number): () => void {
    const info = this.cpus.get(this.checkCpu(cpu))!;
    info.resizeDisabled++;
    this.readers++;
    return once(() => {
      info.resizeDisabled--;
      this.readers--;
    });
  }

  private removing = false;

  // instance_rmdir(), first step: once changes in flight are done, the handle refuses every use;
  // destroy() follows after the caller's grace period.
  retire(): Promise<void> {
    return this.exclusive(async () => {
      if (this.busy) throw new RingtraceError('EBUSY', `trace buffer "${this.name}" is in use`);
      this.removing = true;
    });
  }

  // Hold the buffer open for a reader (trace_pipe, trace) until the returned function is called.
  open(): () => void {
    this.checkLive();
    this.readers++;
    return once(() => this.readers--);
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

  // ring_buffer_read_page(), through the CPU buffer's spare page (see cpu-reader.ts); returns a copy of
  // the whole sub-buffer in the kernel's format (what trace_pipe_raw reads), or null when there is nothing.
  readPage(cpu: number, full = false): Uint8Array | null {
    this.checkCpu(cpu);
    this.publish(cpu);
    return readPageLocked(this.machine.mem, this.machine.exports, this.addr, cpu, full);
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
      this.machine.arena.release(info.cb, CPB_SIZE);
    }
    this.cpus.clear();
    this.machine.arena.release(this.scratch, this.scratchSize);
    this.machine.arena.release(this.addr, TB_SIZE);
  }
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (!done) fn();
    done = true;
  };
}

function checkSize(sizeBytes: number): void {
  if (!Number.isFinite(sizeBytes) || !Number.isInteger(sizeBytes) || sizeBytes <= 0) {
    throw new RingtraceError('EINVAL', `buffer size must be a positive whole number of bytes, not ${sizeBytes}`);
  }
}
