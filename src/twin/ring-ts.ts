// The TypeScript twin of the Wasm writer: the same reserve/commit algorithm of kernel/trace/ring_buffer.c
// as assembly/ring_buffer.ts (its writer half, ported function by function), over a SharedArrayBuffer
// laid out with the same struct offsets (assembly/abi.ts: trace_buffer, ring_buffer_per_cpu, buffer_page,
// buffer_data_page) and writing the same event format (type_len:5 / time_delta:27, time extends,
// padding at the end of a sub-buffer). It exists so that the benchmark can put a measured number on what
// WebAssembly buys: the same workload on the same algorithm, in the same run.
//
// Kept the same on purpose:
// - per-CPU buffer_pages in a ring with head, tail, commit and reader pages; the HEAD/UPDATE flags in
//   the low bits of list.next, moved with compare-and-exchange (overwrite mode pushes the head page);
// - the writer's cache of the cpu_buffer fields (wc*), flushed before every slow path and at publication;
// - the publication scheme: the outermost commit keeps the commit index in cpu_buffer, and page->commit
//   is published with an atomic store when the commit page moves on (every page boundary), when a reader
//   asks (ATTN_PUBLISH in the attention word, polled at every outermost commit) and at the end of a session;
// - trace_recursive_lock()'s context bits, entries/overrun/commit_overrun/dropped_events/entries_bytes;
// - the counter clock: trace_clock_counter's global 64-bit counter, claimed COUNTER_CLOCK_BLOCK values at
//   a time with one atomic add, like assembly/clock.ts.
// Not ported (the benchmark does not need them): readers, discard, resize, nested interrupt contexts
// (the writer runs at the normal context level) and the weak memory model.
import * as abi from '../../assembly/abi.ts';

const {
  TB_FLAGS, TB_RECORD_DISABLED, TB_SUBBUF_ORDER, TB_SUBBUF_SIZE, TB_CLOCK, TB_TIME_STAMP_ABS, TB_MAX_DATA_SIZE,
  TB_CPUMASK, TB_BUFFERS, TB_SIZE, RB_FL_OVERWRITE,
  CPB_CPU, CPB_BUFFER, CPB_NR_PAGES, CPB_PAGES, CPB_RECORD_DISABLED, CPB_TAIL_PAGE, CPB_COMMIT_PAGE,
  CPB_CURRENT_CONTEXT, CPB_NEST, CPB_COMMITTING, CPB_COMMIT_INDEX, CPB_WRITE_STAMP, CPB_BEFORE_STAMP,
  CPB_ENTRIES, CPB_ENTRIES_BYTES, CPB_OVERRUN, CPB_COMMIT_OVERRUN, CPB_DROPPED_EVENTS, CPB_PAGES_TOUCHED,
  CPB_PAGES_LOST, CPB_RECURSION, CPB_NR_LOOPS_WARN, CPB_HEAD_PAGE, CPB_READER_PAGE, CPB_SIZE,
  BP_NEXT, BP_PREV, BP_WRITE, BP_ENTRIES, BP_REAL_END, BP_PAGE, BP_ID, BP_SIZE,
  RB_PAGE_NORMAL, RB_PAGE_HEAD, RB_PAGE_UPDATE, RB_PAGE_MOVED, RB_FLAG_MASK, RB_WRITE_MASK,
  BDP_TIME_STAMP, BDP_COMMIT, BDP_DATA, BUF_PAGE_HDR_SIZE, SYS_PAGE_SIZE, SUBBUF_ORDER_MAX,
  RINGBUF_TYPE_PADDING, RINGBUF_TYPE_TIME_EXTEND, RINGBUF_TYPE_TIME_STAMP, RB_EVNT_HDR_SIZE, RB_ALIGNMENT,
  RB_MAX_SMALL_DATA, RB_LEN_TIME_EXTEND, RB_EVNT_MIN_SIZE, TS_SHIFT, TS_MASK, TYPE_LEN_BITS,
  RB_CTX_NORMAL, RB_CTX_TRANSITION, CTX_NORMAL, CLOCK_COUNTER, COUNTER_CLOCK_BLOCK, ATTN_PUBLISH, ATTN_STOP,
  H_COUNTER_CLOCK, H_SCRATCH, CACHELINE,
} = abi;

const TWO32 = 4294967296;
const EAGAIN = 1; // rb_move_tail(): try again (event addresses are never 1)

// The twin's own small header at address 0 (address 0 is never a struct, so 0 stays NULL):
// the counter clock's global counter and a scratch word at their abi.ts offsets, then one attention
// word per CPU (the CPU_ATTENTION of the machine's CPU descriptors, reduced to what the writer polls).
const TWIN_ATTENTION = 64;
const TWIN_HEADER = 4096;

