// The per-CPU lockless ring buffer of kernel/trace/ring_buffer.c: writers reserve and commit on the
// tail page of their own CPU's buffer, readers swap a private reader page with the head page, and
// overwrite mode pushes the head forward. Functions are named after, and follow, the kernel functions
// cited above them.
//
// Publication: the kernel's local_set of page->commit on every commit would be a sequentially
// consistent store here (a locked instruction on x86). Instead the outermost commit records the commit
// index in cpu_buffer (writer-private), and it reaches page->commit with an atomic store when the commit
// page moves on (every page boundary), when a reader asks (ATTN_PUBLISH), and when a write session ends.
import {
  TB_FLAGS, TB_RECORD_DISABLED, TB_SUBBUF_SIZE, TB_CLOCK, TB_TIME_STAMP_ABS, TB_MAX_DATA_SIZE, TB_CPUMASK,
  TB_BUFFERS, TB_VIEWS, RB_FL_OVERWRITE,
  CPB_CPU, CPB_BUFFER, CPB_NR_PAGES, CPB_PAGES, CPB_RECORD_DISABLED, CPB_CNT, CPB_PAGES_REMOVED,
  CPB_TAIL_PAGE, CPB_COMMIT_PAGE, CPB_CURRENT_CONTEXT, CPB_NEST, CPB_COMMITTING, CPB_COMMIT_INDEX,
  CPB_WRITE_STAMP, CPB_BEFORE_STAMP, CPB_ENTRIES, CPB_ENTRIES_BYTES, CPB_OVERRUN, CPB_COMMIT_OVERRUN,
  CPB_DROPPED_EVENTS, CPB_PAGES_TOUCHED, CPB_PAGES_LOST, CPB_RECURSION, CPB_NR_LOOPS_WARN,
  CPB_READER_LOCK, CPB_HEAD_PAGE, CPB_READER_PAGE, CPB_READ, CPB_READ_BYTES, CPB_LAST_OVERRUN,
  CPB_LOST_EVENTS, CPB_READ_STAMP, CPB_PAGES_READ,
  BP_NEXT, BP_PREV, BP_WRITE, BP_ENTRIES, BP_READ, BP_REAL_END, BP_PAGE,
  RB_PAGE_NORMAL, RB_PAGE_HEAD, RB_PAGE_UPDATE, RB_PAGE_MOVED, RB_FLAG_MASK, RB_WRITE_MASK,
  BDP_TIME_STAMP, BDP_COMMIT, BDP_DATA, RB_MISSED_EVENTS, RB_MISSED_STORED,
  RINGBUF_TYPE_DATA_TYPE_LEN_MAX, RINGBUF_TYPE_PADDING, RINGBUF_TYPE_TIME_EXTEND, RINGBUF_TYPE_TIME_STAMP,
  RB_EVNT_HDR_SIZE, RB_ALIGNMENT, RB_MAX_SMALL_DATA, RB_LEN_TIME_EXTEND, RB_LEN_TIME_STAMP, RB_EVNT_MIN_SIZE,
  TS_SHIFT, TS_MASK, TYPE_LEN_BITS, TYPE_LEN_MASK, RB_CTX_NORMAL, RB_CTX_TRANSITION,
  CPU_ATTENTION, CPU_PUBLISH_SEQ, CPU_IN_SESSION, CPU_DIRTY_COUNT, CPU_DIRTY, CPU_DIRTY_MAX, ATTN_PUBLISH, ATTN_PUBLISH_WAKE,
  ATTN_STOP,
  RD_TS, RD_LOST, RD_LENGTH, RD_TYPE_LEN, RD_DATA,
  IT_CPU_BUFFER, IT_HEAD_PAGE, IT_HEAD, IT_NEXT_EVENT, IT_CACHE_READER_PAGE, IT_CACHE_READ,
  IT_CACHE_PAGES_REMOVED, IT_MISSED_EVENTS, IT_READ_STAMP, IT_PAGE_STAMP, IT_SIZE,
  LAYOUT_BASE, H_TB_LIST, TBL_COUNT, TBL_ENTRIES, OOPS_LOCK_RESERVE, OOPS_ENTRIES,
  LOG_RB_WARN, RBW_NR_LOOPS, RBW_COMMIT_MAX_COUNT, RBW_TAIL_ON_READER, RBW_HEAD_PAGE_TYPE, RBW_NO_HEAD_PAGE,
  RBW_READER_LOOPS, RBW_READER_WAIT, RBW_READ_PAST_SIZE, RBW_PEEK_LOOPS, RBW_NULL_EVENT, RBW_BAD_TYPE, RBW_NOT_COMMITTING,
} from "./abi";
import { crashed, thisCpu, cpuDesc, cpuDescOf, contextLevel, nrCpuIds, weakView, logRecord, smpMb, kernelOops } from "./cpu";
import { traceClock } from "./clock";
import { copyBytes } from "./mem";

// ---------------------------------------------------------------------------------------------------
// small helpers

@inline function inc64(p: usize, off: usize, v: u64): void {
  store<u64>(p + off, load<u64>(p + off) + v);
}

// RB_WARN_ON(): a warning in the log, and the whole buffer stops recording
function rbWarnOn(cb: usize, check: u32): void {
  inc64(cb, CPB_NR_LOOPS_WARN, 1);
  logRecord(LOG_RB_WARN, check, load<u32>(cb, CPB_CPU), 0);
  atomic.add<i32>(load<u32>(cb, CPB_BUFFER) + TB_RECORD_DISABLED, 1);
}

@inline function rbListHead(p: u32): u32 {
  return p & ~RB_FLAG_MASK;
}

// rb_inc_page()
@inline function rbNextPage(bp: usize): usize {
  return rbListHead(atomic.load<u32>(bp, BP_NEXT));
}

@inline function dataPage(bp: usize): usize {
  return load<u32>(bp, BP_PAGE);
}

// rb_page_commit() / rb_page_size()
@inline function rbPageCommit(bp: usize): u32 {
  return atomic.load<u32>(dataPage(bp), BDP_COMMIT);
}

// rb_page_write()
@inline function rbPageWrite(bp: usize): u32 {
  return atomic.load<u32>(bp, BP_WRITE) & RB_WRITE_MASK;
}

@inline export function cpumaskTest(mask: usize, cpu: i32): bool {
  return (atomic.load<u32>(mask + (<usize>(cpu >>> 5) << 2)) & (1 << (cpu & 31))) != 0;
}

// buffer->buffers[cpu], as this CPU sees it: under the weak memory model through its view, which only
// a read barrier refreshes (smpMb)
@inline export function rbPerCpu(tb: usize, cpu: i32): usize {
  // a select rather than a branch: this is on the writer's hot path
  const view = load<u32>(tb, TB_VIEWS) + ((<usize>thisCpu * nrCpuIds + cpu) << 2);
  return load<u32>(select<usize>(view, tb + TB_BUFFERS + (<usize>cpu << 2), weakView));
}

// ---------------------------------------------------------------------------------------------------
// events: struct ring_buffer_event is a u32 {type_len:5, time_delta:27} and u32 array[]

@inline export function evTypeLen(ev: usize): u32 {
  return load<u32>(ev) & TYPE_LEN_MASK;
}

@inline export function evTimeDelta(ev: usize): u32 {
  return load<u32>(ev) >>> TYPE_LEN_BITS;
}

// rb_null_event()
@inline function rbNullEvent(ev: usize): bool {
  return evTypeLen(ev) == RINGBUF_TYPE_PADDING && evTimeDelta(ev) == 0;
}

// rb_calculate_event_length()
export function rbCalculateEventLength(length: u32): u32 {
  return calculateEventLength(length);
}

@inline function calculateEventLength(length: u32): u32 {
  if (length == 0) length++;
  if (length > <u32>RB_MAX_SMALL_DATA) length += 4;
  length += RB_EVNT_HDR_SIZE;
  length = (length + RB_ALIGNMENT - 1) & ~(RB_ALIGNMENT - 1);
  // a time extend must fit in the space of a discarded event: never exactly 12 bytes
  if (length == RB_LEN_TIME_EXTEND + RB_ALIGNMENT) length += RB_ALIGNMENT;
  return length;
}

// rb_event_data_length()
@inline function rbEventDataLength(ev: usize): u32 {
  const typeLen = evTypeLen(ev);
  const length = typeLen != 0 ? typeLen * RB_ALIGNMENT : load<u32>(ev, 4);
  return length + RB_EVNT_HDR_SIZE;
}

// rb_event_length(); 0 for a null event, whose length is undefined
export function rbEventLength(ev: usize): u32 {
  const typeLen = evTypeLen(ev);
  if (typeLen == RINGBUF_TYPE_PADDING) {
    if (rbNullEvent(ev)) return 0;
    return load<u32>(ev, 4) + RB_EVNT_HDR_SIZE;
  }
  if (typeLen == RINGBUF_TYPE_TIME_EXTEND) return RB_LEN_TIME_EXTEND;
  if (typeLen == RINGBUF_TYPE_TIME_STAMP) return RB_LEN_TIME_STAMP;
  return rbEventDataLength(ev);
}

// rb_event_ts_length(): a time extend and the event it belongs to always travel together
function rbEventTsLength(ev: usize): u32 {
  let len: u32 = 0;
  const typeLen = evTypeLen(ev);
  if (typeLen == RINGBUF_TYPE_TIME_EXTEND || typeLen == RINGBUF_TYPE_TIME_STAMP) {
    len = RB_LEN_TIME_EXTEND;
    ev += RB_LEN_TIME_EXTEND;
  }
  return len + rbEventLength(ev);
}

// ring_buffer_event_length(): the payload length
export function rbEventPayloadLength(ev: usize): u32 {
  const typeLen = evTypeLen(ev);
  let length = rbEventLength(ev);
  if (typeLen > <u32>RINGBUF_TYPE_DATA_TYPE_LEN_MAX) return length;
  length -= RB_EVNT_HDR_SIZE;
  if (length > <u32>(RB_MAX_SMALL_DATA + 4)) length -= 4;
  return length;
}

// rb_event_data(): skips a time extend, then the header (and array[0] when type_len is 0)
export function rbEventData(ev: usize): usize {
  return eventData(ev);
}

@inline export function eventData(ev: usize): usize {
  if (evTypeLen(ev) == RINGBUF_TYPE_TIME_EXTEND) ev += RB_LEN_TIME_EXTEND;
  return evTypeLen(ev) != 0 ? ev + RB_EVNT_HDR_SIZE : ev + RB_EVNT_HDR_SIZE + 4;
}

// rb_event_time_stamp()
@inline function rbEventTimeStamp(ev: usize): u64 {
  return (<u64>load<u32>(ev, 4) << TS_SHIFT) + <u64>evTimeDelta(ev);
}

const TS_MSB: u64 = 0xf8 << 56;

