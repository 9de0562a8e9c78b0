// The one definition of everything both sides of the shared memory agree on: struct layouts, flag bits,
// event encodings, mailbox commands. Written in the common subset of AssemblyScript and TypeScript
// (untyped integer constants only) so that assembly/ imports it as "./abi" and src/ as "../assembly/abi.ts".

// ---- Memory ----
// Page 0 belongs to the module (its data segments are re-applied at every instantiation); the host lays
// out everything shared from LAYOUT_BASE on.
export const LAYOUT_BASE = 65536;
export const WASM_PAGE = 65536;
// Addresses stay below 2 GiB so that they are positive int32 on the host side.
export const MAX_MEMORY_PAGES = 32768;
export const MAX_CPUS = 256;
export const CPUMASK_WORDS = 8; // MAX_CPUS / 32
export const CACHELINE = 64;

// ---- Machine header (at LAYOUT_BASE) ----
export const H_MAGIC = 0;
export const H_NR_CPU_IDS = 4;
export const H_SYSTEM_STATE = 8; // SYSTEM_BOOTING / SYSTEM_RUNNING
export const H_MEMORY_MODEL = 12; // MEMORY_MODEL_*
export const H_COUNTER_CLOCK = 192; // u64, trace_clock_counter's global counter; a cache line of its own
export const H_VIRTUAL_STEP = 24; // ns the virtual clock advances per read
export const H_SCRATCH = 128; // target of RMW full barriers (atomic.fence does not validate in asc 0.28); a cache line of its own
export const H_CPU_TABLE = 32; // address of cpu descriptors
export const H_LOG = 36; // address of the machine log ring
export const H_FTRACE_DISABLED = 40;
export const H_TB_LIST = 44; // address of the list of live trace_buffers (TBL_*)
export const H_EPOCH_MS = 48; // f64: performance.timeOrigin + now() of the host at machine creation
export const H_ONLINE_MASK = 64; // CPUMASK_WORDS words: cpu_online_mask
export const H_WRITER_TOKEN = 256; // the last token handed to an attached writer (CPU_WRITER); a cache line of its own
export const H_SIZE = 4096;
export const MACHINE_MAGIC = 0x52494e47; // "RING"

export const SYSTEM_BOOTING = 0;
export const SYSTEM_RUNNING = 1;
export const MEMORY_MODEL_TSO = 0;
export const MEMORY_MODEL_WEAK = 1;

// ---- CPU descriptor: mailbox, IPI slot and state of one possible CPU ----
export const CPU_DOORBELL = 0; // the worker waits on this word; bumped for work, IPIs and attention
export const CPU_WORK_SEQ = 4;
export const CPU_WORK_ACK = 8;
export const CPU_WORK_CMD = 12;
export const CPU_WORK_ARG0 = 16; // six i32 arguments
export const CPU_WORK_RESULT = 40; // i32 result
export const CPU_IPI_SEQ = 64;
export const CPU_IPI_ACK = 68;
export const CPU_IPI_FUNC = 72;
export const CPU_IPI_ARG = 76;
export const CPU_ATTENTION = 80; // ATTN_* bits, polled by the writer at every outermost commit
export const CPU_PUBLISH_SEQ = 84; // bumped by the CPU after every publish
export const CPU_IN_SESSION = 88; // 1 while the CPU may hold committed but unpublished events
// One writer per CPU buffer (ring_buffer_write's rule): who writes as this CPU. WRITER_FREE, the CPU's
// own worker running a workload (WRITER_WORKLOAD), the machine closed (WRITER_CLOSED), or the token of
// a writer attached from some JavaScript thread (> 0, from H_WRITER_TOKEN). Taken by compare-and-swap.
export const CPU_WRITER = 92;
// The attached writer's RCU read side (see writer.ts): WRITER_SECTION while its thread is in a run of calls
// (one turn of its event loop), WRITER_QS_WANTED added by a grace period waiting for it to pass a quiescent state
export const CPU_WRITER_ACTIVE = 96;
export const CPU_WRITER_BEAT = 100; // the attached writer's thread is alive: ms since H_EPOCH_MS, refreshed by its timer
export const CPU_WRITER_CALLS = 104; // calls by the attached writer: alive while it moves
export const CPU_WRITER_SCRATCH = 108; // the batch area of this CPU's attached writer (allocated by the host)
export const CPU_WRITER_SCRATCH_SIZE = 112;
export const CPU_SLEEPING = 116; // 1 while the worker sleeps on its doorbell: only then does a ring need a wake-up
export const CPU_STATE = 128;
export const CPU_VCLOCK = 136; // u64: this CPU's virtual clock
export const CPU_DIRTY_COUNT = 144;
export const CPU_DIRTY = 148; // CPU_DIRTY_MAX cpu_buffer addresses written since the last publish
export const CPU_DIRTY_MAX = 16;
export const CPU_NEST_DEPTH = 216; // open events of OP_NEST_BEGIN
export const CPU_NEST_STACK = 220; // CPU_NEST_MAX (trace_buffer, event) pairs
export const CPU_NEST_MAX = 8;
export const CPU_DESC_SIZE = 512;

export const ATTN_PUBLISH = 1;
export const ATTN_IPI = 2;
export const ATTN_STOP = 4;
export const ATTN_PUBLISH_WAKE = 8; // with ATTN_PUBLISH: someone sleeps on CPU_PUBLISH_SEQ, wake it

