// Dynamic function tracing (kernel/trace/ftrace.c): dyn_ftrace records grouped like the ftrace_pages
// list and found by binary search, ftrace_hash lookups keyed with hash_long(), the ftrace_ops list and
// its dispatch (ftrace_ops_list_func), the callbacks of the function tracer, the function profiler and
// the function-command probes, the workload's call ops, and the passes over every record the host runs
// when ops or hashes change (__ftrace_hash_rec_update, ftrace_replace_code, ftrace_module_enable,
// clear_mod_from_hash). The host allocates everything; nothing here allocates.
import {
  LAYOUT_BASE, H_FTRACE, H_FTRACE_DISABLED, FT_OPS_LIST, FT_GROUPS, FT_START_UP, FT_PERCPU, FT_PROFILE,
  FT_PROFILE_CAP, FT_TOKEN, FT_WARN_REC, FT_GLOBAL_TB, FT_SINGLE_OPS, FG_COUNT, FG_ENTRIES, FG_START, FG_END, FG_RECS, FG_NR,
  FG_ENTRY_SIZE, REC_IP, REC_FLAGS, REC_ID, REC_SIZE, FTRACE_FL_ENABLED, FTRACE_FL_DISABLED, FTRACE_FL_TOUCHED,
  FTRACE_FL_TRAMP_EN, FTRACE_FL_REGS_EN, FTRACE_FL_DIRECT_EN, FTRACE_FL_CALL_OPS_EN, FTRACE_REF_MAX,
  FTRACE_NOCLEAR_FLAGS, FH_COUNT, FH_SIZE_BITS, FH_FLAGS, FH_BUCKETS, FH_ENTRIES, FH_DATA, FH_SIZE, OPS_FLAGS,
  OPS_FILTER, OPS_NOTRACE, OPS_CALLBACK, OPS_ARG, OPS_NEXT, OPS_OPTIONS, FTRACE_OPS_FL_ENABLED,
  FTRACE_OPS_FL_STUB, FT_CB_FUNCTION, FT_CB_PROFILE, FT_CB_PROBE, FUNC_OPT_STACK, PRB_KIND, PRB_TB, PRB_MAPPER,
  PROBE_TRACEON, PROBE_TRACEOFF, PROBE_STACKTRACE, PROBE_DUMP, PROBE_CPUDUMP, FTC_PID, FTC_COMM,
  FTC_EXTRA_FLAGS, FTC_PREEMPT, FTC_DEPTH, FTC_STACK, FTC_STACK_MAX, FTF_REC, FTF_PROFILED, FTF_IP,
  FTF_PARENT, FTF_ENTRY, FTF_SIZE, FTC_SIZE, PROF_HITS, PROF_TIME, PROF_TIME_SQ, PROF_SIZE, TRACE_FN,
  TRACE_STACK, ENT_PID, FN_IP, FN_PARENT_IP, TRACE_FN_SIZE, STACK_SIZE, STACK_CALLER, FTRACE_STACK_MAX,
  CTX_TRACE_FLAGS, TB_RECORD_DISABLED, RB_BUFFER_OFF, FT_CALL_BATCH, FTW_UNDERFLOW, FTW_OVERFLOW,
  LOG_FTRACE_DUMP, CPU_VCLOCK, OPS_PIDS, OPS_NO_PIDS, PRB_FILE, PROBE_ENABLE_EVENT, PROBE_DISABLE_EVENT, PROBE_SNAPSHOT, TB_SNAPSHOT_REQ, EF_FLAGS,
  EVENT_FILE_FL_SOFT_DISABLED,
  FTRACE_HASH_FL_MOD, FH_FLAGS, FT_CB_GRAPH, FT_CB_STACK, FT_GRAPH_HASH, FT_GRAPH_NOTRACE, FT_GRAPH_MAX_DEPTH,
  FT_GRAPH_FLAGS, FT_GRAPH_ARRAY, FT_STACK, OPS_GRAPH_IDX, FTC_GRAPH_DEPTH, FTC_LOST, FTC_OVERRUN, FTC_GRAPH_VARS, FTF_GRAPH,
  FTF_GRAPH_DEPTH, FTF_SUBTIME, TRACE_GRAPH_ENT, TRACE_GRAPH_RET, FGE_FUNC, FGE_DEPTH, FGRAPH_ENT_SIZE, FGR_FUNC,
  FGR_RETVAL, FGR_DEPTH, FGR_OVERRUN, FGR_CALLTIME, FGR_RETTIME, FGRAPH_RET_SIZE, GRAPH_VAR_ACTIVE,
  GRAPH_VAR_NOTRACE, GRAPH_VAR_DEPTH_MASK, FGRAPH_FL_SKIP_IRQS, FGRAPH_FL_NO_GRAPH_TIME, FGRAPH_FL_NO_SLEEP_TIME, TB_CLOCK, CLOCK_VIRTUAL,
  FTC_TASK, TSK_TIMESTAMP,
  CTX_IRQ, CTX_NMI, STK_LOCK, STK_MAX_SIZE, STK_NR_ENTRIES, STK_FRAME_SIZES, STK_BASE, STK_ENTRIES, STK_INDEX,
  STACK_TRACE_ENTRIES,
} from "./abi";
import { pidListed } from "./pid_list";
import { thisCpu, cpuDesc, contextLevel, logRecord } from "./cpu";
import { lockReserve, eventData, unlockCommit } from "./ring_buffer";
import { cpuQuiescent } from "./smp";
import { traceClock } from "./clock";

const GOLDEN_RATIO_64: u64 = 0x61c8864680b583eb;

@inline function ftArea(): usize {
  return load<u32>(LAYOUT_BASE + H_FTRACE);
}

// ---------------------------------------------------------------------------------------------------
// ftrace_hash

// hash_long() on a 64-bit kernel: hash_64_generic()
@inline function hashLong(val: u64, bits: u32): u32 {
  return <u32>((val * GOLDEN_RATIO_64) >> (64 - <u64>bits));
}

// ftrace_hash_key(): one bucket when size_bits is 0 (a shift by 64 would wrap in Wasm)
@inline function ftraceHashKey(hash: usize, ip: u64): u32 {
  const bits = load<u32>(hash, FH_SIZE_BITS);
  return bits != 0 ? hashLong(ip, bits) : 0;
}

// ftrace_hash_empty()
// ftrace_hash_empty(): no entries and no cached :mod: entries (FTRACE_HASH_FL_MOD)
@inline function hashEmpty(hash: usize): bool {
  return hash == 0 || (load<u32>(hash, FH_COUNT) == 0 && (load<u32>(hash, FH_FLAGS) & FTRACE_HASH_FL_MOD) == 0);
}