// rb_fix_abs_ts(): an absolute stamp only keeps 59 bits
@inline function rbFixAbsTs(abs: u64, saveTs: u64): u64 {
  if (saveTs & TS_MSB) {
    abs |= saveTs & TS_MSB;
    if (abs < saveTs) abs += <u64>1 << 59;
  }
  return abs;
}

// ---------------------------------------------------------------------------------------------------
// the HEAD flag protocol between writer and readers

// rb_is_head_page()
function rbIsHeadPage(page: usize, prev: usize): u32 {
  const val = atomic.load<u32>(prev, BP_NEXT);
  if (rbListHead(val) != page) return RB_PAGE_MOVED;
  return val & RB_FLAG_MASK;
}

// rb_is_reader_page(): the reader page is the one page not in the ring. The kernel asks whether its
// next page's prev points back; we ask whether its prev page's next does, which the reader's
// rb_head_page_replace() cmpxchg settles in one step (the kernel's test could see a page the reader
// just spliced in as "the reader page" until the reader fixed the next page's prev, a window a
// preempted reader thread here can hold open).
function rbIsReaderPage(page: usize): bool {
  return rbListHead(atomic.load<u32>(load<u32>(page, BP_PREV), BP_NEXT)) != page;
}

// rb_set_list_to_head()
@inline function rbSetListToHead(bp: usize): void {
  atomic.or<u32>(bp + BP_NEXT, RB_PAGE_HEAD);
}

// rb_head_page_set()
function rbHeadPageSet(head: usize, prev: usize, oldFlag: u32, newFlag: u32): u32 {
  const val = rbListHead(<u32>head);
  const ret = atomic.cmpxchg<u32>(prev + BP_NEXT, val | oldFlag, val | newFlag);
  if (rbListHead(ret) != val) return RB_PAGE_MOVED;
  return ret & RB_FLAG_MASK;
}

// rb_head_page_replace(): the reader's swap of its page with the head page
function rbHeadPageReplace(old: usize, neu: usize): bool {
  const prev = load<u32>(old, BP_PREV);
  const val = rbListHead(atomic.load<u32>(prev, BP_NEXT)) | RB_PAGE_HEAD;
  return atomic.cmpxchg<u32>(prev + BP_NEXT, val, <u32>neu) == val;
}

// rb_head_page_activate()
function rbHeadPageActivate(cb: usize): void {
  const head = load<u32>(cb, CPB_HEAD_PAGE);
  if (head == 0) return;
  rbSetListToHead(load<u32>(head, BP_PREV));
}

// rb_head_page_deactivate()
function rbHeadPageDeactivate(cb: usize): void {
  const rp = load<u32>(cb, CPB_READER_PAGE);
  atomic.and<u32>(rp + BP_NEXT, ~RB_FLAG_MASK);
  const first = load<u32>(cb, CPB_PAGES);
  let bp = first;
  do {
    atomic.and<u32>(bp + BP_NEXT, ~RB_FLAG_MASK);
    bp = rbNextPage(bp);
  } while (bp != first);
}

// rb_set_head_page(): find the page whose predecessor carries the HEAD flag
function rbSetHeadPage(cb: usize): usize {
  const head = load<u32>(cb, CPB_HEAD_PAGE);
  let page = head;
  for (let i = 0; i < 3; i++) {
    do {
      // any flag, or a prev that no longer points here (MOVED), counts: a writer may be moving the
      // head, and the reader's cmpxchg in rb_head_page_replace() then fails and it tries again
      if (rbIsHeadPage(page, load<u32>(page, BP_PREV)) != RB_PAGE_NORMAL) {
        store<u32>(cb, page, CPB_HEAD_PAGE);
        return page;
      }
      page = rbNextPage(page);
    } while (page != head);
  }
  rbWarnOn(cb, RBW_NO_HEAD_PAGE);
  return 0;
}

// ---------------------------------------------------------------------------------------------------
// setting up, resetting and resizing a per-CPU buffer (the host calls these with the writer quiescent)

// rb_init_page()
export function rbInitPage(page: usize): void {
  store<u64>(page, 0, BDP_TIME_STAMP);
  atomic.store<u64>(page, 0, BDP_COMMIT);
}

// rb_clear_buffer_page()
function rbClearBufferPage(bp: usize): void {
  store<u32>(bp, 0, BP_WRITE);
  store<u32>(bp, 0, BP_ENTRIES);
  rbInitPage(dataPage(bp));
  store<u32>(bp, 0, BP_READ);
}

// rb_allocate_cpu_buffer() after the allocation: `pages` holds nrPages linked buffer_pages
export function rbInitCpuBuffer(cb: usize, tb: usize, cpu: i32, first: usize, readerPage: usize): void {
  store<u32>(cb, cpu, CPB_CPU);
  store<u32>(cb, tb, CPB_BUFFER);
  store<u32>(cb, first, CPB_PAGES);
  store<u32>(cb, readerPage, CPB_READER_PAGE);
  store<u32>(readerPage, readerPage, BP_NEXT);
  store<u32>(readerPage, readerPage, BP_PREV);
  rbClearBufferPage(readerPage);
  store<u32>(cb, first, CPB_HEAD_PAGE);
  store<u32>(cb, first, CPB_TAIL_PAGE);
  store<u32>(cb, first, CPB_COMMIT_PAGE);
  rbHeadPageActivate(cb);
}

// reset_disabled_cpu_buffer(): rb_reset_cpu() under reader_lock (a reader on a CPU may be in the
// middle of a page; it holds the lock for a page copy, never across a wait)
export function rbResetCpu(cb: usize): void {
  readerLockWait(cb);
  rbResetCpuLocked(cb);
  readerUnlock(cb);
}

// rb_reset_cpu()
function rbResetCpuLocked(cb: usize): void {
  rbHeadPageDeactivate(cb);
  const first = load<u32>(cb, CPB_PAGES);
  store<u32>(cb, first, CPB_HEAD_PAGE);
  let bp = first;
  do {
    rbClearBufferPage(bp);
    store<u32>(bp, 0, BP_REAL_END);
    bp = rbNextPage(bp);
  } while (bp != first);
  atomic.store<u32>(cb, first, CPB_TAIL_PAGE);
  atomic.store<u32>(cb, first, CPB_COMMIT_PAGE);
  store<u32>(cb, 0, CPB_COMMIT_INDEX);
  const rp = load<u32>(cb, CPB_READER_PAGE);
  store<u32>(rp, rp, BP_NEXT);
  store<u32>(rp, rp, BP_PREV);
  rbClearBufferPage(rp);
  store<u32>(rp, 0, BP_REAL_END);
  store<u64>(cb, 0, CPB_ENTRIES_BYTES);
  store<u64>(cb, 0, CPB_OVERRUN);
  store<u64>(cb, 0, CPB_COMMIT_OVERRUN);
  store<u64>(cb, 0, CPB_DROPPED_EVENTS);
  store<u64>(cb, 0, CPB_ENTRIES);
  store<u32>(cb, 0, CPB_COMMITTING);
  store<u64>(cb, 0, CPB_PAGES_TOUCHED);
  store<u64>(cb, 0, CPB_PAGES_LOST);
  store<u64>(cb, 0, CPB_PAGES_READ);
  store<u64>(cb, 0, CPB_READ);
  store<u64>(cb, 0, CPB_READ_BYTES);
  store<u64>(cb, 0, CPB_WRITE_STAMP);
  store<u64>(cb, 0, CPB_BEFORE_STAMP);
  store<u64>(cb, 0, CPB_LOST_EVENTS);
  store<u64>(cb, 0, CPB_LAST_OVERRUN);
  store<u64>(cb, 0, CPB_READ_STAMP);
  rbHeadPageActivate(cb);
  store<u32>(cb, 0, CPB_PAGES_REMOVED);
  smpMb();
}

// rb_remove_pages(): unlink nrPages pages after the tail (the oldest data), counting what they held as
// overrun; their addresses go to `out` for the host to free. Returns the number removed. Like the
// kernel's, it holds reader_lock: readers on other threads never see the ring half changed.
export function rbRemovePages(cb: usize, nrPages: u32, out: usize): u32 {
  readerLockWait(cb);
  const n = rbRemovePagesLocked(cb, nrPages, out);
  readerUnlock(cb);
  return n;
}

function rbRemovePagesLocked(cb: usize, nrPages: u32, out: usize): u32 {
  let tailPage = load<u32>(cb, CPB_TAIL_PAGE);
  if (tailPage == load<u32>(cb, CPB_READER_PAGE)) tailPage = rbNextPage(tailPage);
  let toRemove: u32 = tailPage;
  const firstPage = rbNextPage(toRemove);
  let headBit: u32 = 0;
  for (let i: u32 = 0; i < nrPages; i++) {
    const next = atomic.load<u32>(rbListHead(toRemove), BP_NEXT);
    headBit |= next & RB_PAGE_HEAD;
    toRemove = next;
  }
  store<u32>(cb, load<u32>(cb, CPB_PAGES_REMOVED) + nrPages, CPB_PAGES_REMOVED);
  // the link from the last removed page keeps its flag: when the head is the first page kept, its
  // HEAD flag moves onto the tail page's new link (the kernel's next_page is the raw ->next)
  const nextLink = atomic.load<u32>(rbListHead(toRemove), BP_NEXT);
  headBit |= nextLink & RB_PAGE_HEAD;
  const nextPage = rbListHead(nextLink);
  atomic.store<u32>(tailPage, nextPage | headBit, BP_NEXT);
  store<u32>(nextPage, tailPage, BP_PREV);
  store<u32>(cb, nextPage, CPB_PAGES);
  store<u32>(cb, load<u32>(cb, CPB_CNT) + 1, CPB_CNT);
  if (headBit) store<u32>(cb, nextPage, CPB_HEAD_PAGE);
  const lastPage = rbListHead(toRemove);
  let page: usize = firstPage;
  let n: u32 = 0;
  while (true) {
    const next = rbNextPage(page);
    const entries = load<u32>(page, BP_ENTRIES);
    if (entries) {
      inc64(cb, CPB_OVERRUN, entries);
      store<u64>(cb, load<u64>(cb, CPB_ENTRIES_BYTES) - rbPageCommit(page), CPB_ENTRIES_BYTES);
      inc64(cb, CPB_PAGES_LOST, 1);
    }
    store<u32>(out + (n << 2), page);
    n++;
    if (page == lastPage) break;
    page = next;
  }
  store<u32>(cb, load<u32>(cb, CPB_NR_PAGES) - n, CPB_NR_PAGES);
  smpMb();
  return n;
}

// rb_insert_pages(): splice a chain of new pages (first..last, linked by the host) in before the head,
// under reader_lock
export function rbInsertPages(cb: usize, first: usize, last: usize, nrPages: u32): bool {
  readerLockWait(cb);
  const done = rbInsertPagesLocked(cb, first, last, nrPages);
  readerUnlock(cb);
  return done;
}