export const WRITER_FREE = 0;
export const WRITER_WORKLOAD = -1;
export const WRITER_CLOSED = -2;
export const WRITER_LOST = -1; // what an attached writer's call returns once CPU_WRITER is no longer its token
export const WRITER_SECTION = 1;
export const WRITER_QS_WANTED = 2;
// the flags of an attached writer's call
export const WRITER_FRESH_CLOCK = 1; // a real clock: start with a fresh reading (calls can be far apart)
export const WRITER_TURN_BEGIN = 2; // the first call of its thread's turn: open the read side

export const CPU_STATE_OFFLINE = 0;
export const CPU_STATE_ONLINE = 1;
export const CPU_STATE_PARKED = 2;
export const CPU_STATE_CRASHED = 3;

export const CMD_NONE = 0;
export const CMD_RUN = 1; // run the workload program at ARG0
export const CMD_JS = 2; // a request for the worker's JavaScript side (ARG0 = request id)
export const CMD_PARK = 3;
export const CMD_EXIT = 4;

export const IPI_NONE = 0;
export const IPI_SYNC = 1; // rb_cpu_sync: smp_rmb()
export const IPI_QUIESCE = 2; // an RCU quiescent state: acknowledged between events

// ---- struct trace_buffer ----
export const TB_FLAGS = 0; // RB_FL_*
export const TB_RECORD_DISABLED = 4;
export const TB_SUBBUF_ORDER = 8;
export const TB_SUBBUF_SIZE = 12; // bytes of data in a sub-buffer (page size - BUF_PAGE_HDR_SIZE)
export const TB_CLOCK = 16; // CLOCK_*
export const TB_TIME_STAMP_ABS = 20;
export const TB_ID = 24;
export const TB_MAX_DATA_SIZE = 28;
export const TB_VIEWS = 32; // weak memory model: nr_cpu_ids rows (one per viewing CPU) of buffers[] as that CPU sees it
export const TB_SNAPSHOT_REQ = 36; // tracing_snapshot() calls by CPUs (probes, triggers) that the host has not served yet
export const TB_CPUMASK = 64;
export const TB_BUFFERS = 128; // MAX_CPUS pointers to ring_buffer_per_cpu
export const TB_SIZE = 1152;

export const RB_FL_OVERWRITE = 1;
export const RB_BUFFER_OFF = 1048576; // 1 << 20 in record_disabled: ring_buffer_record_off()

// ---- the list of live trace_buffers (what readers on CPUs walk, and whose views a barrier refreshes) ----
export const TBL_COUNT = 0;
export const TBL_ENTRIES = 4;
export const TBL_MAX = 255;
export const TBL_SIZE = 1024;

// ---- struct ring_buffer_per_cpu ----
export const CPB_CPU = 0;
export const CPB_BUFFER = 4;
export const CPB_NR_PAGES = 8;
export const CPB_RECORD_DISABLED = 16;
export const CPB_CNT = 20;
export const CPB_PAGES_REMOVED = 24;
// written by the writer, one cache line group
export const CPB_TAIL_PAGE = 64;
export const CPB_COMMIT_PAGE = 68;
export const CPB_CURRENT_CONTEXT = 72;
export const CPB_NEST = 76;
export const CPB_COMMITTING = 80;
export const CPB_COMMIT_INDEX = 88; // committed bytes on the commit page, published into its page->commit
export const CPB_WRITE_STAMP = 96; // u64
export const CPB_BEFORE_STAMP = 104; // u64
export const CPB_ENTRIES = 112; // u64
export const CPB_ENTRIES_BYTES = 120; // u64
export const CPB_OVERRUN = 128; // u64
export const CPB_COMMIT_OVERRUN = 136; // u64
export const CPB_DROPPED_EVENTS = 144; // u64
export const CPB_PAGES_TOUCHED = 152; // u64
export const CPB_PAGES_LOST = 160; // u64
export const CPB_RECURSION = 168; // u64: writes refused by trace_recursive_lock
export const CPB_NR_LOOPS_WARN = 176; // u64: RB_WARN_ON hits
// written by readers
export const CPB_READER_LOCK = 256;
export const CPB_HEAD_PAGE = 260;
export const CPB_READER_PAGE = 264;
export const CPB_READ = 272; // u64
export const CPB_READ_BYTES = 280; // u64
export const CPB_LAST_OVERRUN = 288; // u64
export const CPB_LOST_EVENTS = 296; // u64
export const CPB_READ_STAMP = 304; // u64
export const CPB_PAGES_READ = 312; // u64
export const CPB_PAGES = 320; // cpu_buffer->pages: any page of the ring; moved by the reader's swap, so kept off the writer's lines
// A buffer_page outside the ring whose data page is the readers' spare (ring_buffer_alloc_read_page's):
// one per CPU buffer rather than one per reader, since a reader on a user's thread cannot allocate, so
// it is used only under reader_lock. Its BP_PAGE word is the slot ring_buffer_read_page() swaps into.
export const CPB_SPARE_PAGE = 324;
export const CPB_SIZE = 384;

// ---- struct buffer_page ----
export const BP_NEXT = 0; // list.next with RB_PAGE_* flags in the low bits
export const BP_PREV = 4;
export const BP_WRITE = 8;
export const BP_ENTRIES = 12;
export const BP_READ = 16;
export const BP_REAL_END = 20;
export const BP_PAGE = 24; // the buffer_data_page
export const BP_ID = 28;
export const BP_SIZE = 32;

export const RB_PAGE_NORMAL = 0;
export const RB_PAGE_HEAD = 1;
export const RB_PAGE_UPDATE = 2;
export const RB_PAGE_MOVED = 4;
export const RB_FLAG_MASK = 3;
export const RB_WRITE_MASK = 0xfffff;