// __ftrace_lookup_ip(): the entry's index, or -1 (the hash must not be EMPTY_HASH)
@inline function lookupIndex(hash: usize, ip: u64): i32 {
  const b = load<u32>(hash, FH_BUCKETS) + (<usize>ftraceHashKey(hash, ip) << 2);
  let i = load<u32>(b);
  const end = load<u32>(b, 4);
  const ents = load<u32>(hash, FH_ENTRIES);
  while (i < end) {
    if (load<u64>(ents + (<usize>i << 3)) == ip) return <i32>i;
    i++;
  }
  return -1;
}

// ftrace_lookup_ip(): nothing is in an empty hash
@inline function ftraceLookupIp(hash: usize, ip: u64): bool {
  return !hashEmpty(hash) && lookupIndex(hash, ip) >= 0;
}

// The layout of a hash of `count` entries and 1 << bits buckets (the host sizes its allocation with
// the same rule): header, bucket starts, ips, data.
@inline function hashEntriesOff(bits: u32): usize {
  return (FH_SIZE + ((<usize>(1 << bits) + 1) << 2) + 7) & ~7;
}

// alloc_ftrace_hash(bits) and add_hash_entry() of `count` ips (u64 at `ips`, with a u64 datum each
// at `data` when the hash is a ftrace_func_mapper): the buckets' chains are laid out contiguously.
export function ftraceHashBuild(hash: usize, bits: u32, flags: u32, ips: usize, count: u32, data: usize): void {
  const nb: u32 = 1 << bits;
  const buckets = hash + FH_SIZE;
  const ents = hash + hashEntriesOff(bits);
  store<u32>(hash, count, FH_COUNT);
  store<u32>(hash, bits, FH_SIZE_BITS);
  store<u32>(hash, flags, FH_FLAGS);
  store<u32>(hash, <u32>buckets, FH_BUCKETS);
  store<u32>(hash, <u32>ents, FH_ENTRIES);
  const dst = data != 0 ? ents + (<usize>count << 3) : 0;
  store<u32>(hash, <u32>dst, FH_DATA);
  memory.fill(buckets, 0, (<usize>nb + 1) << 2);
  for (let i: u32 = 0; i < count; i++) {
    const ip = load<u64>(ips + (<usize>i << 3));
    const k = bits != 0 ? hashLong(ip, bits) : 0;
    const at = buckets + ((<usize>k + 1) << 2);
    store<u32>(at, load<u32>(at) + 1);
  }
  for (let k: u32 = 1; k <= nb; k++) {
    const at = buckets + (<usize>k << 2);
    store<u32>(at, load<u32>(at) + load<u32>(at - 4));
  }
  for (let i: u32 = 0; i < count; i++) {
    const ip = load<u64>(ips + (<usize>i << 3));
    const k = bits != 0 ? hashLong(ip, bits) : 0;
    const at = buckets + (<usize>k << 2);
    const pos = load<u32>(at);
    store<u32>(at, pos + 1);
    store<u64>(ents + (<usize>pos << 3), ip);
    if (dst != 0) store<u64>(dst + (<usize>pos << 3), load<u64>(data + (<usize>i << 3)));
  }
  for (let k: u32 = nb; k > 0; k--) {
    store<u32>(buckets + (<usize>k << 2), load<u32>(buckets + ((<usize>k - 1) << 2)));
  }
  store<u32>(buckets, 0);
}

// The index of ip in a hash, or -1 (the host reads a mapper's data through it).
export function ftraceHashLookup(hash: usize, ipLo: u32, ipHi: u32): i32 {
  if (hashEmpty(hash)) return -1;
  return lookupIndex(hash, (<u64>ipHi << 32) | <u64>ipLo);
}

// clear_mod_from_hash(): zero the entries of a freed module's records ("do not allow this rec to match
// again"); the count stays. Returns how many were zeroed.
export function ftraceClearModFromHash(hash: usize, recs: usize, nr: u32): u32 {
  if (hashEmpty(hash)) return 0;
  let n: u32 = 0;
  const ents = load<u32>(hash, FH_ENTRIES);
  for (let i: u32 = 0; i < nr; i++) {
    const idx = lookupIndex(hash, load<u64>(recs + <usize>i * REC_SIZE));
    if (idx >= 0) {
      atomic.store<u64>(ents + (<usize>idx << 3), 0);
      n++;
    }
  }
  return n;
}

// ---------------------------------------------------------------------------------------------------
// records

// lookup_rec() / ftrace_location(): the record of ip, or 0. Groups are checked by range, then searched.
export function ftraceLookupRec(ipLo: u32, ipHi: u32): usize {
  return lookupRec((<u64>ipHi << 32) | <u64>ipLo);
}

function lookupRec(ip: u64): usize {
  const table = atomic.load<u32>(ftArea(), FT_GROUPS);
  if (table == 0) return 0;
  const n = load<u32>(table, FG_COUNT);
  for (let g: u32 = 0; g < n; g++) {
    const e = table + FG_ENTRIES + <usize>g * FG_ENTRY_SIZE;
    if (ip < load<u64>(e, FG_START) || ip > load<u64>(e, FG_END)) continue;
    const recs = load<u32>(e, FG_RECS);
    let lo: i32 = 0;
    let hi: i32 = <i32>load<u32>(e, FG_NR) - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const r = recs + <usize>mid * REC_SIZE;
      const rip = load<u64>(r, REC_IP);
      if (rip == ip) return r;
      if (rip < ip) lo = mid + 1;
      else hi = mid - 1;
    }
  }
  return 0;
}

@inline function recCount(flags: u32): u32 {
  return flags & FTRACE_REF_MAX;
}

// skip_record(): a module's record before ftrace_module_enable()
@inline function skipRecord(flags: u32): bool {
  return (flags & FTRACE_FL_DISABLED) != 0 && (flags & <u32>FTRACE_FL_ENABLED) == 0;
}

// ---------------------------------------------------------------------------------------------------
// ftrace_ops tests

// ftrace_ops_test() / hash_contains_ip(): filter empty or holding ip, and ip not in notrace
@inline function ftraceOpsTest(op: usize, ip: u64): bool {
  const filter = atomic.load<u32>(op, OPS_FILTER);
  if (!hashEmpty(filter) && lookupIndex(filter, ip) < 0) return false;
  const notrace = atomic.load<u32>(op, OPS_NOTRACE);
  return hashEmpty(notrace) || lookupIndex(notrace, ip) < 0;
}

// ops_traces_mod(): both hashes empty (before 8c4f3c3fa968: only the filter hash)
@inline function opsTracesMod(op: usize, withNotrace: bool): bool {
  return hashEmpty(load<u32>(op, OPS_FILTER)) && (!withNotrace || hashEmpty(load<u32>(op, OPS_NOTRACE)));
}

// ops_references_ip()
function opsReferencesIp(op: usize, ip: u64): bool {
  if ((load<u32>(op, OPS_FLAGS) & FTRACE_OPS_FL_ENABLED) == 0) return false;
  if (opsTracesMod(op, true)) return true;
  const filter = load<u32>(op, OPS_FILTER);
  if (!hashEmpty(filter) && lookupIndex(filter, ip) < 0) return false;
  if (ftraceLookupIp(load<u32>(op, OPS_NOTRACE), ip)) return false;
  return true;
}