function rbInsertPagesLocked(cb: usize, first: usize, last: usize, nrPages: u32): bool {
  const head = rbSetHeadPage(cb);
  if (!head) return false;
  const prev = load<u32>(head, BP_PREV);
  const headWithBit = <u32>head | RB_PAGE_HEAD;
  atomic.store<u32>(last, headWithBit, BP_NEXT);
  store<u32>(first, prev, BP_PREV);
  if (atomic.cmpxchg<u32>(prev + BP_NEXT, headWithBit, <u32>first) != headWithBit) return false;
  store<u32>(head, last, BP_PREV);
  store<u32>(cb, load<u32>(cb, CPB_NR_PAGES) + nrPages, CPB_NR_PAGES);
  smpMb();
  return true;
}

// ---------------------------------------------------------------------------------------------------
// the writer (runs only on the CPU that owns the buffer)

// The writer's cache. The writer-side fields of the cpu_buffer this CPU last wrote to live in module
// globals (thread-local, like per-CPU data the kernel keeps in registers and L1): the fast path of
// reserve and commit touches shared memory only for the event itself and the checks readers and the
// host can change. The cache goes back to memory (wcFlush) before any slow path, at every publication,
// and is dropped (rbWriterFlush) at the end of a write session and at every RCU quiescent state, so
// the host's changes made after a grace period are never overwritten. Readers only ever rely on what
// was published, so they never see the cache.
let wcCb: usize = 0; // the cpu_buffer cached, or 0
let wcTb: usize = 0; // its trace_buffer
let wcTail: usize = 0; // cpu_buffer->tail_page
let wcCommitPage: usize = 0; // cpu_buffer->commit_page
let wcData: usize = 0; // tail_page's data area
let wcWrite: u32 = 0; // tail_page->write
let wcPageEntries: u32 = 0; // tail_page->entries
let wcCommitIndex: u32 = 0;
let wcCommitting: i32 = 0;
let wcContext: u32 = 0; // current_context
let wcNest: u32 = 0;
let wcWriteStamp: u64 = 0;
let wcBeforeStamp: u64 = 0;
let wcEntries: u64 = 0;
let wcEntriesBytes: u64 = 0;
let wcBsize: u32 = 0; // buffer->subbuf_size (changes only with the writer quiescent)
let wcClock: i32 = 0;

function wcFlush(): void {
  if (wcCb == 0) return;
  atomic.store<u32>(wcTail, wcWrite, BP_WRITE);
  wcSpill();
}

// the cache's fields but the write index back into the cpu_buffer and its tail page
function wcSpill(): void {
  const cb = wcCb;
  store<u32>(wcTail, wcPageEntries, BP_ENTRIES);
  store<u32>(cb, wcCommitIndex, CPB_COMMIT_INDEX);
  store<i32>(cb, wcCommitting, CPB_COMMITTING);
  store<u32>(cb, wcContext, CPB_CURRENT_CONTEXT);
  store<u32>(cb, wcNest, CPB_NEST);
  store<u64>(cb, wcWriteStamp, CPB_WRITE_STAMP);
  store<u64>(cb, wcBeforeStamp, CPB_BEFORE_STAMP);
  store<u64>(cb, wcEntries, CPB_ENTRIES);
  store<u64>(cb, wcEntriesBytes, CPB_ENTRIES_BYTES);
}

function wcLoad(cb: usize): void {
  const tb = load<u32>(cb, CPB_BUFFER);
  wcCb = cb;
  wcTb = tb;
  wcTail = atomic.load<u32>(cb, CPB_TAIL_PAGE);
  wcCommitPage = atomic.load<u32>(cb, CPB_COMMIT_PAGE);
  wcData = dataPage(wcTail) + BDP_DATA;
  wcWrite = atomic.load<u32>(wcTail, BP_WRITE);
  wcPageEntries = load<u32>(wcTail, BP_ENTRIES);
  wcCommitIndex = load<u32>(cb, CPB_COMMIT_INDEX);
  wcCommitting = load<i32>(cb, CPB_COMMITTING);
  wcContext = load<u32>(cb, CPB_CURRENT_CONTEXT);
  wcNest = load<u32>(cb, CPB_NEST);
  wcWriteStamp = load<u64>(cb, CPB_WRITE_STAMP);
  wcBeforeStamp = load<u64>(cb, CPB_BEFORE_STAMP);
  wcEntries = load<u64>(cb, CPB_ENTRIES);
  wcEntriesBytes = load<u64>(cb, CPB_ENTRIES_BYTES);
  wcBsize = load<u32>(tb, TB_SUBBUF_SIZE);
  wcClock = load<i32>(tb, TB_CLOCK);
}

// Write the cache back and drop it.
export function rbWriterFlush(): void {
  wcFlush();
  rbWriterDrop();
}

// Drop the cache without writing it back: for a writer that published it whole (rbPublishCommits)
// after its last event, or has lost its CPU to another writer.
export function rbWriterDrop(): void {
  wcCb = 0;
  wcTb = 0;
}

@inline function wcEnsure(cb: usize): void {
  if (cb != wcCb) {
    wcFlush();
    wcLoad(cb);
  }
}

// trace_recursive_lock()
@inline function traceRecursiveLock(cb: usize): bool {
  const val = wcContext;
  const nest = wcNest;
  let bit: u32 = <u32>(RB_CTX_NORMAL - contextLevel);
  if (val & (1 << (bit + nest))) {
    bit = RB_CTX_TRANSITION;
    if (val & (1 << (bit + nest))) {
      inc64(cb, CPB_RECURSION, 1);
      return true;
    }
  }
  wcContext = val | (1 << (bit + nest));
  return false;
}

// trace_recursive_unlock(): clears the innermost context's bit
@inline function traceRecursiveUnlock(): void {
  const val = wcContext;
  wcContext = val & (val - (1 << wcNest));
}

// The cpu_buffers this CPU committed to since it last published (see the header comment).
let lastDirty: usize = 0;

function markDirty(cb: usize): void {
  lastDirty = cb;
  const n = load<u32>(cpuDesc, CPU_DIRTY_COUNT);
  for (let i: u32 = 0; i < n; i++) {
    if (load<u32>(cpuDesc + CPU_DIRTY + (i << 2)) == cb) return;
  }
  if (n == CPU_DIRTY_MAX) {
    rbPublishAll();
    store<u32>(cpuDesc, cb, CPU_DIRTY);
    store<u32>(cpuDesc, 1, CPU_DIRTY_COUNT);
    return;
  }
  store<u32>(cpuDesc + CPU_DIRTY + (n << 2), cb);
  store<u32>(cpuDesc, n + 1, CPU_DIRTY_COUNT);
}

// Make every event committed so far visible: page->commit of each dirty buffer's commit page, then the
// sequence number (a sequentially consistent RMW, which also publishes the counters written before it).
// No wake-up here: a notify takes the engine's global futex lock, which a reader asking at every
// event would turn into contention; only a waiter that says so (ATTN_PUBLISH_WAKE) is woken.
export function rbPublishAll(): void {
  rbPublishCommits();
  atomic.add<i32>(cpuDesc + CPU_PUBLISH_SEQ, 1);
}

// The page->commit stores alone, for a writer no reader ever waits on (an attached writer, see
// writer.ts): being sequentially consistent, they publish the counters stored before them too.
export function rbPublishCommits(): void {
  // the write index too: the page->commit stores below publish it
  if (wcCb != 0) {
    store<u32>(wcTail, wcWrite, BP_WRITE);
    wcSpill();
  }
  const n = load<u32>(cpuDesc, CPU_DIRTY_COUNT);
  for (let i: u32 = 0; i < n; i++) {
    const cb = load<u32>(cpuDesc + CPU_DIRTY + (i << 2));
    atomic.store<u32>(dataPage(load<u32>(cb, CPB_COMMIT_PAGE)), load<u32>(cb, CPB_COMMIT_INDEX), BDP_COMMIT);
  }
  store<u32>(cpuDesc, 0, CPU_DIRTY_COUNT);
  lastDirty = 0;
}

// Set while ATTN_STOP was seen: long-running workloads poll it.
export let stopRequested: bool = false;

// A reader or the host wants this CPU's attention; called from the outermost commit.
export function cpuAttention(): void {
  const attention = atomic.load<i32>(cpuDesc, CPU_ATTENTION);
  if (attention & ATTN_PUBLISH) {
    atomic.and<i32>(cpuDesc + CPU_ATTENTION, ~(ATTN_PUBLISH | ATTN_PUBLISH_WAKE));
    rbPublishAll();
    if (attention & ATTN_PUBLISH_WAKE) atomic.notify(cpuDesc + CPU_PUBLISH_SEQ);
  }
  if (attention & ATTN_STOP) stopRequested = true;
}

export function sessionBegin(): void {
  stopRequested = false;
  atomic.store<i32>(cpuDesc, 1, CPU_IN_SESSION);
}

export function sessionEnd(): void {
  rbPublishAll();
  wcCb = 0;
  wcTb = 0;
  atomic.store<i32>(cpuDesc, 0, CPU_IN_SESSION);
  atomic.notify(cpuDesc + CPU_PUBLISH_SEQ);
}

// rb_set_commit_to_write(): only the outermost commit moves the commit page up to the tail
function rbSetCommitToWrite(cb: usize): void {
  let commitPage = load<u32>(cb, CPB_COMMIT_PAGE);
  const tailPage = load<u32>(cb, CPB_TAIL_PAGE);
  if (commitPage != tailPage) {
    let maxCount = load<u32>(cb, CPB_NR_PAGES) * 100;
    while (commitPage != tailPage) {
      if (--maxCount == 0) {
        rbWarnOn(cb, RBW_COMMIT_MAX_COUNT);
        return;
      }
      if (rbIsReaderPage(tailPage)) {
        rbWarnOn(cb, RBW_TAIL_ON_READER);
        return;
      }
      // a finished page: its commit is its write, published now
      atomic.store<u32>(dataPage(commitPage), rbPageWrite(commitPage), BDP_COMMIT);
      commitPage = rbNextPage(commitPage);
      atomic.store<u32>(cb, commitPage, CPB_COMMIT_PAGE);
    }
  }
  store<u32>(cb, load<u32>(tailPage, BP_WRITE) & RB_WRITE_MASK, CPB_COMMIT_INDEX);
}

// rb_end_commit(), on the writer's cache
@inline function rbEndCommit(cb: usize): void {
  const committing = wcCommitting;
  if (committing == 1) {
    if (wcCommitPage == wcTail) {
      wcCommitIndex = wcWrite;
    } else {
      wcFlush();
      rbSetCommitToWrite(cb);
      wcLoad(cb);
    }
    wcCommitting = 0;
    if (cb != lastDirty) markDirty(cb);
    if (atomic.load<i32>(cpuDesc, CPU_ATTENTION) != 0) cpuAttention();
  } else {
    if (committing <= 0) rbWarnOn(cb, RBW_NOT_COMMITTING);
    wcCommitting = committing - 1;
  }
}