export interface TwinOptions {
  cpus?: number; // per-CPU buffers, default 1
  sizeBytes?: number; // data bytes per CPU, like buffer_size_kb << 10 (default 1408 KiB)
  subbufSize?: number; // bytes per sub-buffer including its header, 4096 << order (default 4096)
  overwrite?: boolean; // default true
  // the trace clock: 'counter' (trace_clock_counter), or any function returning a time stamp (tests)
  clock?: 'counter' | (() => number);
}

export interface TwinStats {
  entries: number; // cpu_buffer->entries: events committed
  overrun: number;
  commitOverrun: number;
  droppedEvents: number;
  entriesBytes: number;
  pagesTouched: number;
  pagesLost: number;
  recursion: number;
  warnings: number;
}

// rb_calculate_event_length()
export function rbCalculateEventLength(length: number): number {
  if (length === 0) length++;
  if (length > RB_MAX_SMALL_DATA) length += 4;
  length += RB_EVNT_HDR_SIZE;
  length = (length + RB_ALIGNMENT - 1) & ~(RB_ALIGNMENT - 1);
  // a time extend must fit in the space of a discarded event: never exactly 12 bytes
  if (length === RB_LEN_TIME_EXTEND + RB_ALIGNMENT) length += RB_ALIGNMENT;
  return length;
}

// struct trace_buffer with its per-CPU buffers, allocated the way ring_buffer_alloc() /
// rb_allocate_cpu_buffer() do (and src/ring/trace-buffer.ts does for the machine).
export class TwinRing {
  readonly sab: SharedArrayBuffer;
  readonly u8: Uint8Array;
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  readonly i64: BigInt64Array;
  readonly tb: number;
  readonly cpus: number;
  readonly subbufSize: number;
  readonly nrPages: number;
  readonly clock: 'counter' | (() => number);
  private top = TWIN_HEADER;

  constructor(opts: TwinOptions = {}) {
    const cpus = opts.cpus ?? 1;
    const subbufSize = opts.subbufSize ?? SYS_PAGE_SIZE;
    const order = Math.log2(subbufSize / SYS_PAGE_SIZE);
    if (!Number.isInteger(order) || order < 0 || order > SUBBUF_ORDER_MAX) throw new RangeError(`bad sub-buffer size ${subbufSize}`);
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > 64) throw new RangeError(`bad cpu count ${cpus}`);
    const sizeBytes = opts.sizeBytes ?? 1408 * 1024;
    const dataSize = subbufSize - BUF_PAGE_HDR_SIZE;
    // ring_buffer_resize()'s page count: at least 2
    const nrPages = Math.max(2, Math.ceil(sizeBytes / dataSize));
    const perCpu = CPB_SIZE + (nrPages + 1) * (BP_SIZE + subbufSize) + 4096;
    const total = TWIN_HEADER + TB_SIZE + cpus * perCpu + 65536;
    this.sab = new SharedArrayBuffer(Math.ceil(total / 65536) * 65536);
    this.u8 = new Uint8Array(this.sab);
    this.u32 = new Uint32Array(this.sab);
    this.i32 = new Int32Array(this.sab);
    this.i64 = new BigInt64Array(this.sab);
    this.cpus = cpus;
    this.subbufSize = subbufSize;
    this.nrPages = nrPages;
    this.clock = opts.clock ?? 'counter';