// referenced_filters(): the enabled ops whose hashes take in the record
function referencedFilters(ip: u64): u32 {
  let cnt: u32 = 0;
  for (let op = load<u32>(ftArea(), FT_OPS_LIST); op != 0; op = load<u32>(op, OPS_NEXT)) {
    if (opsReferencesIp(op, ip)) cnt++;
  }
  return cnt;
}

// ---------------------------------------------------------------------------------------------------
// the accounting passes over every record (the host calls these under its ftrace_lock)

// do_for_each_ftrace_rec(): a cursor over every record of every group, skipping the ones
// skip_record() leaves out. Thread-local state: one walk at a time per CPU (the passes never nest).
let curTable: usize = 0;
let curGroups: u32 = 0;
let curGroup: u32 = 0;
let curIndex: u32 = 0;

function recFirst(): usize {
  curTable = load<u32>(ftArea(), FT_GROUPS);
  curGroups = load<u32>(curTable, FG_COUNT);
  curGroup = 0;
  curIndex = 0;
  return recNext();
}

function recNext(): usize {
  while (curGroup < curGroups) {
    const e = curTable + FG_ENTRIES + <usize>curGroup * FG_ENTRY_SIZE;
    const nr = load<u32>(e, FG_NR);
    while (curIndex < nr) {
      const rec = load<u32>(e, FG_RECS) + <usize>curIndex * REC_SIZE;
      curIndex++;
      if (!skipRecord(load<u32>(rec, REC_FLAGS))) return rec;
    }
    curGroup++;
    curIndex = 0;
  }
  return 0;
}

// __ftrace_hash_rec_update(): add (inc) or remove this ops' reference from every record its hashes
// select. Returns the number of records changed, or FTW_UNDERFLOW / FTW_OVERFLOW when FTRACE_WARN_ON
// fired; like the kernel, the pass stops there (FT_WARN_REC holds the record).
export function ftraceHashRecUpdate(op: usize, filterHash: bool, inc: bool): i32 {
  if ((load<u32>(op, OPS_FLAGS) & FTRACE_OPS_FL_ENABLED) == 0) return 0;
  let hash: usize;
  let other: usize;
  let all = false;
  if (filterHash) {
    hash = load<u32>(op, OPS_FILTER);
    other = load<u32>(op, OPS_NOTRACE);
    if (hashEmpty(hash)) all = true;
  } else {
    inc = !inc;
    hash = load<u32>(op, OPS_NOTRACE);
    other = load<u32>(op, OPS_FILTER);
    if (hashEmpty(hash)) return 0;
  }
  const hashCount = hashEmpty(hash) ? 0 : load<u32>(hash, FH_COUNT);
  const otherEmpty = hashEmpty(other);
  const ft = ftArea();
  let count: u32 = 0;
  for (let rec = recFirst(); rec != 0; rec = recNext()) {
    const flags = load<u32>(rec, REC_FLAGS);
    const ip = load<u64>(rec, REC_IP);
    let match = false;
    if (all) {
      // only the filter hash selects all records: those not in the notrace hash
      match = otherEmpty || lookupIndex(other, ip) < 0;
    } else {
      const inHash = lookupIndex(hash, ip) >= 0;
      if (inHash) {
        const inOther = !otherEmpty && lookupIndex(other, ip) >= 0;
        if (filterHash) match = !inOther;
        else match = inOther || otherEmpty;
      }
    }
    if (!match) continue;
    if (inc) {
      const nf = flags + 1;
      atomic.store<u32>(rec, nf, REC_FLAGS);
      if (recCount(nf) == FTRACE_REF_MAX) {
        store<u32>(ft, <u32>rec, FT_WARN_REC);
        return FTW_OVERFLOW;
      }
    } else {
      if (recCount(flags) == 0) {
        store<u32>(ft, <u32>rec, FT_WARN_REC);
        return FTW_UNDERFLOW;
      }
      atomic.store<u32>(rec, flags - 1, REC_FLAGS);
    }
    count++;
    // shortcut: every entry of the hash was handled
    if (!all && count == hashCount) return <i32>count;
  }
  return <i32>count;
}

// ftrace_replace_code() with ftrace_check_record(update): patch (ENABLED, TOUCHED) every record with
// a count, unpatch the others (enable false: FTRACE_DISABLE_CALLS, every record). Returns the number
// of call sites changed.
export function ftraceReplaceCode(enable: bool): u32 {
  let changed: u32 = 0;
  for (let rec = recFirst(); rec != 0; rec = recNext()) {
    const flags = load<u32>(rec, REC_FLAGS);
    const want = enable && recCount(flags) != 0;
    const is = (flags & <u32>FTRACE_FL_ENABLED) != 0;
    if (want == is) continue;
    changed++;
    if (want) {
      atomic.store<u32>(rec, flags | <u32>FTRACE_FL_ENABLED | FTRACE_FL_TOUCHED, REC_FLAGS);
    } else if (recCount(flags) == 0) {
      // no more users: clear all flags but the sticky ones
      atomic.store<u32>(rec, flags & FTRACE_NOCLEAR_FLAGS, REC_FLAGS);
    } else {
      atomic.store<u32>(
        rec,
        flags & ~(<u32>FTRACE_FL_ENABLED | FTRACE_FL_TRAMP_EN | FTRACE_FL_REGS_EN | FTRACE_FL_DIRECT_EN | FTRACE_FL_CALL_OPS_EN),
        REC_FLAGS,
      );
    }
  }
  return changed;
}

// ftrace_module_enable() (with fix 8c4f3c3fa968: each record starts with referenced_filters()) or, with
// `referenced` false, ftrace_update_code() before that fix: every record gets the count of enabled ops
// whose filter hash is empty (ops_traces_mod() then looked at the filter hash only). Returns 0 or
// FTW_OVERFLOW.
export function ftraceModuleEnable(recs: usize, nr: u32, referenced: bool): i32 {
  const ft = ftArea();
  const startUp = load<i32>(ft, FT_START_UP) != 0;
  let ref: u32 = 0;
  if (!referenced) {
    for (let op = load<u32>(ft, FT_OPS_LIST); op != 0; op = load<u32>(op, OPS_NEXT)) {
      if ((load<u32>(op, OPS_FLAGS) & FTRACE_OPS_FL_ENABLED) != 0 && opsTracesMod(op, false)) ref++;
    }
  }
  for (let i: u32 = 0; i < nr; i++) {
    const rec = recs + <usize>i * REC_SIZE;
    let cnt = ref;
    if (referenced && startUp) cnt = referencedFilters(load<u64>(rec, REC_IP));
    const flags = (load<u32>(rec, REC_FLAGS) & ~FTRACE_FL_DISABLED) + cnt;
    atomic.store<u32>(rec, flags, REC_FLAGS);
    if (recCount(flags) >= <u32>FTRACE_REF_MAX) {
      store<u32>(ft, <u32>rec, FT_WARN_REC);
      return FTW_OVERFLOW;
    }
  }
  return 0;
}