// rb_add_time_stamp(): a time extend (or absolute stamp) in front of the event
@inline function rbAddTimeStamp(ev: usize, delta: u64, abs: bool, index: u32): usize {
  const typeLen: u32 = abs ? RINGBUF_TYPE_TIME_STAMP : RINGBUF_TYPE_TIME_EXTEND;
  if (abs || index != 0) {
    store<u32>(ev, typeLen | ((<u32>delta & TS_MASK) << TYPE_LEN_BITS));
    store<u32>(ev, <u32>(delta >> TS_SHIFT), 4);
  } else {
    store<u32>(ev, typeLen);
    store<u32>(ev, 0, 4);
  }
  return ev + RB_LEN_TIME_EXTEND;
}

// rb_reset_tail(): pad the rest of a page the event did not fit on
function rbResetTail(cb: usize, tailPage: usize, tail: u32, length: u32, bsize: u32): void {
  if (tail >= bsize) {
    if (tail == bsize) store<u32>(tailPage, 0, BP_REAL_END);
    atomic.store<u32>(tailPage, rbPageWrite(tailPage) - length, BP_WRITE);
    return;
  }
  const ev = dataPage(tailPage) + BDP_DATA + tail;
  store<u32>(tailPage, tail, BP_REAL_END);
  if (tail > bsize - RB_EVNT_MIN_SIZE) {
    // no room for any event: a null padding event marks the rest of the page
    store<u32>(ev, RINGBUF_TYPE_PADDING);
    atomic.store<u32>(tailPage, rbPageWrite(tailPage) - length, BP_WRITE);
    return;
  }
  // a discarded event up to the end of the page (time_delta must be non zero)
  store<u32>(ev, (bsize - tail) - RB_EVNT_HDR_SIZE, 4);
  store<u32>(ev, RINGBUF_TYPE_PADDING | (1 << TYPE_LEN_BITS));
  inc64(cb, CPB_ENTRIES_BYTES, bsize - tail);
  atomic.store<u32>(tailPage, rbPageWrite(tailPage) - ((tail + length) - bsize), BP_WRITE);
}

// rb_tail_page_update(); nested writers never interrupt a reserve here, so the interrupt counter
// (RB_WRITE_INTCNT) the kernel adds to write and entries is never needed
function rbTailPageUpdate(cb: usize, tailPage: usize, nextPage: usize): void {
  if (tailPage == load<u32>(cb, CPB_TAIL_PAGE)) {
    atomic.store<u32>(nextPage, 0, BP_WRITE);
    store<u32>(nextPage, 0, BP_ENTRIES);
    atomic.store<u32>(dataPage(nextPage), 0, BDP_COMMIT);
    atomic.store<u32>(cb, nextPage, CPB_TAIL_PAGE);
    inc64(cb, CPB_PAGES_TOUCHED, 1);
  }
}

// rb_handle_head_page(): overwrite mode pushes the head page forward; 0 done, 1 try again, -1 failed
function rbHandleHeadPage(cb: usize, tailPage: usize, nextPage: usize): i32 {
  const entries = load<u32>(nextPage, BP_ENTRIES);
  const type = rbHeadPageSet(nextPage, tailPage, RB_PAGE_HEAD, RB_PAGE_UPDATE);
  if (type == RB_PAGE_HEAD) {
    // ours to account for: the oldest page is lost
    inc64(cb, CPB_OVERRUN, entries);
    store<u64>(cb, load<u64>(cb, CPB_ENTRIES_BYTES) - rbPageCommit(nextPage), CPB_ENTRIES_BYTES);
    inc64(cb, CPB_PAGES_LOST, 1);
  } else if (type == RB_PAGE_UPDATE) {
    // an interrupted update: still more to do
  } else if (type == RB_PAGE_NORMAL || type == RB_PAGE_MOVED) {
    // already moved for us, or the reader swapped next_page out: try again
    return 1;
  } else {
    rbWarnOn(cb, RBW_HEAD_PAGE_TYPE);
    return -1;
  }
  const newHead = rbNextPage(nextPage);
  const ret = rbHeadPageSet(newHead, nextPage, RB_PAGE_NORMAL, RB_PAGE_HEAD);
  if (ret != RB_PAGE_HEAD && ret != RB_PAGE_NORMAL) {
    rbWarnOn(cb, RBW_HEAD_PAGE_TYPE);
    return -1;
  }
  if (ret == RB_PAGE_NORMAL) {
    const bufferTailPage = atomic.load<u32>(cb, CPB_TAIL_PAGE);
    if (bufferTailPage != tailPage && bufferTailPage != nextPage) {
      rbHeadPageSet(newHead, nextPage, RB_PAGE_HEAD, RB_PAGE_NORMAL);
    }
  }
  if (type == RB_PAGE_HEAD) {
    if (rbHeadPageSet(nextPage, tailPage, RB_PAGE_UPDATE, RB_PAGE_NORMAL) != RB_PAGE_UPDATE) {
      rbWarnOn(cb, RBW_HEAD_PAGE_TYPE);
      return -1;
    }
  }
  return 0;
}

const EAGAIN: usize = 1;

// rb_move_tail(): the event did not fit on the tail page
function rbMoveTail(tb: usize, cb: usize, tailPage: usize, tail: u32, length: u32, bsize: u32): usize {
  const commitPage = load<u32>(cb, CPB_COMMIT_PAGE);
  const nextPage = rbNextPage(tailPage);
  if (nextPage == commitPage) {
    // the writer lapped the commit page: an interrupt storm all the way around the buffer
    inc64(cb, CPB_COMMIT_OVERRUN, 1);
    rbResetTail(cb, tailPage, tail, length, bsize);
    return 0;
  }
  // HEAD, UPDATE, or MOVED (a reader just swapped next_page out): all count, as in the kernel's
  // `if (rb_is_head_page(next_page, &tail_page->list))`
  if (rbIsHeadPage(nextPage, tailPage) != RB_PAGE_NORMAL) {
    if (!rbIsReaderPage(commitPage)) {
      if (!(load<u32>(tb, TB_FLAGS) & RB_FL_OVERWRITE)) {
        // producer/consumer mode: the buffer is full, drop the new event
        inc64(cb, CPB_DROPPED_EVENTS, 1);
        rbResetTail(cb, tailPage, tail, length, bsize);
        return 0;
      }
      const ret = rbHandleHeadPage(cb, tailPage, nextPage);
      if (ret < 0) {
        rbResetTail(cb, tailPage, tail, length, bsize);
        return 0;
      }
      if (ret) {
        rbResetTail(cb, tailPage, tail, length, bsize);
        return EAGAIN;
      }
    } else if (commitPage != tailPage && commitPage == atomic.load<u32>(cb, CPB_READER_PAGE)) {
      // the commit is still on the reader page and the buffer wrapped around it
      inc64(cb, CPB_COMMIT_OVERRUN, 1);
      rbResetTail(cb, tailPage, tail, length, bsize);
      return 0;
    }
  }
  rbTailPageUpdate(cb, tailPage, nextPage);
  rbResetTail(cb, tailPage, tail, length, bsize);
  // commit what we have for now (rb_end_commit() then local_inc(committing)): the outermost writer
  // moves the commit page to the new tail
  if (load<i32>(cb, CPB_COMMITTING) == 1) rbSetCommitToWrite(cb);
  return EAGAIN;
}

// rb_update_event()'s header of a data event of `length` bytes (header included)
@inline function rbEventHeader(ev: usize, length: u32, delta: u32): void {
  const payload = length - RB_EVNT_HDR_SIZE;
  if (payload > <u32>RB_MAX_SMALL_DATA) {
    store<u32>(ev, delta << TYPE_LEN_BITS);
    store<u32>(ev, payload, 4);
  } else {
    store<u32>(ev, ((payload + RB_ALIGNMENT - 1) >> 2) | (delta << TYPE_LEN_BITS));
  }
}

// __rb_reserve_next(). Nested writers run only between a reserve and its commit, never inside a
// reserve, so the kernel's "interrupted between A and C" slow path cannot happen and is not modelled;
// before_stamp differs from write_stamp only after rb_try_to_discard() zeroed it, and then (as in the
// kernel) the next event carries a full time stamp (RB_ADD_STAMP_FORCE).
@inline function rbReserveNext(tb: usize, cb: usize, infoLength: u32, abs: bool): usize {
  const w = wcWrite;
  const ts = traceClock(wcClock);
  let length = infoLength;
  let delta: u64 = 0;
  let stamp = abs; // a full time stamp (type 31) goes in front
  let extend = false; // a time extend (type 30) goes in front
  if (abs) {
    delta = ts;
  } else if (w != 0) {
    const after = wcWriteStamp;
    if (wcBeforeStamp != after) {
      stamp = true;
      delta = ts;
      length += RB_LEN_TIME_EXTEND;
    } else {
      delta = ts - after;
      if (delta > <u64>TS_MASK) {
        extend = true;
        length += RB_LEN_TIME_EXTEND;
      }
    }
  }
  const write = w + length;
  if (write > wcBsize) {
    // the kernel's write index shoots past the page before rb_move_tail() cleans up
    wcWrite = write;
    wcFlush();
    const ret = rbMoveTail(tb, cb, wcTail, w, length, wcBsize);
    wcLoad(cb);
    return ret;
  }
  wcWrite = write;
  wcBeforeStamp = ts;
  wcWriteStamp = ts;
  let ev = wcData + w;
  // rb_update_event()
  if (stamp || extend) {
    ev = rbAddTimeStamp(ev, delta, stamp, w);
    length -= RB_LEN_TIME_EXTEND;
    delta = 0;
  } else if (w == 0) {
    delta = 0;
  }
  rbEventHeader(ev, length, <u32>delta);
  wcPageEntries++;
  if (w == 0) store<u64>(wcData - BDP_DATA, ts, BDP_TIME_STAMP);
  wcEntriesBytes += length + (stamp || extend ? RB_LEN_TIME_EXTEND : 0);
  return ev;
}

// rb_reserve_next_event()
@inline function rbReserveNextEvent(tb: usize, cb: usize, length: u32): usize {
  // rb_start_commit()
  wcCommitting++;
  let infoLength = calculateEventLength(length);
  const abs = load<i32>(tb, TB_TIME_STAMP_ABS) != 0;
  if (abs) {
    infoLength += RB_LEN_TIME_EXTEND;
    if (infoLength > load<u32>(tb, TB_MAX_DATA_SIZE)) {
      rbEndCommit(cb);
      return 0;
    }
  }
  let nrLoops = 0;
  while (true) {
    if (++nrLoops > 1000) {
      rbWarnOn(cb, RBW_NR_LOOPS);
      break;
    }
    const ev = rbReserveNext(tb, cb, infoLength, abs);
    if (ev == EAGAIN) continue;
    if (ev == 0) break;
    return ev;
  }
  rbEndCommit(cb);
  return 0;
}