    const tb = (this.tb = this.alloc(TB_SIZE));
    const w = (addr: number, v: number) => (this.u32[addr >> 2] = v);
    w(tb + TB_FLAGS, (opts.overwrite ?? true) ? RB_FL_OVERWRITE : 0);
    w(tb + TB_SUBBUF_ORDER, order);
    w(tb + TB_SUBBUF_SIZE, dataSize);
    w(tb + TB_MAX_DATA_SIZE, dataSize - 8); // buffer->max_data_size
    w(tb + TB_CLOCK, CLOCK_COUNTER);
    for (let cpu = 0; cpu < cpus; cpu++) {
      const cb = this.allocateCpuBuffer(cpu);
      w(tb + TB_BUFFERS + cpu * 4, cb);
      Atomics.or(this.i32, (tb + TB_CPUMASK + ((cpu >> 5) << 2)) >> 2, 1 << (cpu & 31));
    }
  }

  private alloc(size: number, alignment = CACHELINE): number {
    const at = Math.ceil(this.top / alignment) * alignment;
    this.top = at + size;
    if (this.top > this.sab.byteLength) throw new RangeError('twin: out of memory');
    return at;
  }

  // rb_allocate_cpu_buffer(): nrPages buffer_pages linked in a ring, plus the reader page
  private allocateCpuBuffer(cpu: number): number {
    const cb = this.alloc(CPB_SIZE);
    const pages: number[] = [];
    for (let i = 0; i <= this.nrPages; i++) {
      const bp = this.alloc(BP_SIZE);
      const page = this.alloc(this.subbufSize);
      this.u32[(bp + BP_PAGE) >> 2] = page;
      this.u32[(bp + BP_ID) >> 2] = bp;
      rbInitPage(this, page);
      pages.push(bp);
    }
    const reader = pages.pop()!;
    const n = pages.length;
    for (let i = 0; i < n; i++) {
      this.u32[(pages[i] + BP_NEXT) >> 2] = pages[(i + 1) % n];
      this.u32[(pages[i] + BP_PREV) >> 2] = pages[(i + n - 1) % n];
    }
    this.u32[(cb + CPB_NR_PAGES) >> 2] = n;
    rbInitCpuBuffer(this, cb, this.tb, cpu, pages[0], reader);
    return cb;
  }

  cpuBuffer(cpu: number): number {
    return this.u32[(this.tb + TB_BUFFERS + cpu * 4) >> 2];
  }

  load64(addr: number): number {
    return this.u32[addr >> 2] + this.u32[(addr >> 2) + 1] * TWO32;
  }

  // the per-CPU counters, as ring_buffer_*_cpu() read them (after the writer published)
  stats(cpu: number): TwinStats {
    const cb = this.cpuBuffer(cpu);
    return {
      entries: this.load64(cb + CPB_ENTRIES),
      overrun: this.load64(cb + CPB_OVERRUN),
      commitOverrun: this.load64(cb + CPB_COMMIT_OVERRUN),
      droppedEvents: this.load64(cb + CPB_DROPPED_EVENTS),
      entriesBytes: this.load64(cb + CPB_ENTRIES_BYTES),
      pagesTouched: this.load64(cb + CPB_PAGES_TOUCHED),
      pagesLost: this.load64(cb + CPB_PAGES_LOST),
      recursion: this.load64(cb + CPB_RECURSION),
      warnings: this.load64(cb + CPB_NR_LOOPS_WARN),
    };
  }

  // Ask the writer of `cpu` to publish (a reader's ATTN_PUBLISH); it does at its next commit.
  requestPublish(cpu: number): void {
    Atomics.or(this.i32, (TWIN_ATTENTION + cpu * 4) >> 2, ATTN_PUBLISH);
  }

  // The buffer_pages of a CPU in ring order, starting at the page whose predecessor carries the HEAD
  // flag (rb_set_head_page()), i.e. oldest data first; the tail page is the last with data.
  ringPages(cpu: number): number[] {
    const cb = this.cpuBuffer(cpu);
    const first = this.u32[(cb + CPB_PAGES) >> 2];
    let head = 0;
    let bp = first;
    do {
      const next = Atomics.load(this.u32, (bp + BP_NEXT) >> 2);
      if ((next & RB_FLAG_MASK) === RB_PAGE_HEAD) head = next & ~RB_FLAG_MASK;
      bp = next & ~RB_FLAG_MASK;
    } while (bp !== first);
    if (!head) throw new Error('twin: no head page');
    const out: number[] = [];
    bp = head;
    do {
      out.push(bp);
      bp = Atomics.load(this.u32, (bp + BP_NEXT) >> 2) & ~RB_FLAG_MASK;
    } while (bp !== head);
    return out;
  }

  dataPageOf(bp: number): number {
    return this.u32[(bp + BP_PAGE) >> 2];
  }
}

// ---------------------------------------------------------------------------------------------------
// set-up (rb_init_page, rb_clear_buffer_page, rb_allocate_cpu_buffer's tail, rb_head_page_activate)

function rbInitPage(r: TwinRing, page: number): void {
  r.u32[(page + BDP_TIME_STAMP) >> 2] = 0;
  r.u32[(page + BDP_TIME_STAMP + 4) >> 2] = 0;
  Atomics.store(r.u32, (page + BDP_COMMIT) >> 2, 0);
  Atomics.store(r.u32, (page + BDP_COMMIT + 4) >> 2, 0);
}

function rbInitCpuBuffer(r: TwinRing, cb: number, tb: number, cpu: number, first: number, readerPage: number): void {
  const u32 = r.u32;
  u32[(cb + CPB_CPU) >> 2] = cpu;
  u32[(cb + CPB_BUFFER) >> 2] = tb;
  u32[(cb + CPB_PAGES) >> 2] = first;
  u32[(cb + CPB_READER_PAGE) >> 2] = readerPage;
  u32[(readerPage + BP_NEXT) >> 2] = readerPage;
  u32[(readerPage + BP_PREV) >> 2] = readerPage;
  u32[(cb + CPB_HEAD_PAGE) >> 2] = first;
  u32[(cb + CPB_TAIL_PAGE) >> 2] = first;
  u32[(cb + CPB_COMMIT_PAGE) >> 2] = first;
  // rb_head_page_activate(): the HEAD flag goes on the head page's predecessor
  Atomics.or(r.i32, (u32[(first + BP_PREV) >> 2] + BP_NEXT) >> 2, RB_PAGE_HEAD);
}

// ---------------------------------------------------------------------------------------------------
// the writer of one CPU (what one Wasm instance's module globals are for assembly/ring_buffer.ts)