// ---- struct buffer_data_page: the kernel's sub-buffer, byte for byte ----
export const BDP_TIME_STAMP = 0; // u64
export const BDP_COMMIT = 8; // local_t (8 bytes); RB_MISSED_* in bits 31 and 30
export const BDP_DATA = 16;
export const BUF_PAGE_HDR_SIZE = 16;
export const RB_MISSED_EVENTS = -2147483648; // 1 << 31
export const RB_MISSED_STORED = 1073741824; // 1 << 30
export const RB_MISSED_MASK = -1073741824; // both
export const SUBBUF_ORDER_MAX = 7; // 4 KiB << 7 = 512 KiB, tracing_buffer_subbuf_size_write's limit
export const SYS_PAGE_SIZE = 4096;

// ---- struct ring_buffer_event ----
export const RINGBUF_TYPE_DATA_TYPE_LEN_MAX = 28;
export const RINGBUF_TYPE_PADDING = 29;
export const RINGBUF_TYPE_TIME_EXTEND = 30;
export const RINGBUF_TYPE_TIME_STAMP = 31;
export const RB_EVNT_HDR_SIZE = 4;
export const RB_ALIGNMENT = 4;
export const RB_MAX_SMALL_DATA = 112; // RB_ALIGNMENT * RINGBUF_TYPE_DATA_TYPE_LEN_MAX
export const RB_LEN_TIME_EXTEND = 8;
export const RB_LEN_TIME_STAMP = 8;
export const RB_EVNT_MIN_SIZE = 8;
export const TS_SHIFT = 27;
export const TS_MASK = 134217727; // (1 << 27) - 1
export const TYPE_LEN_BITS = 5;
export const TYPE_LEN_MASK = 31;

// trace_recursive_lock's context bits (RB_CTX_*), indexed by interrupt_context_level()
export const CTX_NORMAL = 0;
export const CTX_SOFTIRQ = 1;
export const CTX_IRQ = 2;
export const CTX_NMI = 3;
export const RB_CTX_TRANSITION = 0;
export const RB_CTX_NORMAL = 4;

// ---- trace clocks ----
export const CLOCK_LOCAL = 0;
export const CLOCK_GLOBAL = 1;
export const CLOCK_COUNTER = 2;
export const CLOCK_VIRTUAL = 3;
// the rest of the kernel's trace_clock list, each on a host clock (see README "Trace clocks")
export const CLOCK_UPTIME = 4; // trace_clock_jiffies: jiffies (HZ 250) since the machine booted
export const CLOCK_PERF = 5; // perf_clock(): local's source
export const CLOCK_MONO = 6; // ktime_get_mono_fast_ns: global's source
export const CLOCK_MONO_RAW = 7;
export const CLOCK_BOOT = 8;
export const CLOCK_TAI = 9; // ktime_get_tai_fast_ns: wall-clock time since 1970 plus the 37 s TAI offset
export const CLOCK_X86_TSC = 10; // rdtsc: cycles; here host nanoseconds as a 1 GHz counter
export const CLOCK_COUNT = 11;
export const JIFFY_NS = 4000000; // 1e9 / HZ with CONFIG_HZ=250
export const TAI_OFFSET_NS = 37000000000;
export const LOCAL_CLOCK_SAMPLE = 64; // local clock: a real read every this many stamps
export const COUNTER_CLOCK_BLOCK = 64; // counter clock: values claimed from the global counter per RMW

// ---- reader output record (rbConsume / rbIterPeek write one of these) ----
export const RD_TS = 0; // u64
export const RD_LOST = 8; // u64
export const RD_LENGTH = 16; // payload bytes
export const RD_TYPE_LEN = 20;
export const RD_DATA = 24;

// ---- ring_buffer_iter ----
export const IT_CPU_BUFFER = 0;
export const IT_HEAD_PAGE = 4;
export const IT_HEAD = 8;
export const IT_NEXT_EVENT = 12;
export const IT_CACHE_READER_PAGE = 16;
export const IT_CACHE_READ = 20; // low 32 bits of cpu_buffer->read when the iterator was reset
export const IT_CACHE_PAGES_REMOVED = 24;
export const IT_MISSED_EVENTS = 28;
export const IT_READ_STAMP = 32; // u64
export const IT_PAGE_STAMP = 40; // u64
export const IT_SIZE = 64;

// ---- workload programs (the Wasm interpreter's opcodes); each op is OP word + fixed i32 args ----
export const OP_END = 0;
export const OP_WRITE = 1; // tb, payload size, count, pattern seed: count ring_buffer_write calls
export const OP_BENCH = 2; // tb, payload size, extra full barriers per event (0; the gate's own test slows the build with it), result ptr: write until ATTN_STOP; result: u64 hits, u64 misses
export const OP_STRESS = 3; // tb, seed, max size, nest percent, result ptr: random self-checking writes until stop
export const OP_CONTEXT = 4; // ctx: set the interrupt context level for following ops
export const OP_NEST_BEGIN = 5; // tb, payload size: reserve an event and keep it open
export const OP_NEST_END = 6; // commit the innermost open event
export const OP_DISCARD_END = 7; // discard the innermost open event (ring_buffer_discard_commit)
export const OP_DELAY = 8; // ns: advance this CPU's virtual clock
export const OP_STRESS_COUNT = 9; // tb, seed, max size, nest percent, result ptr, count: like OP_STRESS, bounded
export const OP_READ_PAGES = 10; // tb, cpu, spare page, result ptr, pool, pool size: consume pages (ring_buffer_read_page) until stop
export const OP_WALK = 12; // count (0: until stopped), barrier every N walks, result ptr: ring_buffer_entries() of every trace_buffer
// the benchmark's floor references (bench_floor.ts): the same bytes without the kernel's bookkeeping
export const OP_FLOOR_WRITE = 13; // page, page size, payload size, result ptr: bump-pointer writes into one page until stop
export const OP_FLOOR_PIPE_WRITE = 14; // area, payload size, result ptr: fill pages of a FLOOR_PIPE_* ring and hand them over
export const OP_FLOOR_PIPE_READ = 15; // area, spare page, result ptr: take pages, copy each out, walk its events