// The invariant of the accounting: every record's count is the number of enabled ops whose hashes
// take it in (hash_contains_ip). Returns the number of records that differ; FT_WARN_REC gets the first.
export function ftraceCheckCounts(): u32 {
  const ft = ftArea();
  let bad: u32 = 0;
  for (let rec = recFirst(); rec != 0; rec = recNext()) {
    const flags = load<u32>(rec, REC_FLAGS);
    const ip = load<u64>(rec, REC_IP);
    let want: u32 = 0;
    for (let op = load<u32>(ft, FT_OPS_LIST); op != 0; op = load<u32>(op, OPS_NEXT)) {
      if ((load<u32>(op, OPS_FLAGS) & FTRACE_OPS_FL_ENABLED) != 0 && ftraceOpsTest(op, ip)) want++;
    }
    if (recCount(flags) != want) {
      if (bad == 0) store<u32>(ft, <u32>rec, FT_WARN_REC);
      bad++;
    }
  }
  return bad;
}

// ---------------------------------------------------------------------------------------------------
// this CPU's state: current task, flags, call stack (cached in thread-local globals)

let ftCpu: i32 = -2;
let ftPcpu: usize = 0;
let ftPid: i32 = 0;
let ftExtraFlags: u32 = 0;
let ftPreempt: u32 = 0;
let ftProfiled: bool = false; // the profiler counted the call being dispatched
// function_graph_enter_regs() of the call being dispatched: the depth every fgraph_ops sees (-1: the
// shadow stack is full) and the bitmap of those whose entry took the call
let fgDepth: i32 = 0;
let fgMask: u32 = 0;
let fgOverrun: bool = false; // this call's push was refused and counted

@inline function ftEnsure(): void {
  if (ftCpu != thisCpu) {
    ftCpu = thisCpu;
    ftPcpu = load<u32>(ftArea(), FT_PERCPU) + <usize>thisCpu * FTC_SIZE;
    ftPid = load<i32>(ftPcpu, FTC_PID);
    ftExtraFlags = load<u32>(ftPcpu, FTC_EXTRA_FLAGS);
    ftPreempt = load<u32>(ftPcpu, FTC_PREEMPT);
  }
}

// tracing_gen_ctx(): the entry's flags and preempt_count in one word, as struct trace_entry lays them
// out after its u16 type
@inline function traceCtx(): u32 {
  const flags = ((<u32>CTX_TRACE_FLAGS >>> (<u32>contextLevel << 3)) & 0xff) | ftExtraFlags;
  return (flags << 16) | (ftPreempt << 24);
}

// The struct trace_entry every event starts with: its type, tracing_gen_ctx() and current->pid
export function traceEntryInit(d: usize, type: u32): void {
  ftEnsure();
  store<u32>(d, type | traceCtx());
  store<i32>(d, ftPid, ENT_PID);
}

// current->pid on this CPU
export function currentPid(): i32 {
  ftEnsure();
  return ftPid;
}

// A stack trace of the code running on this CPU (an event trigger's stacktrace): the entered frames
export function traceStackHere(tb: usize): void {
  ftEnsure();
  const depth = load<u32>(ftPcpu, FTC_DEPTH);
  if (depth == 0) return;
  const f = ftPcpu + FTC_STACK + <usize>(depth - 1) * FTF_SIZE;
  traceStack(tb, load<u64>(f, FTF_IP), load<u64>(f, FTF_PARENT));
}

// tracer_tracing_is_on() of a trace_array, by its buffer's RB_BUFFER_OFF bit
@inline function tracingIsOn(tb: usize): bool {
  return (atomic.load<i32>(tb, TB_RECORD_DISABLED) & RB_BUFFER_OFF) == 0;
}

// ring_buffer_record_on() / ring_buffer_record_off()
@inline function tracingOn(tb: usize): void {
  atomic.and<i32>(tb + TB_RECORD_DISABLED, ~RB_BUFFER_OFF);
}

@inline function tracingOff(tb: usize): void {
  atomic.or<i32>(tb + TB_RECORD_DISABLED, RB_BUFFER_OFF);
}

// tracing_snapshot_instance(): the swap with the snapshot buffer (update_max_tr) is the host's, which
// serves the request when this CPU's workload ends; a call in NMI context is ignored, as the kernel
// ignores it
export function requestSnapshot(tb: usize): void {
  if (contextLevel == CTX_NMI) return;
  atomic.add<u32>(tb + TB_SNAPSHOT_REQ, 1);
}

// ---------------------------------------------------------------------------------------------------
// callbacks

// trace_function(): a TRACE_FN event into this CPU's buffer of the trace_array
@inline function traceFunction(tb: usize, ip: u64, parent: u64): void {
  const ev = lockReserve(tb, TRACE_FN_SIZE);
  if (ev == 0) return;
  const d = eventData(ev);
  store<u32>(d, <u32>TRACE_FN | traceCtx());
  store<i32>(d, ftPid, ENT_PID);
  store<u64>(d, ip, FN_IP);
  store<u64>(d, parent, FN_PARENT_IP);
  unlockCommit(tb);
}

// __ftrace_trace_stack(): a TRACE_STACK event (struct stack_entry) with the emulated call chain: the
// function, its return address, and the return addresses of the frames the workload entered
function traceStack(tb: usize, ip: u64, parent: u64): void {
  const depth = load<u32>(ftPcpu, FTC_DEPTH);
  let nr: u32 = 1 + (parent != 0 ? 1 : 0);
  for (let i = <i32>depth - 1; i >= 0; i--) {
    if (load<u64>(ftPcpu + FTC_STACK + <usize>i * FTF_SIZE, FTF_PARENT) != 0) nr++;
  }
  if (nr > <u32>FTRACE_STACK_MAX) nr = FTRACE_STACK_MAX;
  const ev = lockReserve(tb, STACK_CALLER + (nr << 3));
  if (ev == 0) return;
  const d = eventData(ev);
  store<u32>(d, <u32>TRACE_STACK | traceCtx());
  store<i32>(d, ftPid, ENT_PID);
  store<i32>(d, nr, STACK_SIZE);
  store<i32>(d, 0, STACK_SIZE + 4);
  let out = d + STACK_CALLER;
  let n: u32 = 0;
  store<u64>(out, ip);
  out += 8;
  n++;
  if (parent != 0 && n < nr) {
    store<u64>(out, parent);
    out += 8;
    n++;
  }
  for (let i = <i32>depth - 1; i >= 0 && n < nr; i--) {
    const p = load<u64>(ftPcpu + FTC_STACK + <usize>i * FTF_SIZE, FTF_PARENT);
    if (p == 0) continue;
    store<u64>(out, p);
    out += 8;
    n++;
  }
  unlockCommit(tb);
}