export class TwinWriter {
  private readonly u8: Uint8Array;
  private readonly u32: Uint32Array;
  private readonly i32: Int32Array;
  private readonly i64: BigInt64Array;
  private readonly attention: number; // index of this CPU's attention word
  private readonly clockFn: (() => number) | undefined;

  // the writer's cache (wc* in assembly/ring_buffer.ts)
  private wcCb = 0;
  private wcTail = 0;
  private wcCommitPage = 0;
  private wcData = 0;
  private wcWrite = 0;
  private wcPageEntries = 0;
  private wcCommitIndex = 0;
  private wcCommitting = 0;
  private wcContext = 0;
  private wcNest = 0;
  private wcWriteStamp = 0;
  private wcBeforeStamp = 0;
  private wcEntries = 0;
  private wcEntriesBytes = 0;
  private wcBsize = 0;

  // the cpu_buffers committed to since the last publication (CPU_DIRTY in the CPU descriptor)
  private dirty: number[] = [];
  private lastDirty = 0;
  private counterNext = 0;
  private counterLeft = 0;
  private readonly contextLevel = CTX_NORMAL;
  stopRequested = false;

  constructor(readonly ring: TwinRing, readonly cpu: number) {
    this.u8 = ring.u8;
    this.u32 = ring.u32;
    this.i32 = ring.i32;
    this.i64 = ring.i64;
    this.attention = (TWIN_ATTENTION + cpu * 4) >> 2;
    this.clockFn = typeof ring.clock === 'function' ? ring.clock : undefined;
  }

  private ld(addr: number): number {
    return this.u32[addr >> 2];
  }
  private st(addr: number, v: number): void {
    this.u32[addr >> 2] = v;
  }
  private ld64(addr: number): number {
    const i = addr >> 2;
    return this.u32[i] + this.u32[i + 1] * TWO32;
  }
  private st64(addr: number, v: number): void {
    const i = addr >> 2;
    this.u32[i] = v % TWO32;
    this.u32[i + 1] = Math.floor(v / TWO32);
  }
  private inc64(addr: number, v: number): void {
    this.st64(addr, this.ld64(addr) + v);
  }

  // trace_clock_counter(): atomic64_add_return(1, &trace_counter), COUNTER_CLOCK_BLOCK at a time
  private traceClock(): number {
    if (this.clockFn) return this.clockFn();
    if (this.counterLeft === 0) {
      this.counterNext = Number(Atomics.add(this.i64, H_COUNTER_CLOCK >> 3, BigInt(COUNTER_CLOCK_BLOCK))) + 1;
      this.counterLeft = COUNTER_CLOCK_BLOCK;
    }
    this.counterLeft--;
    return this.counterNext++;
  }

  // RB_WARN_ON(): count, and the whole buffer stops recording
  private rbWarnOn(cb: number): void {
    this.inc64(cb + CPB_NR_LOOPS_WARN, 1);
    Atomics.add(this.i32, (this.ld(cb + CPB_BUFFER) + TB_RECORD_DISABLED) >> 2, 1);
  }

  // rb_inc_page()
  private rbNextPage(bp: number): number {
    return Atomics.load(this.u32, (bp + BP_NEXT) >> 2) & ~RB_FLAG_MASK;
  }
  private dataPage(bp: number): number {
    return this.u32[(bp + BP_PAGE) >> 2];
  }
  // rb_page_commit()
  private rbPageCommit(bp: number): number {
    return Atomics.load(this.u32, (this.dataPage(bp) + BDP_COMMIT) >> 2);
  }
  // rb_page_write()
  private rbPageWrite(bp: number): number {
    return Atomics.load(this.u32, (bp + BP_WRITE) >> 2) & RB_WRITE_MASK;
  }

  // rb_is_head_page()
  private rbIsHeadPage(page: number, prev: number): number {
    const val = Atomics.load(this.u32, (prev + BP_NEXT) >> 2);
    if ((val & ~RB_FLAG_MASK) >>> 0 !== page) return RB_PAGE_MOVED;
    return val & RB_FLAG_MASK;
  }

  // rb_head_page_set(): cmpxchg of the flags in prev->next
  private rbHeadPageSet(head: number, prev: number, oldFlag: number, newFlag: number): number {
    const val = head & ~RB_FLAG_MASK;
    const ret = Atomics.compareExchange(this.u32, (prev + BP_NEXT) >> 2, (val | oldFlag) >>> 0, (val | newFlag) >>> 0);
    if ((ret & ~RB_FLAG_MASK) >>> 0 !== val) return RB_PAGE_MOVED;
    return ret & RB_FLAG_MASK;
  }

  // ---- the writer's cache