// the floor pipe's ring (OP_FLOOR_PIPE_*): a produced and a consumed page count on lines of their own,
// then FLOOR_PIPE_NR_PAGES pages of FLOOR_PIPE_PAGE_SIZE bytes in the sub-buffer format (BDP_*); the host
// gives it the geometry of the ring.pipe buffer
export const FLOOR_PIPE_PRODUCED = 0; // u32, written by the producer only
export const FLOOR_PIPE_CONSUMED = 64; // u32, written by the consumer only
export const FLOOR_PIPE_PAGE_SIZE = 128; // u32 bytes per page, header included
export const FLOOR_PIPE_NR_PAGES = 132; // u32
export const FLOOR_PIPE_RING = 192;

// stress/bench result block
export const RES_WRITTEN = 0; // u64 events committed
export const RES_FAILED = 8; // u64 reserves refused
export const RES_NESTED = 16; // u64 nested events committed
export const RES_BYTES = 24; // u64 payload bytes committed or read
export const RES_PAGES = 32; // u64 pages read
export const RES_SIZE = 64;

// self-checking payload of the stress workload (rb_write_something's struct rb_item, extended)
export const ITEM_SIZE = 0; // u32 payload length
export const ITEM_SEQ = 4; // u32 per-CPU sequence number
export const ITEM_CPU = 8; // u32
export const ITEM_HDR = 12;
export const ITEM_MIN = 12;

// ---- machine log ring (dmesg) ----
export const LOG_HEAD = 0; // records ever written
export const LOG_LOCK = 4;
export const LOG_DATA = 16;
export const LOG_RECORD = 32; // u32 code, i32 cpu, then up to 6 u32 arguments
export const LOG_RECORDS = 2048;
export const LOG_REGION = 65552; // LOG_DATA + LOG_RECORD * LOG_RECORDS

// log codes; the host formats the text
export const LOG_RB_WARN = 1; // RB_WARN_ON: arg0 = RBW_* check, arg1 = cpu_buffer's cpu
export const RBW_NR_LOOPS = 1; // rb_reserve_next_event looped 1000 times
export const RBW_COMMIT_MAX_COUNT = 2; // rb_set_commit_to_write did not reach the tail
export const RBW_TAIL_ON_READER = 3; // the tail page is the reader page in rb_set_commit_to_write
export const RBW_HEAD_PAGE_TYPE = 4; // rb_handle_head_page saw an impossible flag
export const RBW_NO_HEAD_PAGE = 5; // rb_set_head_page found no HEAD flag in three loops
export const RBW_READER_LOOPS = 6; // rb_get_reader_page looped more than three times
export const RBW_READ_PAST_SIZE = 7; // reader_page->read beyond its size
export const RBW_PEEK_LOOPS = 8; // rb_buffer_peek looped more than twice
export const RBW_NULL_EVENT = 9; // a null padding event where data was expected
export const RBW_BAD_TYPE = 10; // unknown type_len
export const RBW_NOT_COMMITTING = 11; // a commit or discard without a reserve
export const RBW_READER_WAIT = 12; // rb_get_reader_page waited too long for a writer past the page end
export const LOG_OOPS = 2; // a NULL dereference: arg0 = OOPS_* function, arg1 = faulting address
export const OOPS_LOCK_RESERVE = 1; // ring_buffer_lock_reserve()
export const OOPS_ENTRIES = 2; // ring_buffer_entries()
export const OOPS_TRAP = 3; // a WebAssembly trap (out-of-bounds access) in a CPU's work: no address known
export const EFAULT_RET = -14; // what a workload program returns when its CPU oopsed

// =====================================================================================================
// ---- ftrace: dyn_ftrace records, ftrace_page groups, ftrace_hash, ftrace_ops, probes, the profiler ----
// (kernel/trace/ftrace.c, include/linux/ftrace.h and kernel/trace/trace.h of a 6.x kernel; the host
// lays everything out, Wasm reads it and runs the hot paths; see assembly/ftrace.ts)
// =====================================================================================================
export const H_FTRACE = 3072; // machine header word: address of the ftrace area (FT_*), 0 before it exists