// ftrace_trace_task(): set_ftrace_pid and set_ftrace_notrace_pid of the ops' trace_array decide by the
// current task
@inline function ftraceTraceTask(op: usize): bool {
  const pids = load<u32>(op, OPS_PIDS);
  if (pids != 0 && !pidListed(pids, ftPid)) return false;
  const noPids = load<u32>(op, OPS_NO_PIDS);
  return noPids == 0 || !pidListed(noPids, ftPid);
}

// function_trace_call() (and function_stack_trace_call() with options/func_stack_trace), behind
// ftrace_pid_func()
@inline function functionTraceCall(op: usize, ip: u64, parent: u64): void {
  if (!ftraceTraceTask(op)) return;
  const tb = load<u32>(op, OPS_ARG);
  traceFunction(tb, ip, parent);
  if (load<u32>(op, OPS_OPTIONS) & FUNC_OPT_STACK) traceStack(tb, ip, parent);
}

// function_profile_call(): the hit; the time comes at the function's return (profile_graph_return)
function functionProfileCall(rec: usize): void {
  const table = atomic.load<u32>(ftArea(), FT_PROFILE);
  if (table == 0) return;
  const id = load<u32>(rec, REC_ID);
  if (id >= load<u32>(ftArea(), FT_PROFILE_CAP)) return;
  const stat = load<u32>(table + (<usize>thisCpu << 2)) + <usize>id * PROF_SIZE;
  store<u64>(stat, load<u64>(stat, PROF_HITS) + 1, PROF_HITS);
  ftProfiled = true;
}

// profile_graph_return(): rettime - calltime; with graph-time off the time of the profiled children
// (accumulated in the frame's subtime) is taken out, and this call's time is added to the parent's.
// As up to 6.8: children that took all of it leave 0 (6.9's rewrite also zeroes calls without children)
function profileReturn(rec: usize, time: u64, subtime: u64): void {
  const table = atomic.load<u32>(ftArea(), FT_PROFILE);
  if (table == 0 || rec == 0) return;
  const id = load<u32>(rec, REC_ID);
  if (id >= load<u32>(ftArea(), FT_PROFILE_CAP)) return;
  if (load<u32>(ftArea(), FT_GRAPH_FLAGS) & FGRAPH_FL_NO_GRAPH_TIME) {
    const parent = profiledParent();
    if (parent != 0) store<u64>(parent, load<u64>(parent, FTF_SUBTIME) + time, FTF_SUBTIME);
    time = subtime < time ? time - subtime : 0;
  }
  const stat = load<u32>(table + (<usize>thisCpu << 2)) + <usize>id * PROF_SIZE;
  store<u64>(stat, load<u64>(stat, PROF_TIME) + time, PROF_TIME);
  store<u64>(stat, load<u64>(stat, PROF_TIME_SQ) + time * time, PROF_TIME_SQ);
}