  private wcFlush(): void {
    const cb = this.wcCb;
    if (cb === 0) return;
    Atomics.store(this.u32, (this.wcTail + BP_WRITE) >> 2, this.wcWrite);
    this.st(this.wcTail + BP_ENTRIES, this.wcPageEntries);
    this.st(cb + CPB_COMMIT_INDEX, this.wcCommitIndex);
    this.st(cb + CPB_COMMITTING, this.wcCommitting);
    this.st(cb + CPB_CURRENT_CONTEXT, this.wcContext);
    this.st(cb + CPB_NEST, this.wcNest);
    this.st64(cb + CPB_WRITE_STAMP, this.wcWriteStamp);
    this.st64(cb + CPB_BEFORE_STAMP, this.wcBeforeStamp);
    this.st64(cb + CPB_ENTRIES, this.wcEntries);
    this.st64(cb + CPB_ENTRIES_BYTES, this.wcEntriesBytes);
  }

  private wcLoad(cb: number): void {
    const tb = this.ld(cb + CPB_BUFFER);
    this.wcCb = cb;
    this.wcTail = Atomics.load(this.u32, (cb + CPB_TAIL_PAGE) >> 2);
    this.wcCommitPage = Atomics.load(this.u32, (cb + CPB_COMMIT_PAGE) >> 2);
    this.wcData = this.dataPage(this.wcTail) + BDP_DATA;
    this.wcWrite = Atomics.load(this.u32, (this.wcTail + BP_WRITE) >> 2);
    this.wcPageEntries = this.ld(this.wcTail + BP_ENTRIES);
    this.wcCommitIndex = this.ld(cb + CPB_COMMIT_INDEX);
    this.wcCommitting = this.i32[(cb + CPB_COMMITTING) >> 2];
    this.wcContext = this.ld(cb + CPB_CURRENT_CONTEXT);
    this.wcNest = this.ld(cb + CPB_NEST);
    this.wcWriteStamp = this.ld64(cb + CPB_WRITE_STAMP);
    this.wcBeforeStamp = this.ld64(cb + CPB_BEFORE_STAMP);
    this.wcEntries = this.ld64(cb + CPB_ENTRIES);
    this.wcEntriesBytes = this.ld64(cb + CPB_ENTRIES_BYTES);
    this.wcBsize = this.ld(tb + TB_SUBBUF_SIZE);
  }

  private wcEnsure(cb: number): void {
    if (cb !== this.wcCb) {
      this.wcFlush();
      this.wcLoad(cb);
    }
  }

  // trace_recursive_lock(); true when the write must be refused
  private traceRecursiveLock(cb: number): boolean {
    const val = this.wcContext;
    const nest = this.wcNest;
    let bit = RB_CTX_NORMAL - this.contextLevel;
    if (val & (1 << (bit + nest))) {
      bit = RB_CTX_TRANSITION;
      if (val & (1 << (bit + nest))) {
        this.inc64(cb + CPB_RECURSION, 1);
        return true;
      }
    }
    this.wcContext = val | (1 << (bit + nest));
    return false;
  }

  // trace_recursive_unlock()
  private traceRecursiveUnlock(): void {
    const val = this.wcContext;
    this.wcContext = val & (val - (1 << this.wcNest));
  }

  // ---- publication

  private markDirty(cb: number): void {
    this.lastDirty = cb;
    if (!this.dirty.includes(cb)) this.dirty.push(cb);
  }

  // Make every event committed so far visible: page->commit of each dirty buffer's commit page.
  publishAll(): void {
    this.wcFlush();
    for (const cb of this.dirty) {
      const commitPage = this.ld(cb + CPB_COMMIT_PAGE);
      Atomics.store(this.u32, (this.dataPage(commitPage) + BDP_COMMIT) >> 2, this.ld(cb + CPB_COMMIT_INDEX));
    }
    this.dirty.length = 0;
    this.lastDirty = 0;
    Atomics.add(this.i32, H_SCRATCH >> 2, 1);
  }

  // a reader or the host wants this CPU's attention; called from the outermost commit
  private cpuAttention(): void {
    const attention = Atomics.load(this.i32, this.attention);
    if (attention & ATTN_PUBLISH) {
      Atomics.and(this.i32, this.attention, ~ATTN_PUBLISH);
      this.publishAll();
    }
    if (attention & ATTN_STOP) this.stopRequested = true;
  }

  // end of a write session: publish and drop the cache
  sessionEnd(): void {
    this.publishAll();
    this.wcCb = 0;
  }

  // ---- commit