// the ftrace area
export const FT_OPS_LIST = 0; // ftrace_ops_list: the newest registered ops, 0 = &ftrace_list_end
export const FT_GROUPS = 4; // the table of ftrace_page groups (FG_*), replaced by one pointer swap
export const FT_START_UP = 8; // ftrace_start_up
export const FT_PERCPU = 12; // nr_cpu_ids per-CPU ftrace states (FTC_*)
export const FT_PROFILE = 16; // function profiler: table of nr_cpu_ids per-CPU stat tables, 0 = off
export const FT_PROFILE_CAP = 20; // records (REC_ID values) each per-CPU stat table holds
export const FT_TOKEN = 24; // names this machine to the host's log formatters (LOG_FTRACE_DUMP)
export const FT_WARN_REC = 28; // the record an accounting pass stopped at (FTRACE_WARN_ON) or checked wrong
export const FT_GLOBAL_TB = 32; // global_trace's trace_buffer: where stacktrace and dump probes go
export const FT_SINGLE_OPS = 36; // update_ftrace_function(): the one static ops called directly, or 0 (list func)
export const FT_GRAPH_HASH = 40; // ftrace_graph_hash (set_graph_function), 0 = EMPTY_HASH
export const FT_GRAPH_NOTRACE = 44; // ftrace_graph_notrace_hash (set_graph_notrace), 0 = EMPTY_HASH
export const FT_GRAPH_MAX_DEPTH = 48; // fgraph_max_depth (max_graph_depth), 0 = unlimited
export const FT_GRAPH_FLAGS = 52; // FGRAPH_FL_*: the tracer options the recording side reads
export const FT_GRAPH_ARRAY = 56; // fgraph_array: FGRAPH_ARRAY_SIZE ops pointers by OPS_GRAPH_IDX, 0 = fgraph_stub
export const FT_STACK = 60; // the stack tracer's state (STK_*), 0 before it was first enabled
export const FT_SIZE = 64;

// the groups table: FG_COUNT groups of FG_ENTRY_SIZE bytes from FG_ENTRIES (core kernel first, then
// each module's group in load order, like the ftrace_pages list)
export const FG_COUNT = 0;
export const FG_ENTRIES = 8;
export const FG_START = 0; // u64: ip of the first record
export const FG_END = 8; // u64: ip of the last record
export const FG_RECS = 16; // the records, sorted by ip
export const FG_NR = 20; // pg->index
export const FG_ENTRY_SIZE = 24;

// struct dyn_ftrace
export const REC_IP = 0; // u64
export const REC_FLAGS = 8; // u32: ref count in the low FTRACE_REF_MAX_SHIFT bits, FTRACE_FL_* above
export const REC_ID = 12; // ringtrace: dense record number (the function profiler's slot)
export const REC_SIZE = 16;

export const FTRACE_FL_ENABLED = -2147483648; // 1 << 31: the call site is patched to call the tracer
export const FTRACE_FL_REGS = 1073741824; // 1 << 30
export const FTRACE_FL_REGS_EN = 536870912; // 1 << 29
export const FTRACE_FL_TRAMP = 268435456; // 1 << 28
export const FTRACE_FL_TRAMP_EN = 134217728; // 1 << 27
export const FTRACE_FL_IPMODIFY = 67108864; // 1 << 26
export const FTRACE_FL_DISABLED = 33554432; // 1 << 25: a module's record before ftrace_module_enable()
export const FTRACE_FL_DIRECT = 16777216; // 1 << 24
export const FTRACE_FL_DIRECT_EN = 8388608; // 1 << 23
export const FTRACE_FL_CALL_OPS = 4194304; // 1 << 22
export const FTRACE_FL_CALL_OPS_EN = 2097152; // 1 << 21
export const FTRACE_FL_TOUCHED = 1048576; // 1 << 20: was ever enabled (touched_functions)
export const FTRACE_FL_MODIFIED = 524288; // 1 << 19
export const FTRACE_REF_MAX_SHIFT = 19;
export const FTRACE_REF_MAX = 524287; // (1 << FTRACE_REF_MAX_SHIFT) - 1
export const FTRACE_NOCLEAR_FLAGS = 35127296; // FTRACE_FL_DISABLED | FTRACE_FL_TOUCHED | FTRACE_FL_MODIFIED

// struct ftrace_hash: FH_SIZE header, then (1 << size_bits) + 1 bucket starts (u32), then the entries'
// ips (u64), then optionally one u64 datum per entry (a ftrace_func_mapper's). Each bucket's chain is
// stored contiguously (entries[start[b] .. start[b + 1]]): a hash is never changed in place except by
// clear_mod_from_hash(), which zeroes an entry's ip, so a change builds a new hash and swaps a pointer.
export const FH_COUNT = 0; // entries, zeroed ones included (hash->count)
export const FH_SIZE_BITS = 4;
export const FH_FLAGS = 8; // FTRACE_HASH_FL_MOD
export const FH_BUCKETS = 12;
export const FH_ENTRIES = 16;
export const FH_DATA = 20; // 0 when the hash carries no data
export const FH_SIZE = 32;
export const FTRACE_HASH_DEFAULT_BITS = 10;
export const FTRACE_HASH_MAX_BITS = 12;
export const FTRACE_HASH_FL_MOD = 1;
export const GOLDEN_RATIO_64_HI = 0x61c88646; // GOLDEN_RATIO_64 = 0x61C8864680B583EB (hash_long on 64-bit)
export const GOLDEN_RATIO_64_LO = 0x80b583eb;

// struct ftrace_ops (the parts dispatch reads)
export const OPS_FLAGS = 0; // FTRACE_OPS_FL_*
export const OPS_FILTER = 4; // func_hash->filter_hash, 0 = EMPTY_HASH
export const OPS_NOTRACE = 8; // func_hash->notrace_hash, 0 = EMPTY_HASH
export const OPS_CALLBACK = 12; // FT_CB_*: ops->func
export const OPS_ARG = 16; // ops->private: the trace_buffer (function), the probe (PRB_*)
export const OPS_NEXT = 20;
export const OPS_ID = 24;
export const OPS_OPTIONS = 28; // FUNC_OPT_*: the function tracer's options
export const OPS_PIDS = 36; // set_ftrace_pid: a pid list (PID_*) the current task must be in, 0 = any
export const OPS_NO_PIDS = 40; // set_ftrace_notrace_pid: a pid list the current task must not be in, 0 = none
export const OPS_GRAPH_IDX = 32; // fgraph_ops->idx: the slot in fgraph_array and the bit in a frame's bitmap
export const OPS_SIZE = 64;