// ring_buffer_lock_reserve()'s checks, in its order: the buffer's recording switch, the cpumask,
// buffers[cpu], the CPU's switch and the size. The cpu_buffer, or 0 when the event is refused.
@inline function rbReserveCheck(tb: usize, length: u32): usize {
  if (load<i32>(tb, TB_RECORD_DISABLED) != 0) return 0;
  const cpu = thisCpu;
  if ((load<u32>(tb + TB_CPUMASK + (<usize>(cpu >>> 5) << 2)) & (1 << (cpu & 31))) == 0) return 0;
  const cb = rbPerCpu(tb, cpu);
  if (cb == 0) {
    // the cpumask said yes but buffers[cpu] is still NULL to this CPU: the race of 20ad8b0888be
    kernelOops(OOPS_LOCK_RESERVE, CPB_RECORD_DISABLED);
    return 0;
  }
  if (load<i32>(cb, CPB_RECORD_DISABLED) != 0) return 0;
  if (length > load<u32>(tb, TB_MAX_DATA_SIZE)) return 0;
  return cb;
}

// ring_buffer_lock_reserve(): the event header, or 0 when the event cannot be recorded
export function rbLockReserve(tb: usize, length: u32): usize {
  return lockReserve(tb, length);
}

// The recording switches and the cpumask are plain loads, as the kernel's atomic_read() and
// cpumask_test_cpu() are: the host's changes reach this CPU through a sequentially consistent handshake
// before they matter (a grace period before a reset or resize, the mailbox before a CPU uses a new
// buffer), and a plain load costs less on this path than an atomic one.
@inline export function lockReserve(tb: usize, length: u32): usize {
  const cb = rbReserveCheck(tb, length);
  if (cb == 0) return 0;
  wcEnsure(cb);
  if (traceRecursiveLock(cb)) return 0;
  const ev = rbReserveNextEvent(tb, cb, length);
  if (ev == 0) traceRecursiveUnlock();
  return ev;
}

// ring_buffer_unlock_commit()
export function rbUnlockCommit(tb: usize): void {
  unlockCommit(tb);
}

@inline export function unlockCommit(tb: usize): void {
  // the kernel looks buffer->buffers[cpu] up again; the cpu_buffer the reserve used is in the cache
  const cb = tb == wcTb ? wcCb : rbPerCpu(tb, thisCpu);
  wcEnsure(cb);
  // rb_commit()
  wcEntries++;
  rbEndCommit(cb);
  traceRecursiveUnlock();
}

// What a run of events stores (rbWriteRun's `fill`, a constant at each call site, so the other case
// folds away): the benchmark's payload (its event count and CPU in the first 16 bytes), or records of
// [u32 length][payload, padded to 4 bytes] copied in from `src` (ring_buffer_write).
export const RUN_FILL_BENCH = 0;
export const RUN_FILL_COPY = 1;

@inline export function runFill(ev: usize, fill: i32, length: u32, from: usize, n: u32): void {
  const data = eventData(ev);
  if (fill == RUN_FILL_COPY) {
    copyBytes(data, from, length);
  } else if (length >= 16) {
    store<u64>(data, <u64>n);
    store<u64>(data, <u64>thisCpu, 8);
  } else {
    memory.fill(data, <u8>n, length);
  }
}

// ring_buffer_lock_reserve() + ring_buffer_unlock_commit() for a run of `n` events written by one loop
// on this CPU (the benchmark's loop, a batch from JavaScript), with the same checks and bookkeeping per
// event. The difference is where the writer's hot state lives: V8 makes every module-global access a
// load or a store, so for the length of the run the write index, stamp, counters and recursion bits
// stay in locals (registers). Whatever the common case does not cover (the first event of the run, a
// page boundary, a time extend or absolute stamp, an event refused or recursing, an outer event still
// open) writes the locals back to the cache and takes the per-event path for that event; a reader's
// attention is served with the locals written back. Returns the number of events recorded.
@inline export function rbWriteRun(tb: usize, size: u32, n: u32, fill: i32, src: usize): u32 {
  let hits: u32 = 0;
  let cached = false; // the locals below hold the cache of cpu_buffer `cb`
  let cb: usize = 0;
  let data: usize = 0;
  let bsize: u32 = 0;
  let clock: i32 = 0;
  let mask: u32 = 0; // this context's recursion bit
  let unlock: u32 = 0; // what trace_recursive_unlock() subtracts
  let write: u32 = 0;
  let pageEntries: u32 = 0;
  let context: u32 = 0;
  let stamp: u64 = 0; // write_stamp == before_stamp while cached
  let entries: u64 = 0;
  let bytes: u64 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const length = fill == RUN_FILL_COPY ? load<u32>(src) : size;
    const from = src + 4;
    if (fill == RUN_FILL_COPY) src += 4 + ((length + 3) & ~3);
    const c = rbReserveCheck(tb, length);
    if (c == 0) continue;
    const len = calculateEventLength(length);
    // room for a time extend too, so that the clock is read only for an event written here
    if (cached && c == cb && (context & mask) == 0 && load<i32>(tb, TB_TIME_STAMP_ABS) == 0 && write + len + RB_LEN_TIME_EXTEND <= bsize) {
      // trace_recursive_lock(), __rb_reserve_next(), the payload, rb_commit(), rb_end_commit() and
      // trace_recursive_unlock() of an event in the middle of a page
      context |= mask;
      const ts = traceClock(clock);
      let delta = ts - stamp;
      let ev = data + write;
      let total = len;
      if (delta > <u64>TS_MASK) {
        ev = rbAddTimeStamp(ev, delta, false, write);
        delta = 0;
        total += RB_LEN_TIME_EXTEND;
      }
      write += total;
      stamp = ts;
      rbEventHeader(ev, len, <u32>delta);
      pageEntries++;
      bytes += total;
      runFill(ev, fill, length, from, hits);
      entries++;
      context &= context - unlock;
      hits++;
      if (atomic.load<i32>(cpuDesc, CPU_ATTENTION) != 0) {
        runSpill(write, pageEntries, context, stamp, entries, bytes);
        cpuAttention();
        // a publication empties the dirty list: the next commits must put this buffer back on it
        if (cb != lastDirty) markDirty(cb);
      }
      continue;
    }
    if (cached) runSpill(write, pageEntries, context, stamp, entries, bytes);
    cached = false;
    const ev = lockReserve(tb, length);
    if (ev != 0) {
      runFill(ev, fill, length, from, hits);
      unlockCommit(tb);
      hits++;
    }
    // cache the state again if this CPU's writer is between events on a page it commits to. Not at the
    // top of the loop (which would let a run's first event start from the cache): measured, that
    // placement cost the loop 16 % (8.85 -> 10.3 ns/event) for 7 ns per Writer.write.
    if (wcCb == c && wcCommitting == 0 && wcWrite != 0 && wcBeforeStamp == wcWriteStamp && wcCommitPage == wcTail) {
      cached = true;
      cb = c;
      if (cb != lastDirty) markDirty(cb);
      data = wcData;
      bsize = wcBsize;
      clock = wcClock;
      mask = 1 << (<u32>(RB_CTX_NORMAL - contextLevel) + wcNest);
      unlock = 1 << wcNest;
      write = wcWrite;
      pageEntries = wcPageEntries;
      context = wcContext;
      stamp = wcWriteStamp;
      entries = wcEntries;
      bytes = wcEntriesBytes;
    }
  }
  if (cached) runSpill(write, pageEntries, context, stamp, entries, bytes);
  return hits;
}

// rbWriteRun's locals back into the writer's cache; the commit index follows the write index
// (the run commits every event it reserves, on the page it writes)
@inline function runSpill(write: u32, pageEntries: u32, context: u32, stamp: u64, entries: u64, bytes: u64): void {
  wcWrite = write;
  wcCommitIndex = write;
  wcPageEntries = pageEntries;
  wcContext = context;
  wcWriteStamp = stamp;
  wcBeforeStamp = stamp;
  wcEntries = entries;
  wcEntriesBytes = bytes;
}

// rb_decrement_entry(): the event's page loses one entry
function rbDecrementEntry(cb: usize, ev: usize): void {
  const tailPage = load<u32>(cb, CPB_TAIL_PAGE);
  const page = dataPage(tailPage);
  if (ev >= page && ev < page + BDP_DATA + load<u32>(load<u32>(cb, CPB_BUFFER), TB_SUBBUF_SIZE)) {
    store<u32>(tailPage, load<u32>(tailPage, BP_ENTRIES) - 1, BP_ENTRIES);
    return;
  }
  // the event is on an earlier page (a nested writer moved the tail): search back from the tail
  let bp = load<u32>(tailPage, BP_PREV);
  const start = bp;
  do {
    const p = dataPage(bp);
    if (ev >= p && ev < p + BDP_DATA + load<u32>(load<u32>(cb, CPB_BUFFER), TB_SUBBUF_SIZE)) {
      store<u32>(bp, load<u32>(bp, BP_ENTRIES) - 1, BP_ENTRIES);
      return;
    }
    bp = load<u32>(bp, BP_PREV);
  } while (bp != start);
}

// rb_event_discard()
function rbEventDiscard(ev: usize): void {
  if (evTypeLen(ev) == RINGBUF_TYPE_TIME_EXTEND) ev += RB_LEN_TIME_EXTEND;
  const length = rbEventDataLength(ev) - RB_EVNT_HDR_SIZE;
  let delta = evTimeDelta(ev);
  if (delta == 0) delta = 1;
  store<u32>(ev, length, 4);
  store<u32>(ev, RINGBUF_TYPE_PADDING | (delta << TYPE_LEN_BITS));
}

// rb_try_to_discard(): give the space back if the event is the last one on the tail page
function rbTryToDiscard(cb: usize, ev: usize): bool {
  const tailPage = load<u32>(cb, CPB_TAIL_PAGE);
  const base = dataPage(tailPage) + BDP_DATA;
  if (ev < base) return false;
  const eventLength = rbEventLength(ev);
  const index = <u32>(ev - base);
  const write = load<u32>(tailPage, BP_WRITE);
  if ((write & RB_WRITE_MASK) != index + eventLength) return false;
  store<u32>(tailPage, write - eventLength, BP_WRITE);
  store<u64>(cb, load<u64>(cb, CPB_ENTRIES_BYTES) - eventLength, CPB_ENTRIES_BYTES);
  // before_stamp != write_stamp: the next event carries a full time stamp
  store<u64>(cb, 0, CPB_BEFORE_STAMP);
  return true;
}

// ring_buffer_discard_commit(): `ev` is what rbLockReserve returned
export function rbDiscardCommit(tb: usize, ev: usize): void {
  const cb = rbPerCpu(tb, thisCpu);
  wcEnsure(cb);
  wcFlush();
  rbEventDiscard(ev);
  rbDecrementEntry(cb, ev);
  rbTryToDiscard(cb, ev);
  wcLoad(cb);
  rbEndCommit(cb);
  traceRecursiveUnlock();
}

// ring_buffer_write(): reserve, copy, commit; 0 on success, -16 (EBUSY) when it cannot be recorded
export function rbWrite(tb: usize, length: u32, src: usize): i32 {
  const ev = rbLockReserve(tb, length);
  if (ev == 0) return -16;
  copyBytes(rbEventData(ev), src, length);
  rbUnlockCommit(tb);
  return 0;
}