// fgraph_retrieve_parent_data(): the innermost frame on the stack the profiler entered, or 0
function profiledParent(): usize {
  for (let i = <i32>load<u32>(ftPcpu, FTC_DEPTH) - 1; i >= 0; i--) {
    const f = ftPcpu + FTC_STACK + <usize>i * FTF_SIZE;
    if (load<u32>(f, FTF_PROFILED) != 0) return f;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------------
// function_graph (fgraph.c, trace_functions_graph.c)

// trace_clock_local() for calltime and rettime: the top-level buffer's clock; the virtual clock is read
// without advancing it, so a call's time is exactly what the workload spent in it
@inline function graphClock(): u64 {
  const id = load<i32>(load<u32>(ftArea(), FT_GLOBAL_TB), TB_CLOCK);
  return id == CLOCK_VIRTUAL ? load<u64>(cpuDesc, CPU_VCLOCK) : traceClock(id);
}

@inline function graphVar(idx: u32): usize {
  return ftPcpu + FTC_GRAPH_VARS + (<usize>idx << 2);
}

// graph_entry() of one fgraph_ops (trace_graph_entry): set_graph_notrace, ftrace_graph_ignore_func()
// (set_graph_function and max_graph_depth), ftrace_graph_ignore_irqs(), then a TRACE_GRAPH_ENT event
function graphEntry(op: usize, ip: u64): void {
  if (fgDepth < 0) {
    // ftrace_push_return_trace(): the return stack is full (atomic_inc(&current->trace_overrun))
    if (!fgOverrun) store<u32>(ftPcpu, load<u32>(ftPcpu, FTC_OVERRUN) + 1, FTC_OVERRUN);
    fgOverrun = true;
    return;
  }
  const idx = load<u32>(op, OPS_GRAPH_IDX);
  const varp = graphVar(idx);
  let v = load<u32>(varp);
  if (v & <u32>GRAPH_VAR_NOTRACE) return;
  const ft = ftArea();
  // ftrace_graph_notrace_addr(): taken, so that its return clears the bit
  const nt = load<u32>(ft, FT_GRAPH_NOTRACE);
  if (!hashEmpty(nt) && lookupIndex(nt, ip) >= 0) {
    store<u32>(varp, v | <u32>GRAPH_VAR_NOTRACE);
    fgMask |= <u32>1 << idx;
    return;
  }
  if (!ftraceTraceTask(op)) return;
  // ftrace_graph_addr(): nested in a set_graph_function function, or one of them
  if ((v & <u32>GRAPH_VAR_ACTIVE) == 0) {
    const gh = load<u32>(ft, FT_GRAPH_HASH);
    if (!hashEmpty(gh)) {
      if (lookupIndex(gh, ip) < 0) return;
      store<u32>(varp, <u32>GRAPH_VAR_ACTIVE | (<u32>fgDepth & <u32>GRAPH_VAR_DEPTH_MASK));
    }
  }
  const maxDepth = load<u32>(ft, FT_GRAPH_MAX_DEPTH);
  if (maxDepth != 0 && <u32>fgDepth >= maxDepth) return;
  if ((load<u32>(ft, FT_GRAPH_FLAGS) & FGRAPH_FL_SKIP_IRQS) != 0 && contextLevel >= CTX_IRQ) return;
  // __graph_entry()
  const tb = load<u32>(op, OPS_ARG);
  const ev = lockReserve(tb, FGRAPH_ENT_SIZE);
  if (ev == 0) return;
  const d = eventData(ev);
  store<u32>(d, <u32>TRACE_GRAPH_ENT | traceCtx());
  store<i32>(d, ftPid, ENT_PID);
  store<u64>(d, ip, FGE_FUNC);
  store<u32>(d, <u32>fgDepth, FGE_DEPTH);
  unlockCommit(tb);
  fgMask |= <u32>1 << idx;
}

// ftrace_return_to_handler(): trace_graph_return() of every fgraph_ops in the frame's bitmap
function graphReturn(mask: u32, ip: u64, depth: u32, calltime: u64, rettime: u64, retval: u64): void {
  const arr = load<u32>(ftArea(), FT_GRAPH_ARRAY);
  while (mask != 0) {
    const idx = <u32>ctz(mask);
    mask &= mask - 1;
    const varp = graphVar(idx);
    let v = load<u32>(varp);
    // ftrace_graph_addr_finish()
    if ((v & <u32>GRAPH_VAR_ACTIVE) != 0 && (v & <u32>GRAPH_VAR_DEPTH_MASK) == depth) v &= ~<u32>GRAPH_VAR_ACTIVE;
    if (v & <u32>GRAPH_VAR_NOTRACE) v &= ~<u32>GRAPH_VAR_NOTRACE;
    else {
      const op = arr != 0 ? atomic.load<u32>(arr + (<usize>idx << 2)) : 0;
      if (op != 0) graphRetEvent(load<u32>(op, OPS_ARG), ip, depth, calltime, rettime, retval);
    }
    store<u32>(varp, v);
  }
}

// __trace_graph_return(): a TRACE_GRAPH_RET event
function graphRetEvent(tb: usize, ip: u64, depth: u32, calltime: u64, rettime: u64, retval: u64): void {
  const ev = lockReserve(tb, FGRAPH_RET_SIZE);
  if (ev == 0) return;
  const d = eventData(ev);
  store<u32>(d, <u32>TRACE_GRAPH_RET | traceCtx());
  store<i32>(d, ftPid, ENT_PID);
  store<u64>(d, ip, FGR_FUNC);
  store<u64>(d, retval, FGR_RETVAL);
  store<u32>(d, depth, FGR_DEPTH);
  store<u32>(d, load<u32>(ftPcpu, FTC_OVERRUN), FGR_OVERRUN);
  store<u64>(d, calltime, FGR_CALLTIME);
  store<u64>(d, rettime, FGR_RETTIME);
  unlockCommit(tb);
}

// ---------------------------------------------------------------------------------------------------
// the stack tracer (trace_stack.c)

@inline function frameSize(table: usize, rec: usize): u64 {
  if (rec == 0) return 0;
  return <u64>load<u16>(table + (<usize>load<u32>(rec, REC_ID) << 1));
}

// stack_trace_call() -> check_stack(): the stack in use when ip is called is every entered function's
// frame plus ip's own and the entry code below them; a new maximum records the chain, innermost first,
// with the depth each row's frame reaches (stack_trace_index)
function stackTraceCall(rec: usize, ip: u64, parent: u64): void {
  const stk = atomic.load<u32>(ftArea(), FT_STACK);
  if (stk == 0 || contextLevel == CTX_NMI) return;
  const sizes = load<u32>(stk, STK_FRAME_SIZES);
  const depth = <i32>load<u32>(ftPcpu, FTC_DEPTH);
  let size = <u64>load<u32>(stk, STK_BASE) + frameSize(sizes, rec);
  for (let i = 0; i < depth; i++) size += frameSize(sizes, load<u32>(ftPcpu + FTC_STACK + <usize>i * FTF_SIZE, FTF_REC));
  if (size <= atomic.load<u64>(stk, STK_MAX_SIZE)) return;
  // arch_spin_lock(&stack_trace_max_lock)
  while (atomic.cmpxchg<u32>(stk + STK_LOCK, 0, 1) != 0) {}
  if (size > load<u64>(stk, STK_MAX_SIZE)) {
    atomic.store<u64>(stk, size, STK_MAX_SIZE);
    let n: u32 = 0;
    let at = size;
    store<u64>(stk + STK_ENTRIES, ip);
    store<u32>(stk + STK_INDEX, <u32>at);
    n++;
    let ret = parent;
    for (let i = depth - 1; i >= 0 && n < <u32>STACK_TRACE_ENTRIES; i--) {
      const f = ftPcpu + FTC_STACK + <usize>i * FTF_SIZE;
      at -= frameSize(sizes, i == depth - 1 ? rec : load<u32>(f + FTF_SIZE, FTF_REC));
      store<u64>(stk + STK_ENTRIES + (<usize>n << 3), ret != 0 ? ret : load<u64>(f, FTF_IP));
      store<u32>(stk + STK_INDEX + (<usize>n << 2), <u32>at);
      n++;
      ret = load<u64>(f, FTF_PARENT);
    }
    store<u32>(stk, n, STK_NR_ENTRIES);
  }
  atomic.store<u32>(stk + STK_LOCK, 0);
}

// ftrace_dump() asked for by a probe: tracing goes off (ftrace_dump_one: tracer_tracing_off) and the
// host prints the buffer into the log when it formats the record
function ftraceDump(tb: usize, cpu: i32): void {
  tracingOff(tb);
  logRecord(LOG_FTRACE_DUMP, <u32>tb, <u32>cpu, load<u32>(ftArea(), FT_TOKEN));
}

// function_trace_probe_call() with the probe_ops of trace_functions.c
function probeCall(op: usize, ip: u64, parent: u64): void {
  const prb = load<u32>(op, OPS_ARG);
  const kind = load<u32>(prb, PRB_KIND);
  const mapper = load<u32>(prb, PRB_MAPPER);
  let count: usize = 0; // ftrace_func_mapper_find_ip(): the counter, or none for the unlimited ops
  if (mapper != 0) {
    if (hashEmpty(mapper)) return;
    const idx = lookupIndex(mapper, ip);
    if (idx < 0) return;
    count = load<u32>(mapper, FH_DATA) + (<usize>idx << 3);
  }
  if (kind == PROBE_TRACEON || kind == PROBE_TRACEOFF) {
    const tb = load<u32>(prb, PRB_TB);
    const on = kind == PROBE_TRACEON;
    if (count == 0) {
      // ftrace_traceon() / ftrace_traceoff()
      if (tracingIsOn(tb) == on) return;
      if (on) tracingOn(tb);
      else tracingOff(tb);
      return;
    }
    // update_traceon_count(): once per count, and only when the state really changes; the counter
    // goes down once even when two CPUs race here
    const old = atomic.load<i64>(count);
    if (old <= 0) return;
    if (tracingIsOn(tb) == on) return;
    if (on) tracingOn(tb);
    else tracingOff(tb);
    atomic.cmpxchg<i64>(count, old, old - 1);
    return;
  }
  if (kind == PROBE_ENABLE_EVENT || kind == PROBE_DISABLE_EVENT) {
    // event_enable_probe() / event_enable_count_probe(): the count goes down only when the event's
    // soft-disabled state really changes
    const file = load<u32>(prb, PRB_FILE);
    const enable = kind == PROBE_ENABLE_EVENT;
    const isOn = (atomic.load<u32>(file, EF_FLAGS) & EVENT_FILE_FL_SOFT_DISABLED) == 0;
    if (count != 0) {
      const old = atomic.load<i64>(count);
      if (old == 0) return;
      if (enable == isOn) return;
      if (old > 0) atomic.cmpxchg<i64>(count, old, old - 1);
    }
    if (enable) atomic.and<u32>(file + EF_FLAGS, ~(<u32>EVENT_FILE_FL_SOFT_DISABLED));
    else atomic.or<u32>(file + EF_FLAGS, EVENT_FILE_FL_SOFT_DISABLED);
    return;
  }
  if (kind == PROBE_SNAPSHOT) {
    // ftrace_snapshot() / ftrace_count_snapshot(): a counted probe snapshots while its count is above 0
    if (count != 0) {
      while (true) {
        const old = atomic.load<i64>(count);
        if (old <= 0) return;
        if (atomic.cmpxchg<i64>(count, old, old - 1) == old) break;
      }
    }
    requestSnapshot(load<u32>(prb, PRB_TB));
    return;
  }
  const global = load<u32>(ftArea(), FT_GLOBAL_TB);
  if (kind == PROBE_STACKTRACE) {
    // ftrace_stacktrace() / ftrace_stacktrace_count(): gated by the top level's tracing_is_on(), the
    // stack goes into the probe's own trace_array (trace_stack(tr))
    const tb = load<u32>(prb, PRB_TB);
    if (!tracingIsOn(global)) return;
    if (count == 0) {
      traceStack(tb, ip, parent);
      return;
    }
    while (true) {
      const old = atomic.load<i64>(count);
      if (old == 0) return;
      const seen = atomic.cmpxchg<i64>(count, old, old - 1);
      if (seen == old) traceStack(tb, ip, parent);
      if (!tracingIsOn(global)) return;
      if (seen == old) return;
    }
  }
  if (kind == PROBE_DUMP || kind == PROBE_CPUDUMP) {
    // ftrace_dump_probe() / ftrace_cpudump_probe(): update_count(), then ftrace_dump(DUMP_ALL / DUMP_ORIG)
    if (count != 0) {
      while (true) {
        const old = atomic.load<i64>(count);
        if (old <= 0) return;
        if (atomic.cmpxchg<i64>(count, old, old - 1) == old) break;
      }
    }
    ftraceDump(global, kind == PROBE_DUMP ? -1 : thisCpu);
  }
}

// ftrace_ops_list_func() / __ftrace_ops_list_func(): every ops on ftrace_ops_list, newest first, whose
// hashes take in ip. After ftrace_kill() the trampoline calls ftrace_stub.
function ftraceOpsListFunc(rec: usize, ip: u64, parent: u64): void {
  if (atomic.load<i32>(LAYOUT_BASE + H_FTRACE_DISABLED) != 0) return;
  const ft = ftArea();
  // update_ftrace_function(): a single static ops is called directly (its records are the only ones
  // patched), without the list walk and ftrace_ops_test()
  const single = atomic.load<u32>(ft, FT_SINGLE_OPS);
  if (single != 0) {
    opsCall(single, rec, ip, parent);
    return;
  }
  let op = atomic.load<u32>(ft, FT_OPS_LIST);
  while (op != 0) {
    if ((load<u32>(op, OPS_FLAGS) & FTRACE_OPS_FL_STUB) == 0 && ftraceOpsTest(op, ip)) opsCall(op, rec, ip, parent);
    op = atomic.load<u32>(op, OPS_NEXT);
  }
}

@inline function opsCall(op: usize, rec: usize, ip: u64, parent: u64): void {
  const cb = load<u32>(op, OPS_CALLBACK);
  if (cb == FT_CB_FUNCTION) functionTraceCall(op, ip, parent);
  else if (cb == FT_CB_PROFILE) functionProfileCall(rec);
  else if (cb == FT_CB_PROBE) probeCall(op, ip, parent);
  else if (cb == FT_CB_GRAPH) graphEntry(op, ip);
  else if (cb == FT_CB_STACK) stackTraceCall(rec, ip, parent);
}

// ---------------------------------------------------------------------------------------------------
// the workload's call ops (the interpreter in workload.ts hands them the op's address)

// The call site as the workload resolved it: the record, if it still describes ip (a module may have
// been unloaded or reloaded since), else a fresh lookup.
@inline function callSite(rec: usize, ip: u64): usize {
  if (rec != 0 && atomic.load<u64>(rec, REC_IP) == ip) return rec;
  return lookupRec(ip);
}

@inline function advanceClock(ns: u64): void {
  store<u64>(cpuDesc, load<u64>(cpuDesc, CPU_VCLOCK) + ns, CPU_VCLOCK);
}

// The trampoline's work once a patched call site jumped to it: every ops' callback, then (for the
// graph users and the profiler) the body's start time. The shadow stack has room for the frame unless
// `room` is false (function_graph_enter_regs() then takes nothing).
@inline function dispatch(rec: usize, ip: u64, parent: u64, room: bool): void {
  ftProfiled = false;
  fgMask = 0;
  fgOverrun = false;
  fgDepth = room ? <i32>load<u32>(ftPcpu, FTC_GRAPH_DEPTH) : -1;
  ftraceOpsListFunc(rec, ip, parent);
}

// One traced call of a function that calls nothing traced: entry, `ns` in the body, return.
@inline function tracedCall(rec: usize, ip: u64, parent: u64, ns: u64): void {
  dispatch(rec, ip, parent, load<u32>(ftPcpu, FTC_DEPTH) < <u32>FTC_STACK_MAX);
  if ((fgMask | <u32>ftProfiled) == 0) {
    if (ns != 0) advanceClock(ns);
    return;
  }
  const calltime = graphClock();
  if (ns != 0) advanceClock(ns);
  const rettime = graphClock();
  if (fgMask != 0) graphReturn(fgMask, ip, <u32>fgDepth, calltime, rettime, 0);
  if (ftProfiled) profileReturn(rec, rettime - calltime, 0);
}

// The hot loop: a call site whose record is not enabled costs a load and a test.
function callLoop(rec: usize, ip: u64, parent: u64, n: u32, ns: u64): void {
  for (let i: u32 = 0; i < n; i++) {
    if (atomic.load<i32>(rec, REC_FLAGS) < 0) tracedCall(rec, ip, parent, ns);
    else if (ns != 0) advanceClock(ns);
  }
}

// OP_FT_CALL rec, ip lo, ip hi, parent lo, parent hi, count, duration
export function ftOpCall(pc: usize): void {
  ftEnsure();
  const ip = (<u64>load<u32>(pc, 12) << 32) | <u64>load<u32>(pc, 8);
  const parent = (<u64>load<u32>(pc, 20) << 32) | <u64>load<u32>(pc, 16);
  let left = load<u32>(pc, 24);
  const ns = <u64>load<u32>(pc, 28);
  let rec = load<u32>(pc, 4);
  while (left > 0) {
    rec = callSite(rec, ip);
    const n = left < <u32>FT_CALL_BATCH ? left : <u32>FT_CALL_BATCH;
    if (rec != 0) callLoop(rec, ip, parent, n, ns);
    else if (ns != 0) advanceClock(ns * n);
    left -= n;
    cpuQuiescent();
  }
}

// OP_FT_ENTER rec, ip lo, ip hi, parent lo, parent hi: call and stay inside (nested calls follow)
export function ftOpEnter(pc: usize): void {
  ftEnsure();
  const ip = (<u64>load<u32>(pc, 12) << 32) | <u64>load<u32>(pc, 8);
  const parent = (<u64>load<u32>(pc, 20) << 32) | <u64>load<u32>(pc, 16);
  const rec = callSite(load<u32>(pc, 4), ip);
  const depth = load<u32>(ftPcpu, FTC_DEPTH);
  const room = depth < <u32>FTC_STACK_MAX;
  ftProfiled = false;
  fgMask = 0;
  if (rec != 0 && atomic.load<i32>(rec, REC_FLAGS) < 0) dispatch(rec, ip, parent, room);
  if (!room) {
    // no frame: its exit pops nothing
    store<u32>(ftPcpu, load<u32>(ftPcpu, FTC_LOST) + 1, FTC_LOST);
    return;
  }
  const f = ftPcpu + FTC_STACK + <usize>depth * FTF_SIZE;
  store<u32>(f, <u32>rec, FTF_REC);
  store<u32>(f, ftProfiled ? 1 : 0, FTF_PROFILED);
  store<u64>(f, ip, FTF_IP);
  store<u64>(f, parent, FTF_PARENT);
  store<u32>(f, fgMask, FTF_GRAPH);
  store<u32>(f, <u32>fgDepth, FTF_GRAPH_DEPTH);
  store<u64>(f, 0, FTF_SUBTIME);
  store<u64>(f, (fgMask | <u32>ftProfiled) != 0 ? graphClock() : 0, FTF_ENTRY);
  if (fgMask != 0) store<u32>(ftPcpu, <u32>fgDepth + 1, FTC_GRAPH_DEPTH);
  store<u32>(ftPcpu, depth + 1, FTC_DEPTH);
}

// OP_FT_EXIT / OP_FT_EXIT_RET: the innermost entered function returns (with `retval` in the return
// register, what funcgraph-retval prints)
export function ftOpExit(retval: u64): void {
  ftEnsure();
  const lost = load<u32>(ftPcpu, FTC_LOST);
  if (lost != 0) {
    store<u32>(ftPcpu, lost - 1, FTC_LOST);
    return;
  }
  const depth = load<u32>(ftPcpu, FTC_DEPTH);
  if (depth == 0) return;
  const f = ftPcpu + FTC_STACK + <usize>(depth - 1) * FTF_SIZE;
  const mask = load<u32>(f, FTF_GRAPH);
  const profiled = load<u32>(f, FTF_PROFILED) != 0;
  if (mask != 0 || profiled) {
    const rettime = graphClock();
    const calltime = load<u64>(f, FTF_ENTRY);
    const ip = load<u64>(f, FTF_IP);
    if (mask != 0) {
      const gdepth = load<u32>(f, FTF_GRAPH_DEPTH);
      graphReturn(mask, ip, gdepth, calltime, rettime, retval);
      store<u32>(ftPcpu, gdepth, FTC_GRAPH_DEPTH);
    }
    // the parent frame is still below this one while profileReturn looks for it
    store<u32>(ftPcpu, depth - 1, FTC_DEPTH);
    if (profiled) profileReturn(callSite(load<u32>(f, FTF_REC), ip), rettime - calltime, load<u64>(f, FTF_SUBTIME));
  }
  store<u32>(ftPcpu, depth - 1, FTC_DEPTH);
}

// The per-task part of a CPU's ftrace state (current->ret_stack and its vars, curr_ret_depth,
// trace_overrun) between the CPU's area and a task's: the header words before FTC_TASK, the frames in
// use, the graph vars.
function copyTaskState(dst: usize, src: usize): void {
  memory.copy(dst + FTC_DEPTH, src + FTC_DEPTH, FTC_TASK - FTC_DEPTH);
  memory.copy(dst + FTC_STACK, src + FTC_STACK, <usize>load<u32>(src, FTC_DEPTH) * FTF_SIZE);
  memory.copy(dst + FTC_GRAPH_VARS, src + FTC_GRAPH_VARS, FTC_SIZE - FTC_GRAPH_VARS);
}

// A context switch between two tasks with ret_stacks of their own: prev's shadow stack is put away
// and next's comes back, so each task returns through its own frames (fgraph.c keeps one per task).
// With sleep-time off, ftrace_graph_probe_sched_switch() moves next's calltimes on by the time it was
// off CPU, so that time is not counted in its functions' durations.
function switchRetStack(prev: usize, next: usize): void {
  const now = graphClock();
  if (prev != 0) {
    copyTaskState(prev, ftPcpu);
    store<u64>(prev, now, TSK_TIMESTAMP);
  }
  if (next == 0) {
    memory.fill(ftPcpu + FTC_DEPTH, 0, FTC_TASK - FTC_DEPTH);
    memory.fill(ftPcpu + FTC_GRAPH_VARS, 0, FTC_SIZE - FTC_GRAPH_VARS);
  } else {
    copyTaskState(ftPcpu, next);
    const slept = load<u64>(next, TSK_TIMESTAMP);
    // (a task last switched out on another CPU may read a later stamp on the virtual clock)
    if ((load<u32>(ftArea(), FT_GRAPH_FLAGS) & FGRAPH_FL_NO_SLEEP_TIME) != 0 && slept != 0 && now > slept) {
      const depth = <usize>load<u32>(ftPcpu, FTC_DEPTH);
      for (let i: usize = 0; i < depth; i++) {
        const f = ftPcpu + FTC_STACK + i * FTF_SIZE;
        store<u64>(f, load<u64>(f, FTF_ENTRY) + (now - slept), FTF_ENTRY);
      }
    }
  }
  store<u32>(ftPcpu, <u32>next, FTC_TASK);
}

// OP_FT_TASK pid, comm, ret_stack area: a context switch to another task
export function ftOpTask(pid: i32, comm: u32, area: u32): void {
  ftEnsure();
  const prev = load<u32>(ftPcpu, FTC_TASK);
  if (area != prev) switchRetStack(prev, area);
  ftPid = pid;
  store<i32>(ftPcpu, pid, FTC_PID);
  store<u32>(ftPcpu, comm, FTC_COMM);
}

// OP_FT_IRQFLAGS flags, preempt count
export function ftOpIrqFlags(flags: u32, preempt: u32): void {
  ftEnsure();
  ftExtraFlags = flags & 0xff;
  ftPreempt = preempt & 0xff;
  store<u32>(ftPcpu, ftExtraFlags, FTC_EXTRA_FLAGS);
  store<u32>(ftPcpu, ftPreempt, FTC_PREEMPT);
}