export const FTRACE_OPS_FL_ENABLED = 1;
export const FTRACE_OPS_FL_DYNAMIC = 2;
export const FTRACE_OPS_FL_STUB = 32;
export const FTRACE_OPS_FL_INITIALIZED = 64;
export const FTRACE_OPS_FL_DELETED = 128;
export const FTRACE_OPS_FL_ADDING = 256;
export const FTRACE_OPS_FL_REMOVING = 512;
export const FTRACE_OPS_FL_PID = 8192;
export const FTRACE_OPS_FL_TRACE_ARRAY = 32768;

export const FT_CB_STUB = 0; // ftrace_stub
export const FT_CB_FUNCTION = 1; // function_trace_call
export const FT_CB_PROFILE = 2; // function_profile_call (with its graph return: time per function)
export const FT_CB_PROBE = 3; // function_trace_probe_call
export const FT_CB_GRAPH = 4; // ftrace_graph_func: trace_graph_entry now, trace_graph_return at the function's return
export const FT_CB_STACK = 5; // stack_trace_call (kernel/trace/trace_stack.c)
export const FUNC_OPT_STACK = 1; // options/func_stack_trace: function_stack_trace_call

// a function probe (struct ftrace_func_probe with its probe_ops)
export const PRB_KIND = 0; // PROBE_*
export const PRB_TB = 4; // the trace_array's buffer (traceon / traceoff)
export const PRB_MAPPER = 8; // ftrace_func_mapper: a hash whose data are the counts (long), 0 = no counts
export const PRB_FILE = 12; // enable_event / disable_event: the trace_event_file
export const PRB_SIZE = 16;
export const PROBE_TRACEON = 1;
export const PROBE_TRACEOFF = 2;
export const PROBE_STACKTRACE = 3;
export const PROBE_DUMP = 4;
export const PROBE_CPUDUMP = 5;
export const PROBE_ENABLE_EVENT = 6;
export const PROBE_DISABLE_EVENT = 7;
export const PROBE_SNAPSHOT = 8;

// per-CPU ftrace state: current task, irq flags, and the workload's call stack
export const FTC_PID = 0; // current->pid
export const FTC_COMM = 4; // the host's id of current->comm
export const FTC_EXTRA_FLAGS = 8; // TRACE_FLAG_* added to the context's (e.g. IRQS_OFF)
export const FTC_PREEMPT = 12; // preempt_count() & 0xff as events show it
export const FTC_DEPTH = 16; // frames on the call stack
export const FTC_GRAPH_DEPTH = 20; // current->curr_ret_depth + 1: frames some fgraph_ops took
export const FTC_LOST = 24; // entries that found the stack full and have not returned yet: their exits pop nothing
export const FTC_OVERRUN = 28; // current->trace_overrun: entries that ever found the stack full
export const FTC_TASK = 32; // the current task's own ret_stack area (0: none, the CPU's stack is nobody's)
// A task's ret_stack area (FTC_SIZE bytes from the host's arena): while the task is off CPU it holds
// what the CPU's FTC_DEPTH..FTC_OVERRUN, frames and graph vars held, at the same offsets.
export const TSK_TIMESTAMP = 40; // u64 task->ftrace_timestamp: the graph clock when it was switched out
export const FTC_STACK = 64; // FTC_STACK_MAX frames of FTF_SIZE
export const FTC_STACK_MAX = 32;
export const FTF_REC = 0; // the entered function's record
export const FTF_PROFILED = 4; // the profiler counted the entry
export const FTF_IP = 8; // u64
export const FTF_PARENT = 16; // u64: the return address into the caller
export const FTF_ENTRY = 24; // u64: calltime, the graph clock when the function body began
export const FTF_GRAPH = 32; // the fgraph bitmap: bit OPS_GRAPH_IDX for every fgraph_ops whose entry took it
export const FTF_GRAPH_DEPTH = 36; // trace->depth the fgraph_ops saw
export const FTF_SUBTIME = 40; // u64: time of the profiled children (graph-time off subtracts it)
export const FTF_SIZE = 48;
export const FTC_GRAPH_VARS = 1600; // FTC_STACK + FTC_STACK_MAX * FTF_SIZE: fgraph_get_task_var() per fgraph_ops slot (u32)
export const FTC_SIZE = 1664; // FTC_GRAPH_VARS + FGRAPH_ARRAY_SIZE * 4

// struct ftrace_profile (per CPU, indexed by REC_ID)
export const PROF_HITS = 0; // u64
export const PROF_TIME = 8; // u64 ns
export const PROF_TIME_SQ = 16; // u64 ns^2
export const PROF_SIZE = 24;