// ---------------------------------------------------------------------------------------------------
// readers (any thread; serialised per CPU buffer by reader_lock)

// raw_spin_lock(&cpu_buffer->reader_lock): a futex-style lock in shared memory
// The reader lock this instance holds, given back if its work traps (rbTrapRecover). A JavaScript
// reader holds it across a read and the copy of its result (rbReaderLock), so it nests.
let heldReaderLock: usize = 0;
let readerLockDepth: i32 = 0;

// How many times a reader that never waits (the host's) tries a reader lock a CPU holds. A CPU holds
// it for one page copy, but its thread can be descheduled meanwhile, for as long as the OS likes: the
// host does not sleep on it, it gives up, and its read finds nothing this time, as if the other reader
// had taken it (that reader consumes concurrently anyway).
const NOWAIT_LOCK_TRIES = 10000;

// A reader's lock: false only for a reader that never waits, when the lock stayed held.
function readerLock(cb: usize): bool {
  return readerLockFor(cb, readerWaitLoops != 0);
}

// The lock for a change of the CPU buffer (reset, resize, swap): waits, also on the host.
function readerLockWait(cb: usize): void {
  readerLockFor(cb, true);
}

function readerLockFor(cb: usize, wait: bool): bool {
  if (heldReaderLock == cb) {
    readerLockDepth++;
    return true;
  }
  const p = cb + CPB_READER_LOCK;
  let c = atomic.cmpxchg<i32>(p, 0, 1);
  if (c != 0 && !wait) {
    for (let i = 0; i < NOWAIT_LOCK_TRIES && c != 0; i++) c = atomic.cmpxchg<i32>(p, 0, 1);
    if (c != 0) return false;
  }
  if (c != 0) {
    if (c != 2) c = atomic.xchg<i32>(p, 2);
    while (c != 0) {
      memory.atomic.wait32(p, 2, -1);
      c = atomic.xchg<i32>(p, 2);
    }
  }
  heldReaderLock = cb;
  readerLockDepth = 1;
  return true;
}

function readerUnlock(cb: usize): void {
  if (--readerLockDepth > 0) return;
  heldReaderLock = 0;
  const p = cb + CPB_READER_LOCK;
  if (atomic.sub<i32>(p, 1) != 1) {
    atomic.store<i32>(p, 0);
    atomic.notify(p, 1);
  }
}

// The reader lock of `cb` for a JavaScript reader: held from before a read (rbConsume, rbReadPage ...
// into the CPU buffer's spare page, which nest inside it) until its result is copied out.
// false when the host, which never waits on a reader on a CPU, found it held: nothing is read this time.
export function rbReaderLock(cb: usize): bool {
  return readerLock(cb);
}

// The same for a change of the CPU buffer (the sub-buffer swap), which waits for the reader's page copy.
export function rbReaderLockWait(cb: usize): void {
  readerLockWait(cb);
}

// The CPU buffer a read works on: the one whose reader_lock this instance holds already (a JavaScript
// reader took buffers[cpu] once and locked it, as the kernel's readers take cpu_buffer once: a snapshot
// swap meanwhile does not move its read), else buffers[cpu].
function readerCpuBuffer(tb: usize, cpu: i32): usize {
  return heldReaderLock != 0 ? heldReaderLock : rbPerCpu(tb, cpu);
}

// A no-op unless this instance holds it (a trap in the read gave it back already: rbTrapRecover)
export function rbReaderUnlock(cb: usize): void {
  if (heldReaderLock == cb) readerUnlock(cb);
}

// Ask the CPU that owns `cb` to publish what it has committed. Never waits: a reader reads what is
// published (the kernel's readers never wait on a writer beyond one event's commit), and the host that
// wants more waits asynchronously for CPU_PUBLISH_SEQ to move (Machine.publish). The writer answers at
// its next outermost commit or quiescent point.
export function rbRequestPublish(cb: usize): void {
  const desc = cpuDescOf(load<i32>(cb, CPB_CPU));
  if (desc == cpuDesc) {
    rbPublishAll();
    return;
  }
  if (atomic.load<i32>(desc, CPU_IN_SESSION) != 0) atomic.or<i32>(desc + CPU_ATTENTION, ATTN_PUBLISH);
}

// After a trap in this instance's work: give back the reader lock it held and leave the write session
// without publishing (the writer's cache may be half updated; what was published stays readable).
export function rbTrapRecover(): void {
  if (heldReaderLock != 0) {
    readerLockDepth = 1;
    readerUnlock(heldReaderLock);
  }
  writerMoving = 0;
  wcCb = 0;
  wcTb = 0;
  lastDirty = 0;
  if (cpuDesc != 0) {
    store<u32>(cpuDesc, 0, CPU_DIRTY_COUNT);
    atomic.store<i32>(cpuDesc, 0, CPU_IN_SESSION);
    atomic.notify(cpuDesc + CPU_PUBLISH_SEQ);
  }
}

// rb_num_of_entries()
function rbNumOfEntries(cb: usize): u64 {
  return atomic.load<u64>(cb, CPB_ENTRIES) - (atomic.load<u64>(cb, CPB_OVERRUN) + load<u64>(cb, CPB_READ));
}

const READER_WAIT_LOOPS = 20000;

// How long a reader in this instance waits for a writer that is past the end of the reader page: a CPU
// waits like the kernel's USECS_WAIT, but the host never does. A writing thread can be descheduled in
// the middle of moving its tail (a kernel writer cannot: preemption is off). The host's reader goes on
// without waiting: it only reads up to the page's published commit, which the writer's move leaves
// alone (the padding it adds lies beyond it), and a page the writer is still on is the commit page, so
// read_page copies from it rather than swapping it out. A reader that never waits does not sleep on
// another reader's lock either (readerLock).
let readerWaitLoops: i32 = READER_WAIT_LOOPS;

export function rbReaderWait(wait: bool): void {
  readerWaitLoops = wait ? READER_WAIT_LOOPS : 0;
}

// The reader page on which rb_get_reader_page() found a writer past the end. The kernel's reader waits
// for it holding reader_lock; a reader here waits with the lock dropped and then starts over, so no
// other reader of the CPU buffer (the host's, which never waits on a writer) waits behind it for the
// whole of a descheduled writer's move.
let writerMoving: usize = 0;

// Wait a little for the writer on `writerMoving`, the reader lock not held; false (and RB_WARN_ON, like
// the kernel's nr_loops == USECS_WAIT) once `waits` reached the bound.
function rbWaitForWriter(cb: usize, waits: i32): bool {
  const page = writerMoving;
  writerMoving = 0;
  if (waits >= readerWaitLoops) {
    rbWarnOn(cb, RBW_READER_WAIT);
    return false;
  }
  memory.atomic.wait32(page + BP_WRITE, atomic.load<u32>(page, BP_WRITE), 1000);
  return true;
}

// rb_get_reader_page(). `entry`: the first call of a reader's locked section, which may stop at a writer
// past the end of the page (0, with writerMoving set); later calls of the same section go on.
function rbGetReaderPage(cb: usize, entry: bool): usize {
  let reader: usize = 0;
  let nrLoops = 0;
  while (true) {
    if (++nrLoops > 3) {
      rbWarnOn(cb, RBW_READER_LOOPS);
      reader = 0;
      break;
    }
    reader = load<u32>(cb, CPB_READER_PAGE);
    const size = rbPageCommit(reader);
    const read = load<u32>(reader, BP_READ);
    if (read < size) break;
    if (read > size) {
      rbWarnOn(cb, RBW_READ_PAST_SIZE);
      break;
    }
    reader = 0;
    // caught up with the writer
    if (atomic.load<u32>(cb, CPB_COMMIT_PAGE) == load<u32>(cb, CPB_READER_PAGE)) break;
    if (rbNumOfEntries(cb) == 0) break;
    const rp = load<u32>(cb, CPB_READER_PAGE);
    store<u32>(rp, 0, BP_WRITE);
    store<u32>(rp, 0, BP_ENTRIES);
    atomic.store<u32>(dataPage(rp), 0, BDP_COMMIT);
    store<u32>(rp, 0, BP_REAL_END);
    let overwrite: u64 = 0;
    // splice the empty reader page into the ring in place of the head page
    while (true) {
      reader = rbSetHeadPage(cb);
      if (reader == 0) break;
      store<u32>(rp, rbListHead(atomic.load<u32>(reader, BP_NEXT)), BP_NEXT);
      store<u32>(rp, load<u32>(reader, BP_PREV), BP_PREV);
      store<u32>(cb, load<u32>(reader, BP_PREV), CPB_PAGES);
      rbSetListToHead(rp);
      smpMb();
      overwrite = atomic.load<u64>(cb, CPB_OVERRUN);
      if (rbHeadPageReplace(reader, rp)) break;
    }
    if (reader == 0) break;
    store<u32>(rbListHead(atomic.load<u32>(reader, BP_NEXT)), rp, BP_PREV);
    store<u32>(cb, rbNextPage(load<u32>(cb, CPB_HEAD_PAGE)), CPB_HEAD_PAGE);
    inc64(cb, CPB_PAGES_READ, 1);
    atomic.store<u32>(cb, reader, CPB_READER_PAGE);
    store<u32>(reader, 0, BP_READ);
    const lastOverrun = load<u64>(cb, CPB_LAST_OVERRUN);
    if (overwrite != lastOverrun) {
      store<u64>(cb, overwrite - lastOverrun, CPB_LOST_EVENTS);
      store<u64>(cb, overwrite, CPB_LAST_OVERRUN);
    }
  }
  if (reader != 0 && load<u32>(reader, BP_READ) == 0) {
    store<u64>(cb, load<u64>(dataPage(reader), BDP_TIME_STAMP), CPB_READ_STAMP);
  }
  // a writer past the end of the page is still moving to the next one: the caller waits for it, but
  // not forever (the kernel's USECS_WAIT of a second; each wait here is at least a microsecond)
  if (entry && reader != 0 && readerWaitLoops != 0 && rbPageWrite(reader) > load<u32>(load<u32>(cb, CPB_BUFFER), TB_SUBBUF_SIZE)) {
    writerMoving = reader;
    return 0;
  }
  return reader;
}

// rb_reader_event()
@inline function rbReaderEvent(cb: usize): usize {
  const rp = load<u32>(cb, CPB_READER_PAGE);
  return dataPage(rp) + BDP_DATA + load<u32>(rp, BP_READ);
}

// rb_update_read_stamp()
function rbUpdateReadStamp(cb: usize, ev: usize): void {
  const typeLen = evTypeLen(ev);
  if (typeLen == RINGBUF_TYPE_PADDING) return;
  if (typeLen == RINGBUF_TYPE_TIME_EXTEND) {
    inc64(cb, CPB_READ_STAMP, rbEventTimeStamp(ev));
  } else if (typeLen == RINGBUF_TYPE_TIME_STAMP) {
    store<u64>(cb, rbFixAbsTs(rbEventTimeStamp(ev), load<u64>(cb, CPB_READ_STAMP)), CPB_READ_STAMP);
  } else {
    inc64(cb, CPB_READ_STAMP, evTimeDelta(ev));
  }
}