  // rb_set_commit_to_write(): only the outermost commit moves the commit page up to the tail
  private rbSetCommitToWrite(cb: number): void {
    let commitPage = this.ld(cb + CPB_COMMIT_PAGE);
    const tailPage = this.ld(cb + CPB_TAIL_PAGE);
    if (commitPage !== tailPage) {
      let maxCount = this.ld(cb + CPB_NR_PAGES) * 100;
      const readerPage = Atomics.load(this.u32, (cb + CPB_READER_PAGE) >> 2);
      while (commitPage !== tailPage) {
        if (--maxCount === 0) {
          this.rbWarnOn(cb);
          return;
        }
        if (tailPage === readerPage) {
          this.rbWarnOn(cb);
          return;
        }
        // a finished page: its commit is its write, published now
        Atomics.store(this.u32, (this.dataPage(commitPage) + BDP_COMMIT) >> 2, this.rbPageWrite(commitPage));
        commitPage = this.rbNextPage(commitPage);
        Atomics.store(this.u32, (cb + CPB_COMMIT_PAGE) >> 2, commitPage);
      }
    }
    this.st(cb + CPB_COMMIT_INDEX, this.ld(tailPage + BP_WRITE) & RB_WRITE_MASK);
  }

  // rb_end_commit(), on the writer's cache
  private rbEndCommit(cb: number): void {
    const committing = this.wcCommitting;
    if (committing === 1) {
      if (this.wcCommitPage === this.wcTail) {
        this.wcCommitIndex = this.wcWrite;
      } else {
        this.wcFlush();
        this.rbSetCommitToWrite(cb);
        this.wcLoad(cb);
      }
      this.wcCommitting = 0;
      if (cb !== this.lastDirty) this.markDirty(cb);
      if (Atomics.load(this.i32, this.attention) !== 0) this.cpuAttention();
    } else {
      if (committing <= 0) this.rbWarnOn(cb);
      this.wcCommitting = committing - 1;
    }
  }

  // ---- reserve

  // rb_add_time_stamp(): a time extend (or absolute stamp) in front of the event
  private rbAddTimeStamp(ev: number, delta: number, abs: boolean, index: number): number {
    const typeLen = abs ? RINGBUF_TYPE_TIME_STAMP : RINGBUF_TYPE_TIME_EXTEND;
    if (abs || index !== 0) {
      this.st(ev, typeLen | ((delta & TS_MASK) << TYPE_LEN_BITS));
      this.st(ev + 4, Math.floor(delta / (TS_MASK + 1)) >>> 0);
    } else {
      this.st(ev, typeLen);
      this.st(ev + 4, 0);
    }
    return ev + RB_LEN_TIME_EXTEND;
  }

  // rb_reset_tail(): pad the rest of a page the event did not fit on
  private rbResetTail(cb: number, tailPage: number, tail: number, length: number, bsize: number): void {
    if (tail >= bsize) {
      if (tail === bsize) this.st(tailPage + BP_REAL_END, 0);
      Atomics.store(this.u32, (tailPage + BP_WRITE) >> 2, this.rbPageWrite(tailPage) - length);
      return;
    }
    const ev = this.dataPage(tailPage) + BDP_DATA + tail;
    this.st(tailPage + BP_REAL_END, tail);
    if (tail > bsize - RB_EVNT_MIN_SIZE) {
      // no room for any event: a null padding event marks the rest of the page
      this.st(ev, RINGBUF_TYPE_PADDING);
      Atomics.store(this.u32, (tailPage + BP_WRITE) >> 2, this.rbPageWrite(tailPage) - length);
      return;
    }
    // a discarded event up to the end of the page (time_delta must be non zero)
    this.st(ev + 4, bsize - tail - RB_EVNT_HDR_SIZE);
    this.st(ev, RINGBUF_TYPE_PADDING | (1 << TYPE_LEN_BITS));
    this.inc64(cb + CPB_ENTRIES_BYTES, bsize - tail);
    Atomics.store(this.u32, (tailPage + BP_WRITE) >> 2, this.rbPageWrite(tailPage) - (tail + length - bsize));
  }

  // rb_tail_page_update()
  private rbTailPageUpdate(cb: number, tailPage: number, nextPage: number): void {
    if (tailPage === this.ld(cb + CPB_TAIL_PAGE)) {
      Atomics.store(this.u32, (nextPage + BP_WRITE) >> 2, 0);
      this.st(nextPage + BP_ENTRIES, 0);
      Atomics.store(this.u32, (this.dataPage(nextPage) + BDP_COMMIT) >> 2, 0);
      Atomics.store(this.u32, (cb + CPB_TAIL_PAGE) >> 2, nextPage);
      this.inc64(cb + CPB_PAGES_TOUCHED, 1);
    }
  }