// enum trace_type and struct trace_entry (kernel/trace/trace.h)
export const TRACE_FN = 1;
export const TRACE_STACK = 4;
export const TRACE_GRAPH_RET = 10;
export const TRACE_GRAPH_ENT = 11;
export const ENT_TYPE = 0; // u16
export const ENT_FLAGS = 2; // u8
export const ENT_PREEMPT_COUNT = 3; // u8
export const ENT_PID = 4; // s32
export const FN_IP = 8; // struct ftrace_entry: u64 ip
export const FN_PARENT_IP = 16; // u64 parent_ip
export const TRACE_FN_SIZE = 24; // sizeof(struct ftrace_entry)
export const STACK_SIZE = 8; // struct stack_entry: int size
export const STACK_CALLER = 16; // unsigned long caller[size]
export const FTRACE_STACK_MAX = 34; // frames a stacktrace records here (FTC_STACK_MAX + 2)
// struct ftrace_graph_ent_entry (funcgraph_entry): packed struct ftrace_graph_ent after the header
export const FGE_FUNC = 8; // u64 func
export const FGE_DEPTH = 16; // u32 depth
export const FGRAPH_ENT_SIZE = 20; // sizeof(struct ftrace_graph_ent_entry), no args
// struct ftrace_graph_ret_entry (funcgraph_exit, CONFIG_FUNCTION_GRAPH_RETVAL): packed struct
// ftrace_graph_ret, then calltime and rettime
export const FGR_FUNC = 8; // u64 func
export const FGR_RETVAL = 16; // u64 retval
export const FGR_DEPTH = 24; // u32 depth
export const FGR_OVERRUN = 28; // u32 overrun
export const FGR_CALLTIME = 32; // u64
export const FGR_RETTIME = 40; // u64
export const FGRAPH_RET_SIZE = 48;

// enum trace_flag_type
export const TRACE_FLAG_IRQS_OFF = 1;
export const TRACE_FLAG_NEED_RESCHED_LAZY = 2;
export const TRACE_FLAG_NEED_RESCHED = 4;
export const TRACE_FLAG_HARDIRQ = 8;
export const TRACE_FLAG_SOFTIRQ = 16;
export const TRACE_FLAG_PREEMPT_RESCHED = 32;
export const TRACE_FLAG_NMI = 64;
export const TRACE_FLAG_BH_OFF = 128;
// tracing_gen_ctx() flags per interrupt_context_level() (CTX_*), one byte each: normal 0, softirq
// SOFTIRQ, irq HARDIRQ|IRQS_OFF, NMI NMI|HARDIRQ|IRQS_OFF
export const CTX_TRACE_FLAGS = 0x49091000;

// workload ops (numbered from 40, clear of the ring buffer's)
export const OP_FT_CALL = 40; // rec, ip lo, ip hi, parent lo, parent hi, count, duration ns: call a function count times
export const OP_FT_ENTER = 41; // rec, ip lo, ip hi, parent lo, parent hi: call a function and stay in it
export const OP_FT_EXIT = 42; // return from the innermost entered function
export const OP_FT_TASK = 43; // pid, comm id, ret_stack area: switch this CPU's current task
export const OP_FT_IRQFLAGS = 44; // extra TRACE_FLAG_*, preempt count
export const OP_FT_EXIT_RET = 45; // retval lo, retval hi: return from the innermost entered function with a value
export const FT_CALL_BATCH = 4096; // calls between two quiescent points

// results of the accounting passes
export const FTW_UNDERFLOW = -1; // FTRACE_WARN_ON(ftrace_rec_count(rec) == 0)
export const FTW_OVERFLOW = -2; // FTRACE_WARN_ON(ftrace_rec_count(rec) == FTRACE_REF_MAX)

// log codes
export const LOG_FTRACE_DUMP = 64; // ftrace_dump(): arg0 = trace_buffer, arg1 = cpu or -1 (DUMP_ALL), arg2 = FT_TOKEN

// =====================================================================================================
// ---- trace events (kernel/trace/trace_events.c, include/linux/trace_events.h): the host lays out one
// trace_event_call per event and one trace_event_file per (event, trace_array); Wasm writes the events
// =====================================================================================================
// enum trace_type of 6.12 (kernel/trace/trace.h): the static types of the ftrace events; dynamic event types
// are allocated from TRACE_LAST_TYPE on (alloc_trace_event_type)
export const TRACE_CTX = 2;
export const TRACE_WAKE = 3;
export const TRACE_PRINT = 5;
export const TRACE_BPRINT = 6;
export const TRACE_MMIO_RW = 7;
export const TRACE_MMIO_MAP = 8;
export const TRACE_BRANCH = 9;
export const TRACE_USER_STACK = 12;
export const TRACE_BLK = 13;
export const TRACE_BPUTS = 14;
export const TRACE_HWLAT = 15;
export const TRACE_OSNOISE = 16;
export const TRACE_TIMERLAT = 17;
export const TRACE_RAW_DATA = 18;
export const TRACE_FUNC_REPEATS = 19;
export const TRACE_LAST_TYPE = 20;
export const TRACE_EVENT_TYPE_MAX = 65535; // common_type is a u16
export const ENT_SIZE = 8; // sizeof(struct trace_entry): an event's own fields start here

// struct trace_event_call: what a tracepoint site needs
export const EC_TYPE = 0; // event->type
export const EC_FILES = 4; // the enabled trace_event_files (EFL_*), 0 when none: the tracepoint's static key
export const EC_SIZE = 8;

// the probe list of a tracepoint (tracepoint_add_func: a new list is built and swapped in, the old one
// freed after a grace period)
export const EFL_COUNT = 0;
export const EFL_FILES = 4; // EFL_COUNT trace_event_file pointers

// struct trace_event_file (one per event per trace_array)
export const EF_FLAGS = 0; // EVENT_FILE_FL_*
export const EF_TB = 4; // the trace_array's buffer
export const EF_PIDS = 8; // the trace_array's set_event_pid list (PID_*), 0 = no pid filtering
export const EF_FILTER = 12; // the compiled filter program (FP_*), 0 = none
export const EF_TRIGGERS = 16; // the trigger list (TRG_*), 0 = none
export const EF_SIZE = 32;