// rb_advance_reader()
function rbAdvanceReader(cb: usize): void {
  const reader = rbGetReaderPage(cb, false);
  if (reader == 0) return;
  const ev = rbReaderEvent(cb);
  if (evTypeLen(ev) <= <u32>RINGBUF_TYPE_DATA_TYPE_LEN_MAX) inc64(cb, CPB_READ, 1);
  rbUpdateReadStamp(cb, ev);
  const length = rbEventLength(ev);
  store<u32>(reader, load<u32>(reader, BP_READ) + length, BP_READ);
  inc64(cb, CPB_READ_BYTES, length);
}

// results of rb_buffer_peek() besides the event
let peekTs: u64 = 0;
let peekLost: u64 = 0;

// rb_buffer_peek()
function rbBufferPeek(cb: usize): usize {
  peekTs = 0;
  let nrLoops = 0;
  while (true) {
    if (++nrLoops > 2) {
      rbWarnOn(cb, RBW_PEEK_LOOPS);
      return 0;
    }
    const reader = rbGetReaderPage(cb, nrLoops == 1);
    if (reader == 0) return 0;
    const ev = rbReaderEvent(cb);
    const typeLen = evTypeLen(ev);
    if (typeLen == RINGBUF_TYPE_PADDING) {
      if (rbNullEvent(ev)) rbWarnOn(cb, RBW_NULL_EVENT);
      return ev;
    }
    if (typeLen == RINGBUF_TYPE_TIME_EXTEND) {
      rbAdvanceReader(cb);
      continue;
    }
    if (typeLen == RINGBUF_TYPE_TIME_STAMP) {
      peekTs = rbFixAbsTs(rbEventTimeStamp(ev), load<u64>(dataPage(reader), BDP_TIME_STAMP));
      rbAdvanceReader(cb);
      continue;
    }
    if (peekTs == 0) peekTs = load<u64>(cb, CPB_READ_STAMP) + evTimeDelta(ev);
    peekLost = load<u64>(cb, CPB_LOST_EVENTS);
    return ev;
  }
  return 0;
}

// Copy an event into a reader record: stamp, lost events, payload length and up to `cap` bytes.
function copyOut(ev: usize, ts: u64, lost: u64, out: usize, cap: u32): void {
  const length = rbEventPayloadLength(ev);
  store<u64>(out, ts, RD_TS);
  store<u64>(out, lost, RD_LOST);
  store<u32>(out, length, RD_LENGTH);
  store<u32>(out, evTypeLen(ev), RD_TYPE_LEN);
  copyBytes(out + RD_DATA, rbEventData(ev), length < cap ? length : cap);
}

// ring_buffer_consume(): 1 and the event in `out`, or 0 when the buffer is empty
export function rbConsume(tb: usize, cpu: i32, out: usize, cap: u32): i32 {
  const cb = readerCpuBuffer(tb, cpu);
  if (cb == 0) return 0;
  let waits = 0;
  while (true) {
    if (!readerLock(cb)) return 0;
    const ev = rbBufferPeek(cb);
    if (ev != 0) {
      if (evTypeLen(ev) != RINGBUF_TYPE_PADDING) copyOut(ev, peekTs, peekLost, out, cap);
      store<u64>(cb, 0, CPB_LOST_EVENTS);
      rbAdvanceReader(cb);
    }
    readerUnlock(cb);
    if (ev == 0 && writerMoving != 0 && rbWaitForWriter(cb, waits++)) continue;
    if (ev == 0) return 0;
    if (evTypeLen(ev) != RINGBUF_TYPE_PADDING) return 1;
  }
  return 0;
}

// ring_buffer_peek(): like consume, without consuming
export function rbPeek(tb: usize, cpu: i32, out: usize, cap: u32): i32 {
  const cb = readerCpuBuffer(tb, cpu);
  if (cb == 0) return 0;
  let waits = 0;
  while (true) {
    if (!readerLock(cb)) return 0;
    const ev = rbBufferPeek(cb);
    const padding = ev != 0 && evTypeLen(ev) == RINGBUF_TYPE_PADDING;
    if (ev != 0 && !padding) copyOut(ev, peekTs, peekLost, out, cap);
    if (padding) rbAdvanceReader(cb);
    readerUnlock(cb);
    if (ev == 0 && writerMoving != 0 && rbWaitForWriter(cb, waits++)) continue;
    if (ev == 0) return 0;
    if (!padding) return 1;
  }
  return 0;
}

// rb_per_cpu_empty()
function rbPerCpuEmpty(cb: usize): bool {
  const reader = load<u32>(cb, CPB_READER_PAGE);
  const head = rbSetHeadPage(cb);
  const commit = atomic.load<u32>(cb, CPB_COMMIT_PAGE);
  if (head == 0) return true;
  if (load<u32>(reader, BP_READ) != rbPageCommit(reader)) return false;
  if (commit == reader) return true;
  if (commit != head) return false;
  return rbPageCommit(commit) == 0;
}

export function rbEmptyCpu(tb: usize, cpu: i32): bool {
  const cb = rbPerCpu(tb, cpu);
  if (cb == 0) return true;
  if (!readerLock(cb)) return true;
  const empty = rbPerCpuEmpty(cb);
  readerUnlock(cb);
  return empty;
}

// ring_buffer_oldest_event_ts()
export function rbOldestEventTs(tb: usize, cpu: i32): u64 {
  const cb = rbPerCpu(tb, cpu);
  if (cb == 0) return 0;
  if (!readerLock(cb)) return 0;
  let bp: usize;
  if (atomic.load<u32>(cb, CPB_TAIL_PAGE) == load<u32>(cb, CPB_READER_PAGE)) bp = load<u32>(cb, CPB_READER_PAGE);
  else bp = rbSetHeadPage(cb);
  const ts = bp != 0 ? load<u64>(dataPage(bp), BDP_TIME_STAMP) : 0;
  readerUnlock(cb);
  return ts;
}

// ring_buffer_read_page(): fill the caller's spare page (its address lives at `slot`, since a whole
// reader page may be swapped in for it) with events from `cpu`. Returns the offset of the first
// unread byte in the page handed back, or -1 when there was nothing to read.
export function rbReadPage(tb: usize, cpu: i32, slot: usize, len: u32, full: bool): i32 {
  const cb = readerCpuBuffer(tb, cpu);
  if (cb == 0) return -1;
  const bsize = load<u32>(tb, TB_SUBBUF_SIZE);
  let bpage = load<u32>(slot);
  let ret: i32 = -1;
  if (len <= <u32>BDP_DATA) return -1;
  len -= BDP_DATA;
  let reader: usize = 0;
  for (let waits = 0; ; waits++) {
    if (!readerLock(cb)) return -1;
    reader = rbGetReaderPage(cb, true);
    if (reader != 0) break;
    readerUnlock(cb);
    if (writerMoving == 0 || !rbWaitForWriter(cb, waits)) return -1;
  }
  let ev = rbReaderEvent(cb);
  let read = load<u32>(reader, BP_READ);
  const commit = rbPageCommit(reader);
  const missedEvents = load<u64>(cb, CPB_LOST_EVENTS);
  const readerIsCommit = load<u32>(cb, CPB_READER_PAGE) == atomic.load<u32>(cb, CPB_COMMIT_PAGE);
  if (read != 0 || len < commit - read || readerIsCommit) {
    if (full && (read == 0 || len < commit - read || readerIsCommit)) {
      readerUnlock(cb);
      return -1;
    }
    if (len > commit - read) len = commit - read;
    let size = rbEventTsLength(ev);
    if (len < size) {
      readerUnlock(cb);
      return -1;
    }
    const saveTimestamp = load<u64>(cb, CPB_READ_STAMP);
    const rpage = dataPage(reader);
    let rpos = read;
    let pos: u32 = 0;
    while (true) {
      size = rbEventLength(ev);
      copyBytes(bpage + BDP_DATA + pos, rpage + BDP_DATA + rpos, size);
      len -= size;
      rbAdvanceReader(cb);
      rpos = load<u32>(reader, BP_READ);
      pos += size;
      if (rpos >= commit) break;
      ev = rbReaderEvent(cb);
      size = rbEventTsLength(ev);
      if (len < size) break;
    }
    atomic.store<u64>(bpage, pos, BDP_COMMIT);
    store<u64>(bpage, saveTimestamp, BDP_TIME_STAMP);
    read = 0;
  } else {
    inc64(cb, CPB_READ, load<u32>(reader, BP_ENTRIES));
    inc64(cb, CPB_READ_BYTES, commit);
    rbInitPage(bpage);
    const swapped = dataPage(reader);
    store<u32>(reader, bpage, BP_PAGE);
    store<u32>(reader, 0, BP_WRITE);
    store<u32>(reader, 0, BP_ENTRIES);
    store<u32>(reader, 0, BP_READ);
    bpage = swapped;
    store<u32>(slot, bpage);
    const realEnd = load<u32>(reader, BP_REAL_END);
    if (realEnd != 0) atomic.store<u64>(bpage, realEnd, BDP_COMMIT);
  }
  ret = <i32>read;
  store<u64>(cb, 0, CPB_LOST_EVENTS);
  let pageCommit = <u32>atomic.load<u64>(bpage, BDP_COMMIT);
  if (missedEvents != 0) {
    // there is room at the end of the page to say how many
    if (bsize - pageCommit >= 8) {
      store<u64>(bpage + BDP_DATA + pageCommit, missedEvents);
      atomic.store<u64>(bpage, <u64>(<u32>atomic.load<u64>(bpage, BDP_COMMIT) | RB_MISSED_STORED), BDP_COMMIT);
      pageCommit += 8;
    }
    // local_add() of the int (1 << 31) sign-extends into the upper half of the 8-byte commit, as on a
    // 64-bit kernel
    atomic.store<i64>(bpage, <i64>(<i32>atomic.load<u64>(bpage, BDP_COMMIT) | RB_MISSED_EVENTS), BDP_COMMIT);
  }
  if (pageCommit < bsize) memory.fill(bpage + BDP_DATA + pageCommit, 0, bsize - pageCommit);
  readerUnlock(cb);
  return ret;
}

// ---------------------------------------------------------------------------------------------------
// non-consuming iteration (struct ring_buffer_iter, followed by a copy of the current event)