  // rb_handle_head_page(): overwrite mode pushes the head page forward; 0 done, 1 try again, -1 failed
  private rbHandleHeadPage(cb: number, tailPage: number, nextPage: number): number {
    const entries = this.ld(nextPage + BP_ENTRIES);
    const type = this.rbHeadPageSet(nextPage, tailPage, RB_PAGE_HEAD, RB_PAGE_UPDATE);
    if (type === RB_PAGE_HEAD) {
      // ours to account for: the oldest page is lost
      this.inc64(cb + CPB_OVERRUN, entries);
      this.st64(cb + CPB_ENTRIES_BYTES, this.ld64(cb + CPB_ENTRIES_BYTES) - this.rbPageCommit(nextPage));
      this.inc64(cb + CPB_PAGES_LOST, 1);
    } else if (type === RB_PAGE_UPDATE) {
      // an interrupted update: still more to do
    } else if (type === RB_PAGE_NORMAL || type === RB_PAGE_MOVED) {
      // already moved for us, or the reader swapped next_page out: try again
      return 1;
    } else {
      this.rbWarnOn(cb);
      return -1;
    }
    const newHead = this.rbNextPage(nextPage);
    const ret = this.rbHeadPageSet(newHead, nextPage, RB_PAGE_NORMAL, RB_PAGE_HEAD);
    if (ret !== RB_PAGE_HEAD && ret !== RB_PAGE_NORMAL) {
      this.rbWarnOn(cb);
      return -1;
    }
    if (ret === RB_PAGE_NORMAL) {
      const bufferTailPage = Atomics.load(this.u32, (cb + CPB_TAIL_PAGE) >> 2);
      if (bufferTailPage !== tailPage && bufferTailPage !== nextPage) {
        this.rbHeadPageSet(newHead, nextPage, RB_PAGE_HEAD, RB_PAGE_NORMAL);
      }
    }
    if (type === RB_PAGE_HEAD) {
      if (this.rbHeadPageSet(nextPage, tailPage, RB_PAGE_UPDATE, RB_PAGE_NORMAL) !== RB_PAGE_UPDATE) {
        this.rbWarnOn(cb);
        return -1;
      }
    }
    return 0;
  }

  // rb_move_tail(): the event did not fit on the tail page
  private rbMoveTail(tb: number, cb: number, tailPage: number, tail: number, length: number, bsize: number): number {
    const commitPage = this.ld(cb + CPB_COMMIT_PAGE);
    const nextPage = this.rbNextPage(tailPage);
    if (nextPage === commitPage) {
      // the writer lapped the commit page
      this.inc64(cb + CPB_COMMIT_OVERRUN, 1);
      this.rbResetTail(cb, tailPage, tail, length, bsize);
      return 0;
    }
    if (this.rbIsHeadPage(nextPage, tailPage) === RB_PAGE_HEAD) {
      const readerPage = Atomics.load(this.u32, (cb + CPB_READER_PAGE) >> 2);
      if (commitPage !== readerPage) {
        if (!(this.ld(tb + TB_FLAGS) & RB_FL_OVERWRITE)) {
          // producer/consumer mode: the buffer is full, drop the new event
          this.inc64(cb + CPB_DROPPED_EVENTS, 1);
          this.rbResetTail(cb, tailPage, tail, length, bsize);
          return 0;
        }
        const ret = this.rbHandleHeadPage(cb, tailPage, nextPage);
        if (ret < 0) {
          this.rbResetTail(cb, tailPage, tail, length, bsize);
          return 0;
        }
        if (ret) {
          this.rbResetTail(cb, tailPage, tail, length, bsize);
          return EAGAIN;
        }
      } else if (commitPage !== tailPage) {
        // the commit is still on the reader page and the buffer wrapped around it
        this.inc64(cb + CPB_COMMIT_OVERRUN, 1);
        this.rbResetTail(cb, tailPage, tail, length, bsize);
        return 0;
      }
    }
    this.rbTailPageUpdate(cb, tailPage, nextPage);
    this.rbResetTail(cb, tailPage, tail, length, bsize);
    // commit what we have for now: the outermost writer moves the commit page to the new tail
    if (this.i32[(cb + CPB_COMMITTING) >> 2] === 1) this.rbSetCommitToWrite(cb);
    return EAGAIN;
  }

  // __rb_reserve_next(), on the writer's cache (see assembly/ring_buffer.ts for what is not modelled)
  private rbReserveNext(tb: number, cb: number, infoLength: number, abs: boolean): number {
    const w = this.wcWrite;
    const ts = this.traceClock();
    let length = infoLength;
    let delta = 0;
    let stamp = abs;
    let extend = false;
    if (abs) {
      delta = ts;
    } else if (w !== 0) {
      const after = this.wcWriteStamp;
      if (this.wcBeforeStamp !== after) {
        stamp = true;
        delta = ts;
        length += RB_LEN_TIME_EXTEND;
      } else {
        delta = ts - after;
        if (delta > TS_MASK) {
          extend = true;
          length += RB_LEN_TIME_EXTEND;
        }
      }
    }
    const write = w + length;
    if (write > this.wcBsize) {
      // the write index shoots past the page before rb_move_tail() cleans up
      this.wcWrite = write;
      this.wcFlush();
      const ret = this.rbMoveTail(tb, cb, this.wcTail, w, length, this.wcBsize);
      this.wcLoad(cb);
      return ret;
    }
    this.wcWrite = write;
    this.wcBeforeStamp = ts;
    this.wcWriteStamp = ts;
    let ev = this.wcData + w;
    // rb_update_event()
    if (stamp || extend) {
      ev = this.rbAddTimeStamp(ev, delta, stamp, w);
      length -= RB_LEN_TIME_EXTEND;
      delta = 0;
    } else if (w === 0) {
      delta = 0;
    }
    const payload = length - RB_EVNT_HDR_SIZE;
    const u32 = this.u32;
    if (payload > RB_MAX_SMALL_DATA) {
      u32[ev >> 2] = delta << TYPE_LEN_BITS;
      u32[(ev >> 2) + 1] = payload;
    } else {
      u32[ev >> 2] = ((payload + RB_ALIGNMENT - 1) >> 2) | (delta << TYPE_LEN_BITS);
    }
    this.wcPageEntries++;
    if (w === 0) this.st64(this.wcData - BDP_DATA + BDP_TIME_STAMP, ts);
    this.wcEntriesBytes += length + (stamp || extend ? RB_LEN_TIME_EXTEND : 0);
    return ev;
  }