// enum EVENT_FILE_FL_*_BIT of include/linux/trace_events.h, as masks
export const EVENT_FILE_FL_ENABLED = 1;
export const EVENT_FILE_FL_SOFT_MODE = 32;
export const EVENT_FILE_FL_SOFT_DISABLED = 64;

// a set_event_pid list: PID_COUNT pids, sorted
export const PID_COUNT = 0;
export const PID_LIST = 4;

// a compiled event filter (struct prog_entry[]): FP_COUNT predicates of FPR_SIZE bytes. Each predicate
// tests one field and, like the kernel's prog, jumps: when its result equals FPR_WHEN it goes to
// FPR_TARGET (an index; FP_COUNT means the end with that result as the verdict), else to the next.
export const FP_COUNT = 0;
export const FP_PREDS = 8;
export const FPR_OP = 0; // FOP_*
export const FPR_OFFSET = 4; // field offset in the entry
export const FPR_FIELD_SIZE = 8; // field size in bytes (1, 2, 4, 8; strings: the array's size, 0 for __data_loc)
export const FPR_FLAGS = 12; // FPF_*
export const FPR_VAL = 16; // u64 operand (numbers), or for strings the address of the pattern (u32) and its length (u32 at +4)
export const FPR_WHEN = 24; // 0 or 1
export const FPR_TARGET = 28;
export const FPR_SIZE = 32;
export const FPF_SIGNED = 1;
export const FPF_NOT = 2; // the result is inverted (!=, !~)
export const FPF_DATA_LOC = 4; // a __data_loc string: u32 (len << 16 | offset) at the field's offset
export const FOP_EQ = 1;
export const FOP_LT = 2;
export const FOP_LE = 3;
export const FOP_GT = 4;
export const FOP_GE = 5;
export const FOP_BAND = 6;
export const FOP_STR_EQ = 7; // strncmp of the field and the pattern
export const FOP_GLOB = 8; // glob match (* ? [..]) of the field against the pattern
export const FOP_TRUE = 9; // an always-true predicate (an empty program's result)

// an event's triggers, run by the CPU that hits the event
export const TRG_COUNT = 0;
export const TRG_COND = 4; // EVENT_FILE_FL_TRIGGER_COND: some trigger has a filter, so the record is built first
export const TRG_ENTRIES = 8;
export const TRG_KIND = 0; // TRIG_*
export const TRG_TB = 4; // the trace_array's buffer
export const TRG_COUNTER = 8; // i64: remaining count, -1 = unlimited
export const TRG_FILTER = 16; // the trigger's own filter program, 0 = none
export const TRG_SIZE = 24;
export const TRIG_TRACEON = 1;
export const TRIG_TRACEOFF = 2;
export const TRIG_STACKTRACE = 3;
export const TRIG_SNAPSHOT = 4;

// workload ops of the event layer (numbered from 60)
export const OP_EVENT = 60; // call, payload length, payload (padded to 4 bytes): a tracepoint site (trace_<event>())
export const OP_TRACE_WRITE = 61; // tb, type, payload length, result ptr, trace_event_file whose triggers run on the entry (0 = none), offset of the added newline (0 = none), payload: one entry into one buffer (trace_marker)
// ---- function_graph (kernel/trace/fgraph.c, trace_functions_graph.c) ----
export const FGRAPH_ARRAY_SIZE = 16; // fgraph_array[]: graph users at once
// fgraph_get_task_var() bits of one fgraph_ops on one CPU (trace.h's TRACE_GRAPH_BIT / TRACE_GRAPH_NOTRACE,
// the depth the set_graph_function function was entered at in the low bits)
export const GRAPH_VAR_ACTIVE = -2147483648; // 1 << 31: inside a set_graph_function function
export const GRAPH_VAR_NOTRACE = 1073741824; // 1 << 30: inside a set_graph_notrace function
export const GRAPH_VAR_DEPTH_MASK = 65535;
// FT_GRAPH_FLAGS
export const FGRAPH_FL_SKIP_IRQS = 1; // options/funcgraph-irqs off: ftrace_graph_skip_irqs
export const FGRAPH_FL_NO_GRAPH_TIME = 2; // options/graph-time off: the profiler subtracts the children
export const FGRAPH_FL_NO_SLEEP_TIME = 4; // options/sleep-time off

// ---- the stack tracer (kernel/trace/trace_stack.c): FT_STACK points at this ----
export const STK_LOCK = 0; // max_stack_lock (an atomic spinlock: 0 free, 1 held)
export const STK_MAX_SIZE = 8; // u64 stack_trace_max_size
export const STK_NR_ENTRIES = 16; // stack_trace_nr_entries
export const STK_FRAME_SIZES = 20; // u16 frame size per REC_ID (the emulated text's), FT_PROFILE_CAP entries
export const STK_BASE = 24; // stack bytes below the first traced frame (entry code, pt_regs)
export const STK_ENTRIES = 64; // u64 stack_dump_trace[STACK_TRACE_ENTRIES]
export const STK_INDEX = 584; // u32 stack_trace_index[STACK_TRACE_ENTRIES] (STK_ENTRIES + 65 * 8)
export const STACK_TRACE_ENTRIES = 64;
export const STK_SIZE = 848; // STK_INDEX + (STACK_TRACE_ENTRIES + 2) * 4