// rb_iter_reset()
function rbIterReset(it: usize): void {
  const cb = load<u32>(it, IT_CPU_BUFFER);
  const rp = load<u32>(cb, CPB_READER_PAGE);
  const head = load<u32>(rp, BP_READ);
  store<u32>(it, rp, IT_HEAD_PAGE);
  store<u32>(it, head, IT_HEAD);
  store<u32>(it, head, IT_NEXT_EVENT);
  store<u32>(it, rp, IT_CACHE_READER_PAGE);
  store<u32>(it, <u32>load<u64>(cb, CPB_READ), IT_CACHE_READ);
  store<u32>(it, load<u32>(cb, CPB_PAGES_REMOVED), IT_CACHE_PAGES_REMOVED);
  if (head != 0) {
    store<u64>(it, load<u64>(cb, CPB_READ_STAMP), IT_READ_STAMP);
    store<u64>(it, load<u64>(dataPage(rp), BDP_TIME_STAMP), IT_PAGE_STAMP);
  } else {
    const ts = load<u64>(dataPage(rp), BDP_TIME_STAMP);
    store<u64>(it, ts, IT_READ_STAMP);
    store<u64>(it, ts, IT_PAGE_STAMP);
  }
}

// ring_buffer_read_start()
export function rbIterStart(tb: usize, cpu: i32, it: usize): bool {
  const cb = rbPerCpu(tb, cpu);
  if (cb == 0) return false;
  rbRequestPublish(cb);
  store<u32>(it, cb, IT_CPU_BUFFER);
  store<u32>(it, 0, IT_MISSED_EVENTS);
  if (!readerLock(cb)) return false;
  rbIterReset(it);
  readerUnlock(cb);
  return true;
}

// rb_inc_iter()
function rbIncIter(it: usize): void {
  const cb = load<u32>(it, IT_CPU_BUFFER);
  let hp = load<u32>(it, IT_HEAD_PAGE);
  if (hp == load<u32>(cb, CPB_READER_PAGE)) hp = rbSetHeadPage(cb);
  else hp = rbNextPage(hp);
  store<u32>(it, hp, IT_HEAD_PAGE);
  const ts = load<u64>(dataPage(hp), BDP_TIME_STAMP);
  store<u64>(it, ts, IT_READ_STAMP);
  store<u64>(it, ts, IT_PAGE_STAMP);
  store<u32>(it, 0, IT_HEAD);
  store<u32>(it, 0, IT_NEXT_EVENT);
}

// rb_iter_head_event(): copy the event at the iterator into the iterator, or 0 if the writer got there
function rbIterHeadEvent(it: usize): usize {
  const copy = it + IT_SIZE;
  const head = load<u32>(it, IT_HEAD);
  if (head != load<u32>(it, IT_NEXT_EVENT)) return copy;
  const hp = load<u32>(it, IT_HEAD_PAGE);
  const commit = rbPageCommit(hp);
  if (head + 8 > commit) return rbIterHeadReset(it);
  const ev = dataPage(hp) + BDP_DATA + head;
  const length = rbEventLength(ev);
  const cb = load<u32>(it, IT_CPU_BUFFER);
  if (length == 0 || head + length > commit || length > load<u32>(load<u32>(cb, CPB_BUFFER), TB_SUBBUF_SIZE)) {
    return rbIterHeadReset(it);
  }
  copyBytes(copy, ev, length);
  smpMb();
  if (load<u64>(it, IT_PAGE_STAMP) != load<u64>(dataPage(hp), BDP_TIME_STAMP) || commit > rbPageCommit(hp)) {
    return rbIterHeadReset(it);
  }
  store<u32>(it, head + length, IT_NEXT_EVENT);
  return copy;
}

function rbIterHeadReset(it: usize): usize {
  const ts = load<u64>(dataPage(load<u32>(it, IT_HEAD_PAGE)), BDP_TIME_STAMP);
  store<u64>(it, ts, IT_PAGE_STAMP);
  store<u64>(it, ts, IT_READ_STAMP);
  store<u32>(it, 0, IT_HEAD);
  store<u32>(it, 0, IT_NEXT_EVENT);
  store<u32>(it, 1, IT_MISSED_EVENTS);
  return 0;
}

// rb_update_iter_read_stamp()
function rbUpdateIterReadStamp(it: usize, ev: usize): void {
  const typeLen = evTypeLen(ev);
  if (typeLen == RINGBUF_TYPE_PADDING) return;
  if (typeLen == RINGBUF_TYPE_TIME_EXTEND) {
    inc64(it, IT_READ_STAMP, rbEventTimeStamp(ev));
  } else if (typeLen == RINGBUF_TYPE_TIME_STAMP) {
    store<u64>(it, rbFixAbsTs(rbEventTimeStamp(ev), load<u64>(it, IT_READ_STAMP)), IT_READ_STAMP);
  } else {
    inc64(it, IT_READ_STAMP, evTimeDelta(ev));
  }
}

// rb_advance_iter()
function rbAdvanceIter(it: usize): void {
  const cb = load<u32>(it, IT_CPU_BUFFER);
  if (load<u32>(it, IT_HEAD) == load<u32>(it, IT_NEXT_EVENT)) {
    if (rbIterHeadEvent(it) == 0) return;
  }
  const next = load<u32>(it, IT_NEXT_EVENT);
  store<u32>(it, next, IT_HEAD);
  const hp = load<u32>(it, IT_HEAD_PAGE);
  if (next >= rbPageCommit(hp)) {
    if (hp == atomic.load<u32>(cb, CPB_COMMIT_PAGE)) return;
    rbIncIter(it);
    return;
  }
  rbUpdateIterReadStamp(it, it + IT_SIZE);
}

// ring_buffer_iter_empty()
function rbIterEmpty(it: usize): bool {
  const cb = load<u32>(it, IT_CPU_BUFFER);
  const reader = load<u32>(cb, CPB_READER_PAGE);
  const headPage = load<u32>(cb, CPB_HEAD_PAGE);
  const commitPage = atomic.load<u32>(cb, CPB_COMMIT_PAGE);
  const commitTs = atomic.load<u64>(dataPage(commitPage), BDP_TIME_STAMP);
  const commit = rbPageCommit(commitPage);
  const currCommitPage = atomic.load<u32>(cb, CPB_COMMIT_PAGE);
  if (currCommitPage != commitPage || atomic.load<u64>(dataPage(currCommitPage), BDP_TIME_STAMP) != commitTs) {
    return false;
  }
  const hp = load<u32>(it, IT_HEAD_PAGE);
  const head = load<u32>(it, IT_HEAD);
  return (hp == commitPage && head >= commit) ||
    (hp == reader && commitPage == headPage && load<u32>(headPage, BP_READ) == commit &&
      head == rbPageCommit(reader));
}

// rb_iter_peek(); the stamp goes to peekTs
function rbIterPeekEvent(it: usize): usize {
  const cb = load<u32>(it, IT_CPU_BUFFER);
  peekTs = 0;
  if (load<u32>(it, IT_CACHE_READ) != <u32>load<u64>(cb, CPB_READ) ||
    load<u32>(it, IT_CACHE_READER_PAGE) != load<u32>(cb, CPB_READER_PAGE) ||
    load<u32>(it, IT_CACHE_PAGES_REMOVED) != load<u32>(cb, CPB_PAGES_REMOVED)) {
    rbIterReset(it);
  }
  let nrLoops = 0;
  while (true) {
    if (rbIterEmpty(it)) return 0;
    // the writer can keep the iterator from an event: give up after three tries, without warning
    if (++nrLoops > 3) return 0;
    if (rbPerCpuEmpty(cb)) return 0;
    if (load<u32>(it, IT_HEAD) >= rbPageCommit(load<u32>(it, IT_HEAD_PAGE))) {
      rbIncIter(it);
      continue;
    }
    const ev = rbIterHeadEvent(it);
    if (ev == 0) continue;
    const typeLen = evTypeLen(ev);
    if (typeLen == RINGBUF_TYPE_PADDING) {
      if (rbNullEvent(ev)) {
        rbIncIter(it);
        continue;
      }
      rbAdvanceIter(it);
      nrLoops--;
      continue;
    }
    if (typeLen == RINGBUF_TYPE_TIME_EXTEND) {
      rbAdvanceIter(it);
      continue;
    }
    if (typeLen == RINGBUF_TYPE_TIME_STAMP) {
      peekTs = rbFixAbsTs(rbEventTimeStamp(ev), load<u64>(it, IT_PAGE_STAMP));
      rbAdvanceIter(it);
      continue;
    }
    if (typeLen > <u32>RINGBUF_TYPE_TIME_STAMP) {
      rbWarnOn(cb, RBW_BAD_TYPE);
      return 0;
    }
    if (peekTs == 0) peekTs = load<u64>(it, IT_READ_STAMP) + evTimeDelta(ev);
    return ev;
  }
  return 0;
}

// ring_buffer_iter_peek() + ring_buffer_iter_advance() (ring_buffer_read): 1 and the event in `out`,
// or 0 at the end. Lost events (the writer overwrote the iterator) are reported in RD_LOST as 1.
export function rbIterNext(it: usize, out: usize, cap: u32): i32 {
  const cb = load<u32>(it, IT_CPU_BUFFER);
  if (!readerLock(cb)) return 0;
  const ev = rbIterPeekEvent(it);
  if (ev != 0) {
    copyOut(ev, peekTs, load<u32>(it, IT_MISSED_EVENTS), out, cap);
    store<u32>(it, 0, IT_MISSED_EVENTS);
    rbAdvanceIter(it);
  }
  readerUnlock(cb);
  return ev != 0 ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------------
// counters (ring_buffer_*_cpu); stop flags for workloads

export function rbEntriesCpu(tb: usize, cpu: i32): u64 {
  const cb = rbPerCpu(tb, cpu);
  return cb == 0 ? 0 : rbNumOfEntries(cb);
}

export function rbBytesCpu(tb: usize, cpu: i32): u64 {
  const cb = rbPerCpu(tb, cpu);
  return cb == 0 ? 0 : atomic.load<u64>(cb, CPB_ENTRIES_BYTES) - load<u64>(cb, CPB_READ_BYTES);
}

export function attentionStop(): bool {
  return stopRequested || crashed || (atomic.load<i32>(cpuDesc, CPU_ATTENTION) & ATTN_STOP) != 0;
}

// ring_buffer_entries() of every live trace_buffer, walking each one's cpumask; false if this CPU
// dereferenced a NULL buffers[cpu] on the way (and oopsed)
export function rbEntriesAll(): bool {
  const list = atomic.load<u32>(LAYOUT_BASE + H_TB_LIST);
  const n = atomic.load<u32>(list, TBL_COUNT);
  let sum: u64 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const tb = atomic.load<u32>(list + TBL_ENTRIES + (i << 2));
    if (tb == 0) continue;
    for (let cpu = 0; cpu < nrCpuIds; cpu++) {
      if (!cpumaskTest(tb + TB_CPUMASK, cpu)) continue;
      const cb = rbPerCpu(tb, cpu);
      if (cb == 0) {
        kernelOops(OOPS_ENTRIES, CPB_ENTRIES);
        return false;
      }
      sum += rbNumOfEntries(cb);
    }
  }
  walkSum = sum;
  return true;
}

let walkSum: u64 = 0;