  // rb_reserve_next_event()
  private rbReserveNextEvent(tb: number, cb: number, length: number): number {
    // rb_start_commit()
    this.wcCommitting++;
    let infoLength = rbCalculateEventLength(length);
    const abs = this.i32[(tb + TB_TIME_STAMP_ABS) >> 2] !== 0;
    if (abs) {
      infoLength += RB_LEN_TIME_EXTEND;
      if (infoLength > this.ld(tb + TB_MAX_DATA_SIZE)) {
        this.rbEndCommit(cb);
        return 0;
      }
    }
    let nrLoops = 0;
    for (;;) {
      if (++nrLoops > 1000) {
        this.rbWarnOn(cb);
        break;
      }
      const ev = this.rbReserveNext(tb, cb, infoLength, abs);
      if (ev === EAGAIN) continue;
      if (ev === 0) break;
      return ev;
    }
    this.rbEndCommit(cb);
    return 0;
  }

  // ring_buffer_lock_reserve(): the event's address in the SharedArrayBuffer, or 0
  lockReserve(length: number): number {
    const tb = this.ring.tb;
    if (Atomics.load(this.i32, (tb + TB_RECORD_DISABLED) >> 2) !== 0) return 0;
    const cpu = this.cpu;
    if ((Atomics.load(this.u32, (tb + TB_CPUMASK + ((cpu >>> 5) << 2)) >> 2) & (1 << (cpu & 31))) === 0) return 0;
    const cb = this.u32[(tb + TB_BUFFERS + (cpu << 2)) >> 2];
    if (cb === 0) return 0;
    if (Atomics.load(this.i32, (cb + CPB_RECORD_DISABLED) >> 2) !== 0) return 0;
    if (length > this.u32[(tb + TB_MAX_DATA_SIZE) >> 2]) return 0;
    this.wcEnsure(cb);
    if (this.traceRecursiveLock(cb)) return 0;
    const ev = this.rbReserveNextEvent(tb, cb, length);
    if (ev === 0) this.traceRecursiveUnlock();
    return ev;
  }

  // ring_buffer_unlock_commit()
  unlockCommit(): void {
    const tb = this.ring.tb;
    const cb = this.u32[(tb + TB_BUFFERS + (this.cpu << 2)) >> 2];
    this.wcEnsure(cb);
    // rb_commit()
    this.wcEntries++;
    this.rbEndCommit(cb);
    this.traceRecursiveUnlock();
  }

  // rb_event_data(): the payload of an event lockReserve() returned
  eventData(ev: number): number {
    if ((this.u32[ev >> 2] & 31) === RINGBUF_TYPE_TIME_EXTEND) ev += RB_LEN_TIME_EXTEND;
    return (this.u32[ev >> 2] & 31) !== 0 ? ev + RB_EVNT_HDR_SIZE : ev + RB_EVNT_HDR_SIZE + 4;
  }

  // ring_buffer_write(): false when the event was not recorded
  write(data: Uint8Array): boolean {
    const ev = this.lockReserve(data.byteLength);
    if (ev === 0) return false;
    this.u8.set(data, this.eventData(ev));
    this.unlockCommit();
    return true;
  }

  // The benchmark's hot loop (benchChunk() in assembly/workload.ts): n events of `size` bytes, the
  // first 16 holding the hit count and the CPU as two u64; returns the hits.
  benchChunk(size: number, n: number): number {
    const u32 = this.u32;
    let hits = 0;
    for (let i = 0; i < n; i++) {
      const ev = this.lockReserve(size);
      if (ev === 0) continue;
      const data = this.eventData(ev);
      if (size >= 16) {
        const j = data >> 2;
        u32[j] = hits;
        u32[j + 1] = 0;
        u32[j + 2] = this.cpu;
        u32[j + 3] = 0;
      } else {
        this.u8.fill(hits & 0xff, data, data + size);
      }
      this.unlockCommit();
      hits++;
    }
    return hits;
  }
}
