// The ftrace core on the host (kernel/trace/ftrace.c, kernel/trace/trace_functions.c): the record groups
// (ftrace_pages), ftrace_ops and their filter/notrace hashes, register/unregister with the record
// accounting (ftrace_startup / ftrace_shutdown, __ftrace_hash_rec_update in Wasm), ftrace_set_filter /
// ftrace_set_notrace, the nop and function tracers of every trace_array, the function profiler, the
// function-command probes, module load/unload (ftrace_module_init / ftrace_module_enable /
// ftrace_release_mod, with fix 8c4f3c3fa968 switchable), and FTRACE_WARN_ON -> ftrace_kill().
//
// Concurrency: every change runs under one host lock (ftrace_lock / ftrace_regex_lock). Shared tables
// (hashes, ops, the groups table) are built aside and published by swapping one pointer; the old one
// is freed after machine.synchronizeRcu(). CPUs read everything without locks.
import type { RingMachine } from '../api.ts';
import type { TraceBuffer } from '../ring/trace-buffer.ts';
import type { Machine } from '../machine/machine.ts';
import type { RingExports } from '../machine/wasm.ts';
import { abi } from '../layout.ts';
import { RingtraceError } from '../errors.ts';
import { ftraceDumpFormatters } from '../machine/log.ts';
import { setFtraceHooks, taskKey, type CallSite } from './registry.ts';
import {
  IRQENTRY_TEXT, buildCoreText, catalogModules, checkModuleDef, parseModuleFile, moduleName, ModuleArea,
  type KernelSymbol, type KernelTextOptions, type ModuleDef, type ModuleFunction,
} from './kernel-text.ts';
import { formatDump } from './dump.ts';
import { FunctionGraph } from './function-graph.ts';
import { StackTracer } from './stack-tracer.ts';

const {
  LAYOUT_BASE, H_FTRACE, H_FTRACE_DISABLED, FT_OPS_LIST, FT_GROUPS, FT_START_UP, FT_PERCPU, FT_PROFILE,
  FT_PROFILE_CAP, FT_TOKEN, FT_WARN_REC, FT_GLOBAL_TB, FT_SINGLE_OPS, FT_SIZE, FG_COUNT, FG_ENTRIES, FG_START, FG_END, FG_RECS,
  FG_NR, FG_ENTRY_SIZE, REC_IP, REC_FLAGS, REC_ID, REC_SIZE, FTRACE_FL_ENABLED, FTRACE_FL_DISABLED,
  FTRACE_FL_TOUCHED, FTRACE_REF_MAX, FH_SIZE, FH_DATA, FTRACE_HASH_DEFAULT_BITS, FTRACE_HASH_MAX_BITS, OPS_FLAGS,
  OPS_FILTER, OPS_NOTRACE, OPS_CALLBACK, OPS_ARG, OPS_NEXT, OPS_ID, OPS_OPTIONS, OPS_SIZE, FTRACE_OPS_FL_ENABLED,
  FTRACE_OPS_FL_DYNAMIC, FTRACE_OPS_FL_INITIALIZED, FTRACE_OPS_FL_TRACE_ARRAY, FT_CB_FUNCTION, FT_CB_PROFILE,
  FT_CB_PROBE, FUNC_OPT_STACK, PRB_KIND, PRB_TB, PRB_MAPPER, PRB_SIZE, PROBE_TRACEON, PROBE_TRACEOFF,
  PROBE_STACKTRACE, PROBE_DUMP, PROBE_CPUDUMP, PROBE_ENABLE_EVENT, PROBE_DISABLE_EVENT, PROBE_SNAPSHOT, PRB_FILE, FTC_SIZE, FTC_PID, FTC_COMM, PROF_HITS, PROF_TIME, PROF_TIME_SQ,
  PROF_SIZE, FTW_UNDERFLOW,
} = abi;

export type TracerName = 'nop' | 'function' | 'function_graph';
// available_tracers: register_tracer() puts each new tracer first (function_graph registers last)
export const TRACERS: readonly TracerName[] = ['function_graph', 'function', 'nop'];
export type ProbeCommand = 'traceon' | 'traceoff' | 'stacktrace' | 'dump' | 'cpudump' | 'enable_event' | 'disable_event' | 'snapshot';
const PROBE_KINDS: Record<ProbeCommand, number> = {
  traceon: PROBE_TRACEON,
  traceoff: PROBE_TRACEOFF,
  stacktrace: PROBE_STACKTRACE,
  dump: PROBE_DUMP,
  cpudump: PROBE_CPUDUMP,
  enable_event: PROBE_ENABLE_EVENT,
  disable_event: PROBE_DISABLE_EVENT,
  snapshot: PROBE_SNAPSHOT,
};

// The trace_event_file an enable_event / disable_event probe switches, and its "system:event"
export interface ProbeEventFile {
  addr: number;
  name: string;
}
// How a change reached ftrace: the API (ftrace_set_filter & co.) or a tracefs file; only the WARNING's
// call trace differs.
export type CallPath = 'api' | 'tracefs';

// The module records of this many functions can be loaded at once (REC_ID space beyond the core).
export const MODULE_RECORD_IDS = 16384;

// ---------------------------------------------------------------------------------------------------
// hashes

// fls()
function fls(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}

// __move_hash(): "around half the size", at most FTRACE_HASH_MAX_BITS
export function hashBitsForCount(count: number): number {
  return Math.min(fls(count >> 1), FTRACE_HASH_MAX_BITS);
}

function hashBytes(bits: number, count: number, withData: boolean): number {
  const entries = (FH_SIZE + ((1 << bits) + 1) * 4 + 7) & ~7;
  return entries + count * 8 * (withData ? 2 : 1);
}

// A ftrace_hash: the host's copy of its entries and, once published, its shared-memory form. Entries
// that clear_mod_from_hash() zeroed still count (hash->count), as in the kernel.
export class FtraceHash {
  addr = 0; // 0: EMPTY_HASH
  bytes = 0;

  constructor(
    readonly ips: ReadonlySet<bigint> = new Set(),
    readonly zeroed = 0,
    readonly flags = 0,
    readonly data?: ReadonlyMap<bigint, bigint>, // a ftrace_func_mapper's data
  ) {}

  get count(): number {
    return this.ips.size + this.zeroed;
  }

  // ftrace_hash_empty(): cached :mod: entries (FTRACE_HASH_FL_MOD) make a hash with no entries non-empty,
  // so it matches nothing instead of everything
  get empty(): boolean {
    return this.count === 0 && (this.flags & abi.FTRACE_HASH_FL_MOD) === 0;
  }

  has(ip: bigint): boolean {
    return this.ips.has(ip);
  }
}

const EMPTY = new FtraceHash();

interface FuncHash {
  filter: FtraceHash;
  notrace: FtraceHash;
}

// ---------------------------------------------------------------------------------------------------
// ops

export class FtraceOps {
  flags = FTRACE_OPS_FL_INITIALIZED;
  next: FtraceOps | null = null;
  options = 0;

  constructor(
    readonly addr: number,
    readonly id: number,
    readonly name: string,
    public callback: number,
    public arg: number,
    public funcHash: FuncHash,
  ) {}

  get enabled(): boolean {
    return (this.flags & FTRACE_OPS_FL_ENABLED) !== 0;
  }
}

interface ProbeState {
  cmd: ProbeCommand;
  event?: string; // enable_event / disable_event: "system:event"
  counted: boolean;
  ops: FtraceOps;
  prb: number;
  mapper: FtraceHash | null;
}

export interface ProbeEntry {
  ip: bigint;
  name: string;
  module: string | null;
  cmd: ProbeCommand;
  event?: string; // enable_event / disable_event: "system:event"
  count: bigint | null; // null: unlimited (no counter)
}

interface TraceArrayState {
  buffer: TraceBuffer;
  ops: FtraceOps; // tr->ops; the top level's is global_ops
  tracer: TracerName;
  probes: Map<string, ProbeState>;
}

// ---------------------------------------------------------------------------------------------------
// records

interface RecordGroup {
  module: string | null;
  syms: KernelSymbol[]; // sorted by address
  recs: number; // dyn_ftrace array
  firstId: number;
  ids: number[];
}

export interface FtraceRecord {
  name: string;
  module: string | null;
  ip: bigint;
  rec: number; // address of the dyn_ftrace
  flags: number; // rec->flags (u32)
  count: number; // ftrace_rec_count()
}

export interface ProfileEntry {
  name: string;
  module: string | null;
  ip: bigint;
  hits: number;
  timeNs: number;
  timeSqNs: number;
}

interface LoadedModule {
  def: ModuleDef;
  base: bigint;
  group: RecordGroup | null; // null when ftrace was disabled at load (no records)
  syms: KernelSymbol[];
}

export interface FtraceOptions extends KernelTextOptions {}

const coreCache = new Map<string, KernelSymbol[]>();

function coreText(opts: FtraceOptions): KernelSymbol[] {
  const key = `${opts.functions ?? 40000}/${opts.seed ?? ''}`;
  let text = coreCache.get(key);
  if (!text) coreCache.set(key, (text = buildCoreText(opts)));
  return text;
}

function hex(v: bigint): string {
  return v.toString(16).padStart(16, '0');
}

let nextToken = (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0;

export class Ftrace {
  readonly machine: Machine;
  private readonly ex: RingExports;
  readonly area: number;
  private readonly token: number;
  readonly core: KernelSymbol[];
  private groups: RecordGroup[] = [];
  private groupsTable = 0;
  private groupsTableBytes = 0;
  private readonly catalog = new Map<string, ModuleDef>();
  private readonly modules = new Map<string, LoadedModule>(); // load order
  private readonly moduleArea = new ModuleArea();
  private readonly freeIds: number[] = [];
  private nextId: number;
  readonly idCap: number;
  private byName = new Map<string, { group: RecordGroup; i: number }[]>();
  private byIp = new Map<bigint, { group: RecordGroup; i: number }>();
  private ops: FtraceOps | null = null; // ftrace_ops_list, newest first
  private nextOpsId = 1;
  private startUp = 0; // ftrace_start_up
  private readonly arrays = new Map<number, TraceArrayState>(); // by trace_buffer address
  readonly globalOps: FtraceOps;
  readonly graph: FunctionGraph;
  readonly stack: StackTracer;
  private profilerOps: FtraceOps | null = null;
  private profileTables = 0;
  private profileBytes = 0;
  private profileOn = false;
  private lockChain: Promise<unknown> = Promise.resolve();
  private readonly comms = new Map<string, number>();
  private readonly commNames: string[] = ['<idle>'];
  readonly savedCmdlines = new Map<number, string>([[0, '<idle>']]); // pid -> comm (trace_save_cmdline)
  hostTask = { pid: 1000, comm: 'bash' }; // the task the host's requests run as (WARNING reports)
  private warnings = 0;
  // the record the last FTRACE_WARN_ON fired on (not printed: the kernel's WARNING does not name it)
  lastWarning: { name: string; module: string | null; ip: bigint; underflow: boolean } | null = null;
  // listeners: the tracefs layer applies cached :mod: filters when a module loads
  readonly onModuleLoaded = new Set<(name: string) => void | Promise<void>>();
  readonly onModuleUnloaded = new Set<(name: string) => void | Promise<void>>();

  private constructor(readonly rm: RingMachine, opts: FtraceOptions) {
    this.machine = rm.machine;
    this.ex = rm.machine.exports;
    const m = this.machine;
    const mem = m.mem;
    this.core = coreText(opts);
    for (const def of catalogModules()) this.catalog.set(def.name, def);
    this.area = m.arena.alloc(FT_SIZE);
    this.token = nextToken = (nextToken + 0x9e3779b9) >>> 0;
    mem.store32(this.area + FT_TOKEN, this.token);
    mem.store32(this.area + FT_GLOBAL_TB, rm.buffer.addr);
    mem.store32(this.area + FT_PERCPU, m.arena.alloc(m.nrCpuIds * FTC_SIZE));
    this.nextId = this.core.length;
    this.idCap = this.core.length + MODULE_RECORD_IDS;
    // ftrace_init(): the core kernel's records, sorted by ip (ftrace_process_locs)
    const core = this.makeGroup(null, this.core, false);
    this.groups = [core];
    this.publishGroups();
    mem.store32(LAYOUT_BASE + H_FTRACE, this.area);
    // global_ops: the top-level trace_array's ops (ftrace_init_global_array_ops)
    this.globalOps = this.newOps('global_ops', FT_CB_FUNCTION, rm.buffer.addr, { filter: EMPTY, notrace: EMPTY });
    this.arrays.set(rm.buffer.addr, { buffer: rm.buffer, ops: this.globalOps, tracer: 'nop', probes: new Map() });
    this.graph = new FunctionGraph(this);
    this.stack = new StackTracer(this);
    ftraceDumpFormatters.set(this.token, (tb, cpu) => this.dumpLines(tb, cpu));
    setFtraceHooks(this.machine, {
      resolveCall: (fn) => this.resolveCall(fn),
      returnAddress: (parent, callee) => this.returnAddress(parent, callee),
      commId: (pid, comm) => this.commId(pid, comm),
      taskRetStack: (pid, comm) => this.taskRetStack(pid, comm),
    });
  }

  static async create(rm: RingMachine, opts: FtraceOptions = {}): Promise<Ftrace> {
    return new Ftrace(rm, opts);
  }

  close(): void {
    ftraceDumpFormatters.delete(this.token);
  }

  // ftrace_lock: one change at a time
  locked<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.lockChain.then(fn);
    this.lockChain = run.catch(() => undefined);
    return run;
  }

  // ---- state

  // ftrace_disabled: set for good by ftrace_kill()
  get disabled(): boolean {
    return this.machine.mem.load32(LAYOUT_BASE + H_FTRACE_DISABLED) !== 0;
  }

  checkEnabled(): void {
    if (this.disabled) throw new RingtraceError('ENODEV', 'ftrace is disabled (ftrace_kill() after a WARNING, see dmesg)');
  }

  get ftraceStartUp(): number {
    return this.startUp;
  }

  get warningCount(): number {
    return this.warnings;
  }

  // ---- record groups

  private allocIds(n: number): number[] {
    const ids: number[] = [];
    for (let i = 0; i < n; i++) {
      const id = this.freeIds.pop() ?? (this.nextId < this.idCap ? this.nextId++ : -1);
      if (id < 0) {
        this.freeIds.push(...ids);
        throw new RingtraceError('ENOMEM', `more than ${MODULE_RECORD_IDS} module functions loaded`);
      }
      ids.push(id);
    }
    return ids;
  }

  // ftrace_allocate_pages() + ftrace_process_locs(): one group of records, sorted by ip; a module's
  // start FTRACE_FL_DISABLED until ftrace_module_enable()
  private makeGroup(module: string | null, syms: KernelSymbol[], disabled: boolean): RecordGroup {
    const m = this.machine;
    const sorted = [...syms].sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
    const ids = module === null ? sorted.map((_, i) => i) : this.allocIds(sorted.length);
    const recs = m.arena.alloc(sorted.length * REC_SIZE);
    const { i64, u32 } = m.mem;
    for (let i = 0; i < sorted.length; i++) {
      const r = recs + i * REC_SIZE;
      i64[(r + REC_IP) >> 3] = BigInt.asIntN(64, sorted[i].addr);
      u32[(r + REC_FLAGS) >> 2] = disabled ? FTRACE_FL_DISABLED : 0;
      u32[(r + REC_ID) >> 2] = ids[i];
    }
    return { module, syms: sorted, recs, firstId: ids[0] ?? 0, ids };
  }

  // Publish the groups table (core first, then modules in load order) with one pointer swap; the old
  // table is the caller's to free after a grace period.
  private publishGroups(): { addr: number; bytes: number } {
    const m = this.machine;
    const bytes = FG_ENTRIES + this.groups.length * FG_ENTRY_SIZE;
    const table = m.arena.alloc(bytes);
    m.mem.store32(table + FG_COUNT, this.groups.length);
    this.groups.forEach((g, i) => {
      const e = table + FG_ENTRIES + i * FG_ENTRY_SIZE;
      m.mem.store64(e + FG_START, g.syms.length ? BigInt.asIntN(64, g.syms[0].addr) : 0n);
      m.mem.store64(e + FG_END, g.syms.length ? BigInt.asIntN(64, g.syms[g.syms.length - 1].addr) : 0n);
      m.mem.store32(e + FG_RECS, g.recs);
      m.mem.store32(e + FG_NR, g.syms.length);
    });
    const old = { addr: this.groupsTable, bytes: this.groupsTableBytes };
    Atomics.store(m.mem.i32, (this.area + FT_GROUPS) >> 2, table);
    this.groupsTable = table;
    this.groupsTableBytes = bytes;
    this.rebuildNames();
    return old;
  }

  private rebuildNames(): void {
    const map = new Map<string, { group: RecordGroup; i: number }[]>();
    const byIp = new Map<bigint, { group: RecordGroup; i: number }>();
    this.byIp = byIp;
    for (const group of this.groups) {
      group.syms.forEach((s, i) => {
        byIp.set(s.addr, { group, i });
        const list = map.get(s.name);
        if (list) list.push({ group, i });
        else map.set(s.name, [{ group, i }]);
      });
    }
    this.byName = map;
  }

  // every record's name and REC_ID (the per-record tables of the profiler and the stack tracer)
  *recordIds(): Generator<{ name: string; id: number }> {
    for (const g of this.groups) for (let i = 0; i < g.syms.length; i++) yield { name: g.syms[i].name, id: g.ids[i] };
  }

  private recordOf(group: RecordGroup, i: number): FtraceRecord {
    const rec = group.recs + i * REC_SIZE;
    const flags = this.machine.mem.loadU32(rec + REC_FLAGS);
    const s = group.syms[i];
    return { name: s.name, module: group.module, ip: s.addr, rec, flags, count: flags & FTRACE_REF_MAX };
  }

  // Every record in the kernel's order: the core by address, then each module's group in load order
  // (available_filter_functions).
  *records(): Generator<FtraceRecord> {
    for (const g of this.groups) for (let i = 0; i < g.syms.length; i++) yield this.recordOf(g, i);
  }

  get recordCount(): number {
    return this.groups.reduce((a, g) => a + g.syms.length, 0);
  }

  // The records of a function name (several when modules or static functions share it).
  lookupName(name: string): FtraceRecord[] {
    return (this.byName.get(name) ?? []).map(({ group, i }) => this.recordOf(group, i));
  }

  // ftrace_location(): the record of an ip
  lookupIp(ip: bigint): FtraceRecord | null {
    const hit = this.byIp.get(ip);
    return hit ? this.recordOf(hit.group, hit.i) : null;
  }

  // The same by binary search per group (lookup_rec), as Wasm does it.
  lookupIpSearch(ip: bigint): FtraceRecord | null {
    for (const g of this.groups) {
      const s = g.syms;
      if (!s.length || ip < s[0].addr || ip > s[s.length - 1].addr) continue;
      let lo = 0;
      let hi = s.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (s[mid].addr === ip) return this.recordOf(g, mid);
        if (s[mid].addr < ip) lo = mid + 1;
        else hi = mid - 1;
      }
    }
    return null;
  }

  // The Wasm lookup (lookup_rec), for tests.
  wasmLookup(ip: bigint): number {
    return this.ex.ftraceLookupRec(Number(ip & 0xffffffffn) | 0, Number(ip >> 32n) | 0) >>> 0;
  }

  // enabled_functions: records whose call site is patched
  enabledFunctions(): FtraceRecord[] {
    return [...this.records()].filter((r) => (r.flags & FTRACE_FL_ENABLED) !== 0);
  }

  // touched_functions: records ever enabled
  touchedFunctions(): FtraceRecord[] {
    return [...this.records()].filter((r) => (r.flags & FTRACE_FL_TOUCHED) !== 0);
  }

  // kallsyms: the function containing addr
  // in __irqentry_text (print_graph_irq(), check_irq_entry())
  isIrqEntry(ip: bigint): boolean {
    const s = this.symbolize(ip);
    return s !== null && s.module === null && s.addr === ip && IRQENTRY_TEXT.has(s.name);
  }

  symbolize(addr: bigint): { name: string; module: string | null; offset: number; size: number; addr: bigint } | null {
    const find = (syms: KernelSymbol[]) => {
      let lo = 0;
      let hi = syms.length - 1;
      let best = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (syms[mid].addr <= addr) {
          best = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      if (best < 0) return null;
      const s = syms[best];
      const off = Number(addr - s.addr);
      return off < s.size ? { name: s.name, module: s.module, offset: off, size: s.size, addr: s.addr } : null;
    };
    const core = find(this.core);
    if (core) return core;
    for (const mod of this.modules.values()) {
      const hit = find(mod.syms);
      if (hit) return hit;
    }
    return null;
  }

  // ---- shared memory of hashes and ops

  publishHash(h: FtraceHash, mapper = false): FtraceHash {
    if (h.empty && !mapper) return h.addr === 0 ? h : new FtraceHash(h.ips, h.zeroed, h.flags, h.data);
    if (h.addr !== 0) return h;
    const m = this.machine;
    const count = h.count;
    const bits = mapper ? FTRACE_HASH_DEFAULT_BITS : hashBitsForCount(count);
    const withData = h.data !== undefined;
    h.bytes = hashBytes(bits, count, withData);
    h.addr = m.arena.alloc(h.bytes);
    const scratchBytes = Math.max(8, count * 8 * (withData ? 2 : 1));
    const scratch = m.arena.alloc(scratchBytes);
    const i64 = m.mem.i64;
    let k = scratch >> 3;
    const dk = (scratch + count * 8) >> 3;
    let n = 0;
    for (const ip of h.ips) {
      i64[k++] = BigInt.asIntN(64, ip);
      if (withData) i64[dk + n] = BigInt.asIntN(64, h.data!.get(ip) ?? -1n);
      n++;
    }
    for (let z = 0; z < h.zeroed; z++) {
      i64[k++] = 0n;
      if (withData) i64[dk + n] = 0n;
      n++;
    }
    this.ex.ftraceHashBuild(h.addr, bits, h.flags, scratch, count, withData ? scratch + count * 8 : 0);
    m.arena.release(scratch, scratchBytes);
    return h;
  }

  freeHash(h: FtraceHash): void {
    if (h.addr === 0) return;
    this.machine.arena.release(h.addr, h.bytes);
    h.addr = 0;
  }

  newOps(name: string, callback: number, arg: number, funcHash: FuncHash, flags = 0): FtraceOps {
    const m = this.machine;
    const addr = m.arena.alloc(OPS_SIZE);
    const ops = new FtraceOps(addr, this.nextOpsId++, name, callback, arg, funcHash);
    ops.flags |= flags;
    m.mem.store32(addr + OPS_CALLBACK, callback);
    m.mem.store32(addr + OPS_ARG, arg);
    m.mem.store32(addr + OPS_ID, ops.id);
    this.writeOpsHashes(ops);
    this.writeOpsFlags(ops);
    return ops;
  }

  private writeOpsFlags(ops: FtraceOps): void {
    this.machine.mem.store32(ops.addr + OPS_FLAGS, ops.flags);
  }

  private writeOpsHashes(ops: FtraceOps): void {
    const mem = this.machine.mem;
    mem.store32(ops.addr + OPS_FILTER, ops.funcHash.filter.addr);
    mem.store32(ops.addr + OPS_NOTRACE, ops.funcHash.notrace.addr);
  }

  // ftrace_ops_list, and update_ftrace_function(): one ops that is not dynamic is called directly,
  // anything else through ftrace_ops_list_func
  private writeOpsList(): void {
    const mem = this.machine.mem;
    for (let op = this.ops; op; op = op.next) mem.store32(op.addr + OPS_NEXT, op.next?.addr ?? 0);
    const single = this.ops && !this.ops.next && !(this.ops.flags & FTRACE_OPS_FL_DYNAMIC) ? this.ops.addr : 0;
    if (!single) mem.store32(this.area + FT_SINGLE_OPS, 0);
    mem.store32(this.area + FT_OPS_LIST, this.ops?.addr ?? 0);
    if (single) mem.store32(this.area + FT_SINGLE_OPS, single);
  }

  // Every ftrace_ops on ftrace_ops_list, newest first.
  opsList(): FtraceOps[] {
    const out: FtraceOps[] = [];
    for (let op = this.ops; op; op = op.next) out.push(op);
    return out;
  }

  // ---- FTRACE_WARN_ON and ftrace_kill()

  private symFrame(name: string): string {
    const s = this.core.find((x) => x.name === name);
    if (!s) return `[<0000000000000000>] ${name}+0x0/0x0`;
    const h = [...name].reduce((a, c) => (Math.imul(a, 31) + c.charCodeAt(0)) >>> 0, 7);
    const off = 4 + (h % Math.max(1, s.size - 8));
    return `[<${hex(s.addr + BigInt(off))}>] ${name}+0x${off.toString(16)}/0x${s.size.toString(16)}`;
  }

  // FTRACE_WARN_ON(): WARN_ON() with the call trace of the request that hit it, then ftrace_kill()
  private ftraceWarnOn(code: number, chain: string[]): void {
    this.machine.dmesg(); // records Wasm logged before this come first
    const line = code === FTW_UNDERFLOW ? 1529 : 1523;
    const taint = [...this.modules.values()].some((mod) => !mod.def.builtin) ? 'Tainted: G           O' : 'Not tainted';
    const rec = this.machine.mem.loadU32(this.area + FT_WARN_REC);
    const hit = this.groups.flatMap((g) => g.syms.map((s, i) => ({ s, rec: g.recs + i * REC_SIZE }))).find((x) => x.rec === rec);
    const frames = ['warn_slowpath_common', 'warn_slowpath_null', '__ftrace_hash_rec_update', ...chain];
    const top = this.symFrame('__ftrace_hash_rec_update').replace(/^\[<[0-9a-f]+>\] /, '');
    this.warnings++;
    const endId = hex(BigInt(Math.imul(this.token ^ this.warnings, 0x9e3779b1) >>> 0) * 0x100000001n);
    const lines = [
      '------------[ cut here ]------------',
      `WARNING: at kernel/trace/ftrace.c:${line} ${top}()`,
      `Pid: ${this.hostTask.pid}, comm: ${this.hostTask.comm} ${taint} 6.6.0-ringtrace #1`,
      'Call Trace:',
      ...frames.map((f) => this.symFrame(f)),
      `---[ end trace ${endId} ]---`,
    ];
    for (const l of lines) this.machine.logLine(l);
    this.lastWarning = hit ? { name: hit.s.name, module: hit.s.module, ip: hit.s.addr, underflow: code === FTW_UNDERFLOW } : null;
    this.ftraceKill();
  }

  // ftrace_kill(): ftrace_disabled = 1, ftrace_enabled = 0, ftrace_trace_function = ftrace_stub
  private ftraceKill(): void {
    this.machine.mem.store32(LAYOUT_BASE + H_FTRACE_DISABLED, 1);
  }

  // __ftrace_hash_rec_update(); false when FTRACE_WARN_ON fired
  private hashRecUpdate(ops: FtraceOps, filterHash: boolean, inc: boolean, chain: string[]): boolean {
    const r = this.ex.ftraceHashRecUpdate(ops.addr, filterHash ? 1 : 0, inc ? 1 : 0);
    if (r < 0) {
      this.ftraceWarnOn(r, chain);
      return false;
    }
    return true;
  }

  // ftrace_run_update_code(): patch or unpatch call sites (ftrace_replace_code returns at once when
  // ftrace is disabled)
  runUpdateCode(): void {
    if (this.disabled) return;
    this.ex.ftraceReplaceCode(1);
  }

  // ---- register / unregister

  // ftrace_startup(): on the list, ENABLED, records counted, call sites patched
  startup(ops: FtraceOps, chain: string[]): void {
    this.checkEnabled();
    if (ops.enabled) throw new RingtraceError('EBUSY', `${ops.name} is already registered`);
    // __register_ftrace_function(): add_ftrace_ops() puts it first
    ops.next = this.ops;
    this.ops = ops;
    this.writeOpsList();
    this.startUp++;
    this.machine.mem.store32(this.area + FT_START_UP, this.startUp);
    ops.flags |= FTRACE_OPS_FL_ENABLED;
    this.writeOpsFlags(ops);
    this.hashRecUpdate(ops, true, true, ['ftrace_startup', ...chain]);
    this.runUpdateCode();
  }

  // ftrace_shutdown(): records uncounted, off the list, not ENABLED; freed after a grace period by callers
  async shutdown(ops: FtraceOps, chain: string[]): Promise<void> {
    if (this.disabled) return; // -ENODEV, which the tracers ignore
    if (!ops.enabled) return;
    // __unregister_ftrace_function(): remove_ftrace_ops(); ops->next stays for CPUs walking through it
    let prev: FtraceOps | null = null;
    for (let op = this.ops; op && op !== ops; op = op.next) prev = op;
    if (prev) prev.next = ops.next;
    else this.ops = ops.next;
    this.writeOpsList();
    this.machine.mem.store32(ops.addr + OPS_NEXT, ops.next?.addr ?? 0);
    this.startUp--;
    this.machine.mem.store32(this.area + FT_START_UP, this.startUp);
    this.hashRecUpdate(ops, true, false, ['ftrace_shutdown', ...chain]);
    ops.flags &= ~FTRACE_OPS_FL_ENABLED;
    this.writeOpsFlags(ops);
    ops.next = null;
    this.runUpdateCode();
    await this.machine.synchronizeRcu();
  }

  // register_ftrace_function() of an ops made by createOps()
  registerFtraceFunction(ops: FtraceOps): Promise<void> {
    return this.locked(() => this.startup(ops, ['register_ftrace_function']));
  }

  unregisterFtraceFunction(ops: FtraceOps): Promise<void> {
    return this.locked(async () => {
      this.checkEnabled();
      await this.shutdown(ops, ['unregister_ftrace_function']);
    });
  }

  // A dynamic ftrace_ops of the function tracer writing into `buffer` (its own filter and notrace
  // hashes), for register_ftrace_function().
  createOps(opts: { name?: string; buffer?: TraceBuffer; funcStackTrace?: boolean } = {}): FtraceOps {
    const buffer = opts.buffer ?? this.rm.buffer;
    const ops = this.newOps(opts.name ?? `ops${this.nextOpsId}`, FT_CB_FUNCTION, buffer.addr, { filter: EMPTY, notrace: EMPTY }, FTRACE_OPS_FL_DYNAMIC);
    if (opts.funcStackTrace) {
      ops.options = FUNC_OPT_STACK;
      this.machine.mem.store32(ops.addr + OPS_OPTIONS, ops.options);
    }
    return ops;
  }

  // ---- filters

  toIps(funcs: Iterable<string | bigint>): Set<bigint> {
    const out = new Set<bigint>();
    for (const f of funcs) {
      if (typeof f === 'bigint') {
        if (!this.byIp.has(f)) throw new RingtraceError('ENOENT', `no traceable function at ${hex(f)}`);
        out.add(f);
        continue;
      }
      const recs = this.lookupName(f);
      if (!recs.length) throw new RingtraceError('EINVAL', `no function matches "${f}"`);
      for (const r of recs) out.add(r.ip);
    }
    return out;
  }

  // The ops sharing a func_hash (global_ops and the profiler share the top level's).
  private sharers(funcHash: FuncHash): FtraceOps[] {
    const out = new Set<FtraceOps>();
    for (const tr of this.arrays.values()) if (tr.ops.funcHash === funcHash) out.add(tr.ops);
    if (this.profilerOps?.funcHash === funcHash) out.add(this.profilerOps);
    for (const op of this.opsList()) if (op.funcHash === funcHash) out.add(op);
    return [...out];
  }

  // ftrace_hash_move_and_update_ops() / ftrace_hash_move(): take the references of every enabled ops
  // using this func_hash off the records (old hash), swap the pointer, put them back (new hash), patch
  private async hashMove(ops: FtraceOps, enable: boolean, next: FtraceHash, chain: string[]): Promise<void> {
    const published = this.publishHash(next);
    const sharers = [ops, ...this.sharers(ops.funcHash).filter((o) => o !== ops)];
    const full = ['ftrace_hash_move', 'ftrace_hash_move_and_update_ops', ...chain];
    // ftrace_hash_rec_disable_modify()
    for (const op of sharers) if (op.enabled) this.hashRecUpdate(op, enable, false, full);
    const old = enable ? ops.funcHash.filter : ops.funcHash.notrace;
    if (enable) ops.funcHash.filter = published;
    else ops.funcHash.notrace = published;
    for (const op of sharers) this.writeOpsHashes(op);
    // ftrace_hash_rec_enable_modify()
    for (const op of sharers) if (op.enabled) this.hashRecUpdate(op, enable, true, full);
    // ftrace_ops_update_code()
    if (sharers.some((op) => op.enabled)) this.runUpdateCode();
    // free_ftrace_hash_rcu()
    if (old.addr !== 0 && old !== published) {
      await this.machine.synchronizeRcu();
      this.freeHash(old);
    }
  }

  private chainFor(path: CallPath, api: string): string[] {
    return path === 'tracefs'
      ? ['ftrace_regex_release', '__fput', '____fput', 'task_work_run', 'exit_to_user_mode_prepare', 'syscall_exit_to_user_mode', 'do_syscall_64']
      : ['ftrace_set_hash', api];
  }

  // ftrace_set_filter() / ftrace_set_notrace() of an ops: `funcs` (names or ips) replace the hash
  // (reset) or are added to it; `remove` takes them out instead ('!' in the filter files).
  setOpsHash(
    ops: FtraceOps,
    which: 'filter' | 'notrace',
    funcs: Iterable<string | bigint>,
    opts: { append?: boolean; remove?: boolean; path?: CallPath; flags?: number } = {},
  ): Promise<void> {
    return this.locked(async () => {
      this.checkEnabled();
      const ips = this.toIps(funcs);
      const cur = which === 'filter' ? ops.funcHash.filter : ops.funcHash.notrace;
      const append = opts.append || opts.remove;
      const set = new Set<bigint>(append ? cur.ips : []);
      const zeroed = append ? cur.zeroed : 0;
      if (opts.remove) for (const ip of ips) set.delete(ip);
      else for (const ip of ips) set.add(ip);
      const next = new FtraceHash(set, zeroed, opts.flags ?? (append ? cur.flags : 0));
      await this.hashMove(ops, which === 'filter', next, this.chainFor(opts.path ?? 'api', which === 'filter' ? 'ftrace_set_filter' : 'ftrace_set_notrace'));
    });
  }

  // The ips of an ops' hash (zeroed entries counted apart).
  opsHash(ops: FtraceOps, which: 'filter' | 'notrace'): { ips: bigint[]; zeroed: number; count: number; flags: number } {
    const h = which === 'filter' ? ops.funcHash.filter : ops.funcHash.notrace;
    return { ips: [...h.ips].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), zeroed: h.zeroed, count: h.count, flags: h.flags };
  }

  // ---- trace arrays: set_ftrace_filter / set_ftrace_notrace / current_tracer of each

  private tr(buffer?: TraceBuffer): TraceArrayState {
    const b = buffer ?? this.rm.buffer;
    let tr = this.arrays.get(b.addr);
    if (!tr) {
      if (b !== this.rm.buffer && ![...this.rm.instances.values()].includes(b)) {
        throw new RingtraceError('ENODEV', `buffer "${b.name}" is not a trace_array of this machine`);
      }
      // ftrace_allocate_ftrace_ops(): an instance's own ops with its own hashes
      const ops = this.newOps(`${b.name}_ops`, FT_CB_FUNCTION, b.addr, { filter: EMPTY, notrace: EMPTY }, FTRACE_OPS_FL_TRACE_ARRAY);
      tr = { buffer: b, ops, tracer: 'nop', probes: new Map() };
      this.arrays.set(b.addr, tr);
    }
    return tr;
  }

  // tr->ops of a trace_array (global_ops for the top level)
  traceArrayOps(buffer?: TraceBuffer): FtraceOps {
    return this.tr(buffer).ops;
  }

  // set_ftrace_filter of a trace_array
  setFilter(buffer: TraceBuffer | undefined, funcs: Iterable<string | bigint>, opts: { append?: boolean; remove?: boolean; path?: CallPath; flags?: number } = {}): Promise<void> {
    return this.setOpsHash(this.tr(buffer).ops, 'filter', funcs, opts);
  }

  // set_ftrace_notrace of a trace_array
  setNotrace(buffer: TraceBuffer | undefined, funcs: Iterable<string | bigint>, opts: { append?: boolean; remove?: boolean; path?: CallPath; flags?: number } = {}): Promise<void> {
    return this.setOpsHash(this.tr(buffer).ops, 'notrace', funcs, opts);
  }

  filterOf(buffer?: TraceBuffer): ReturnType<Ftrace['opsHash']> {
    return this.opsHash(this.tr(buffer).ops, 'filter');
  }

  notraceOf(buffer?: TraceBuffer): ReturnType<Ftrace['opsHash']> {
    return this.opsHash(this.tr(buffer).ops, 'notrace');
  }

  currentTracer(buffer?: TraceBuffer): TracerName {
    return this.tr(buffer).tracer;
  }

  // tracing_set_tracer(): the old tracer's reset, then the new one's init. function_trace_init()
  // registers tr->ops; function_trace_reset() unregisters it.
  setTracer(buffer: TraceBuffer | undefined, name: string, opts: { path?: CallPath } = {}): Promise<void> {
    return this.locked(async () => {
      if (!TRACERS.includes(name as TracerName)) throw new RingtraceError('EINVAL', `no tracer "${name}" (available: ${TRACERS.join(' ')})`);
      const tr = this.tr(buffer);
      if (tr.tracer === name) return;
      const chain = opts.path === 'tracefs' ? ['tracing_set_tracer', 'tracing_set_trace_write', 'vfs_write', 'ksys_write', 'do_syscall_64'] : ['tracing_set_tracer'];
      if (tr.tracer !== 'nop') {
        await this.tracerReset(tr, chain);
        tr.tracer = 'nop';
      }
      // tracer_init(): every tracer, nop too, starts on an empty buffer (tracing_reset_online_cpus)
      for (const cpu of this.rm.onlineCpus()) if (tr.buffer.hasCpu(cpu)) await tr.buffer.reset(cpu);
      if (name === 'function') {
        this.startup(tr.ops, ['register_ftrace_function', 'tracing_start_function_trace', 'function_trace_init', ...chain]);
        tr.tracer = 'function';
      } else if (name === 'function_graph') {
        // graph_trace_init() -> register_ftrace_graph(tr->gops), whose ftrace_ops shares tr->ops' hashes
        this.graph.attach(tr.ops);
        try {
          this.startup(tr.ops, ['register_ftrace_graph', 'graph_trace_init', ...chain]);
        } catch (err) {
          this.graph.detach(tr.ops, FT_CB_FUNCTION);
          throw err;
        }
        tr.tracer = 'function_graph';
      }
    });
  }

  // function_trace_reset() / graph_trace_reset(): the tracer's ops off the list
  private async tracerReset(tr: TraceArrayState, chain: string[]): Promise<void> {
    if (tr.tracer === 'function') {
      await this.shutdown(tr.ops, ['unregister_ftrace_function', 'tracing_stop_function_trace', 'function_trace_reset', ...chain]);
    } else if (tr.tracer === 'function_graph') {
      await this.shutdown(tr.ops, ['unregister_ftrace_graph', 'graph_trace_reset', ...chain]);
      this.graph.detach(tr.ops, FT_CB_FUNCTION);
    }
  }

  // options/func_stack_trace of a trace_array
  setFuncStackTrace(buffer: TraceBuffer | undefined, on: boolean): void {
    const ops = this.tr(buffer).ops;
    ops.options = on ? ops.options | FUNC_OPT_STACK : ops.options & ~FUNC_OPT_STACK;
    this.machine.mem.store32(ops.addr + OPS_OPTIONS, ops.options);
  }

  // instance_rmdir(): the tracer goes back to nop, probes go, the ops is freed
  releaseTraceArray(buffer: TraceBuffer): Promise<void> {
    return this.locked(async () => {
      const tr = this.arrays.get(buffer.addr);
      if (!tr || tr.ops === this.globalOps) return;
      await this.tracerReset(tr, ['tracing_set_nop', '__remove_instance']);
      for (const p of tr.probes.values()) await this.dropProbe(p, ['unregister_ftrace_function_probe_func', 'clear_ftrace_function_probes']);
      this.arrays.delete(buffer.addr);
      await this.machine.synchronizeRcu();
      this.freeHash(tr.ops.funcHash.filter);
      this.freeHash(tr.ops.funcHash.notrace);
      this.machine.arena.release(tr.ops.addr, OPS_SIZE);
    });
  }

  // ---- probes (the function commands of set_ftrace_filter)

  // register_ftrace_function_probe(): the ips get the probe (those that have it keep their counter).
  // count undefined: the unlimited probe_ops; a number: the counted one. dump always counts from 1
  // (ftrace_dump_probe_ops' init); cpudump has no counter and dumps at every call (its probe_ops has no
  // init, so update_count() finds no mapper). Returns the number of functions added.
  registerProbe(buffer: TraceBuffer | undefined, cmd: ProbeCommand, funcs: Iterable<string | bigint>, count?: number | bigint, event?: ProbeEventFile): Promise<number> {
    return this.locked(async () => {
      if (!(cmd in PROBE_KINDS)) throw new RingtraceError('EINVAL', `unknown function command "${cmd}"`);
      this.checkEnabled();
      const tr = this.tr(buffer);
      const counted = cmd === 'dump' || (cmd !== 'cpudump' && count !== undefined);
      const initial = cmd === 'dump' ? 1n : BigInt(count ?? -1);
      const ips = this.toIps(funcs);
      const key = `${counted ? `${cmd}:count` : cmd}${event ? `:${event.name}` : ''}`;
      let probe = tr.probes.get(key);
      const chain = ['register_ftrace_function_probe', 'ftrace_trace_probe_callback'];
      if (!probe) {
        const prb = this.machine.arena.alloc(PRB_SIZE);
        this.machine.mem.store32(prb + PRB_KIND, PROBE_KINDS[cmd]);
        this.machine.mem.store32(prb + PRB_TB, tr.buffer.addr);
        this.machine.mem.store32(prb + PRB_FILE, event?.addr ?? 0);
        const ops = this.newOps(`probe_${key}`, FT_CB_PROBE, prb, { filter: EMPTY, notrace: EMPTY }, FTRACE_OPS_FL_DYNAMIC);
        probe = { cmd, counted, ops, prb, mapper: null, event: event?.name };
        tr.probes.set(key, probe);
      }
      const old = probe.ops.funcHash.filter;
      const added = [...ips].filter((ip) => !old.has(ip));
      if (counted) {
        // ftrace_count_init(): each new function's counter in the mapper
        const data = new Map<bigint, bigint>(this.mapperCounts(probe));
        for (const ip of added) data.set(ip, initial);
        const mapper = this.publishHash(new FtraceHash(new Set(data.keys()), 0, 0, data), true);
        const oldMapper = probe.mapper;
        probe.mapper = mapper;
        this.machine.mem.store32(probe.prb + PRB_MAPPER, mapper.addr);
        if (oldMapper) {
          await this.machine.synchronizeRcu();
          this.freeHash(oldMapper);
        }
      }
      const next = new FtraceHash(new Set([...old.ips, ...ips]));
      await this.hashMove(probe.ops, true, next, chain);
      if (!probe.ops.enabled) this.startup(probe.ops, chain);
      return added.length;
    });
  }

  private mapperCounts(p: ProbeState): Map<bigint, bigint> {
    const out = new Map<bigint, bigint>();
    if (!p.mapper) return out;
    const mem = this.machine.mem;
    const data = mem.loadU32(p.mapper.addr + FH_DATA);
    for (const ip of p.mapper.ips) {
      const idx = this.ex.ftraceHashLookup(p.mapper.addr, Number(ip & 0xffffffffn) | 0, Number(ip >> 32n) | 0);
      out.set(ip, idx < 0 ? -1n : BigInt.asIntN(64, mem.loadU64(data + idx * 8)));
    }
    return out;
  }

  // unregister_ftrace_function_probe_func(): take the probe off the given functions (all when funcs is
  // undefined); EINVAL when it was on none of them. Returns the number removed.
  unregisterProbe(buffer: TraceBuffer | undefined, cmd: ProbeCommand, opts: { counted?: boolean; funcs?: Iterable<string | bigint>; event?: string } = {}): Promise<number> {
    return this.locked(async () => {
      this.checkEnabled();
      const tr = this.tr(buffer);
      const counted = cmd === 'dump' || (cmd !== 'cpudump' && !!opts.counted);
      const key = `${counted ? `${cmd}:count` : cmd}${opts.event ? `:${opts.event}` : ''}`;
      const probe = tr.probes.get(key);
      const ips = opts.funcs ? this.toIps(opts.funcs) : undefined;
      const cur = probe?.ops.funcHash.filter;
      const gone = cur ? [...cur.ips].filter((ip) => !ips || ips.has(ip)) : [];
      if (!probe || !gone.length) throw new RingtraceError('EINVAL', `no ${cmd} probe on the functions given`);
      const chain = ['unregister_ftrace_function_probe_func'];
      const left = new Set([...cur!.ips].filter((ip) => !gone.includes(ip)));
      if (left.size === 0) {
        await this.dropProbe(probe, chain);
        tr.probes.delete(key);
        return gone.length;
      }
      await this.hashMove(probe.ops, true, new FtraceHash(left), chain);
      return gone.length;
    });
  }

  private async dropProbe(probe: ProbeState, chain: string[]): Promise<void> {
    await this.shutdown(probe.ops, chain);
    await this.machine.synchronizeRcu();
    this.freeHash(probe.ops.funcHash.filter);
    if (probe.mapper) this.freeHash(probe.mapper);
    this.machine.arena.release(probe.ops.addr, OPS_SIZE);
    this.machine.arena.release(probe.prb, PRB_SIZE);
  }

  // The probes of a trace_array, as ftrace_probe_print() lists them (address order per probe).
  probes(buffer?: TraceBuffer): ProbeEntry[] {
    const tr = this.tr(buffer);
    const out: ProbeEntry[] = [];
    for (const p of tr.probes.values()) {
      const counts = p.counted ? this.mapperCounts(p) : undefined;
      for (const ip of [...p.ops.funcHash.filter.ips].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
        const r = this.lookupIp(ip);
        out.push({ ip, name: r?.name ?? hex(ip), module: r?.module ?? null, cmd: p.cmd, ...(p.event ? { event: p.event } : {}), count: counts ? counts.get(ip) ?? null : null });
      }
    }
    return out;
  }

  // ---- the function profiler (function_profile_enabled, trace_stat/functionN)

  get profiling(): boolean {
    return this.profileOn;
  }

  // ftrace_profile_write(): on allocates (or resets) the per-CPU stats and registers the profiler, whose
  // func_hash is global_ops' (ftrace_ops_set_global_filter); off unregisters it, the stats stay.
  setProfiling(on: boolean): Promise<void> {
    return this.locked(async () => {
      if (on === this.profileOn) return;
      const m = this.machine;
      if (on) {
        this.checkEnabled();
        if (!this.profileTables) {
          const per = this.idCap * PROF_SIZE;
          this.profileBytes = m.nrCpuIds * 4;
          this.profileTables = m.arena.alloc(this.profileBytes);
          for (let cpu = 0; cpu < m.nrCpuIds; cpu++) m.mem.store32(this.profileTables + cpu * 4, m.arena.alloc(per));
          m.mem.store32(this.area + FT_PROFILE_CAP, this.idCap);
        } else {
          this.resetProfile();
        }
        Atomics.store(m.mem.i32, (this.area + FT_PROFILE) >> 2, this.profileTables);
        this.profilerOps ??= this.newOps('ftrace_profile_ops', FT_CB_PROFILE, 0, this.globalOps.funcHash);
        this.profilerOps.funcHash = this.globalOps.funcHash;
        this.writeOpsHashes(this.profilerOps);
        this.startup(this.profilerOps, ['register_ftrace_profiler', 'ftrace_profile_write', 'vfs_write', 'ksys_write', 'do_syscall_64']);
        this.profileOn = true;
      } else {
        this.profileOn = false;
        // the graph return of a call entered while it was on (a task switched out meanwhile) adds
        // nothing now: unregistering took profile_graph_return() out of fgraph_array
        Atomics.store(m.mem.i32, (this.area + FT_PROFILE) >> 2, 0);
        if (this.profilerOps) await this.shutdown(this.profilerOps, ['unregister_ftrace_profiler', 'ftrace_profile_write', 'vfs_write', 'ksys_write', 'do_syscall_64']);
      }
    });
  }

  private resetProfile(): void {
    const m = this.machine;
    const per = this.idCap * PROF_SIZE;
    for (let cpu = 0; cpu < m.nrCpuIds; cpu++) {
      const t = m.mem.loadU32(this.profileTables + cpu * 4);
      m.mem.u8.fill(0, t, t + per);
    }
  }

  // trace_stat/functionN: the functions hit on a CPU, by time then hits (function_stat_cmp)
  profileStats(cpu: number): ProfileEntry[] {
    if (!this.profileTables) return [];
    const m = this.machine;
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= m.nrCpuIds) throw new RingtraceError('EINVAL', `CPU ${cpu} does not exist`);
    const t = m.mem.loadU32(this.profileTables + cpu * 4);
    const out: ProfileEntry[] = [];
    for (const g of this.groups) {
      g.syms.forEach((s, i) => {
        const at = t + g.ids[i] * PROF_SIZE;
        const hits = m.mem.load64(at + PROF_HITS);
        if (!hits) return;
        out.push({ name: s.name, module: g.module, ip: s.addr, hits, timeNs: m.mem.load64(at + PROF_TIME), timeSqNs: m.mem.load64(at + PROF_TIME_SQ) });
      });
    }
    return out.sort((a, b) => b.timeNs - a.timeNs || b.hits - a.hits);
  }

  // ---- modules

  // A module the catalog does not know: defineModule(name, functions) or from the module file format.
  defineModule(name: string, functions: readonly (string | ModuleFunction)[]): ModuleDef {
    const def = checkModuleDef(name, functions);
    if (this.catalog.get(def.name)?.builtin) throw new RingtraceError('EEXIST', `module ${def.name} is in the catalog already`);
    this.catalog.set(def.name, def);
    return def;
  }

  defineModuleFile(text: string): ModuleDef {
    const def = parseModuleFile(text);
    return this.defineModule(def.name, def.functions);
  }

  availableModules(): string[] {
    return [...this.catalog.keys()].sort();
  }

  loadedModules(): { name: string; base: bigint; size: number; functions: number }[] {
    return [...this.modules.values()].map((m) => ({ name: m.def.name, base: m.base, size: m.def.textSize, functions: m.def.functions.length }));
  }

  isLoaded(name: string): boolean {
    return this.modules.has(moduleName(name));
  }

  // load_module(): text in the module area, ftrace_module_init() (records, DISABLED), then
  // ftrace_module_enable() at MODULE_STATE_COMING
  loadModule(name: string): Promise<{ name: string; base: bigint }> {
    return this.locked(async () => {
      const mod = moduleName(name);
      const def = this.catalog.get(mod);
      if (!def) throw new RingtraceError('ENOENT', `module ${name} not found`);
      if (this.modules.has(mod)) throw new RingtraceError('EEXIST', `module ${mod} is already loaded`);
      const base = this.moduleArea.alloc(mod, def.textSize);
      const syms: KernelSymbol[] = [];
      let at = base;
      for (const f of def.functions) {
        syms.push({ name: f.name, addr: at, size: f.size, module: mod });
        at += BigInt(f.size);
      }
      let group: RecordGroup | null = null;
      // ftrace_module_init(): nothing when ftrace is disabled
      if (!this.disabled) {
        try {
          group = this.makeGroup(mod, syms, true);
        } catch (err) {
          this.moduleArea.release(mod);
          throw err;
        }
        this.groups.push(group);
        const old = this.publishGroups();
        // ftrace_module_enable()
        const r = this.ex.ftraceModuleEnable(group.recs, group.syms.length, this.rm.fixes.has('8c4f3c3fa968') ? 1 : 0);
        if (r < 0) this.ftraceWarnOn(r, ['ftrace_module_enable', 'prepare_coming_module', 'load_module']);
        this.runUpdateCode();
        await this.machine.synchronizeRcu();
        this.machine.arena.release(old.addr, old.bytes);
      }
      this.modules.set(mod, { def, base, group, syms });
      for (const fn of this.onModuleLoaded) await fn(mod);
      return { name: mod, base };
    });
  }

  // delete_module(): ftrace_release_mod() frees the module's records (their counts go with them) and,
  // with fix 8c4f3c3fa968's era of the kernel, clear_mod_from_hashes() zeroes the trace_arrays' hash
  // entries of its functions; without it those entries survive.
  unloadModule(name: string): Promise<void> {
    return this.locked(async () => {
      const mod = moduleName(name);
      const loaded = this.modules.get(mod);
      if (!loaded) throw new RingtraceError('ENOENT', `module ${mod} is not loaded`);
      for (const fn of this.onModuleUnloaded) await fn(mod);
      this.modules.delete(mod);
      this.moduleArea.release(mod);
      const group = loaded.group;
      // ftrace_release_mod() does nothing once ftrace is disabled (the records stay)
      if (!group || this.disabled) return;
      this.groups = this.groups.filter((g) => g !== group);
      const old = this.publishGroups();
      await this.machine.synchronizeRcu();
      if (this.rm.fixes.has('8c4f3c3fa968')) this.clearModFromHashes(group);
      const m = this.machine;
      m.mem.u8.fill(0, group.recs, group.recs + group.syms.length * REC_SIZE);
      m.arena.release(group.recs, group.syms.length * REC_SIZE);
      m.arena.release(old.addr, old.bytes);
      if (this.profileTables) {
        for (let cpu = 0; cpu < m.nrCpuIds; cpu++) {
          const t = m.mem.loadU32(this.profileTables + cpu * 4);
          for (const id of group.ids) m.mem.u8.fill(0, t + id * PROF_SIZE, t + (id + 1) * PROF_SIZE);
        }
      }
      this.freeIds.push(...group.ids);
    });
  }

  // clear_mod_from_hashes(): every trace_array's tr->ops filter and notrace hash
  private clearModFromHashes(group: RecordGroup): void {
    const ips = new Set(group.syms.map((s) => s.addr));
    for (const tr of this.arrays.values()) {
      for (const which of ['filter', 'notrace'] as const) {
        const h = tr.ops.funcHash[which];
        if (h.empty) continue;
        const hit = [...h.ips].filter((ip) => ips.has(ip));
        if (!hit.length) continue;
        this.ex.ftraceClearModFromHash(h.addr, group.recs, group.syms.length);
        // the host's copy follows: the entries stay, with ip 0
        const next = new FtraceHash(new Set([...h.ips].filter((ip) => !ips.has(ip))), h.zeroed + hit.length, h.flags);
        next.addr = h.addr;
        next.bytes = h.bytes;
        tr.ops.funcHash[which] = next;
      }
    }
  }

  // ---- invariants (tests)

  // Records whose count differs from the number of enabled ops whose hashes take them in.
  checkCounts(): { bad: number; first: FtraceRecord | null } {
    const bad = this.ex.ftraceCheckCounts();
    if (!bad) return { bad, first: null };
    const rec = this.machine.mem.loadU32(this.area + FT_WARN_REC);
    for (const g of this.groups) {
      const i = (rec - g.recs) / REC_SIZE;
      if (Number.isInteger(i) && i >= 0 && i < g.syms.length) return { bad, first: this.recordOf(g, i) };
    }
    return { bad, first: null };
  }

  // ---- workloads

  private resolveCall(fn: string | bigint): CallSite {
    const rec = typeof fn === 'bigint' ? this.lookupIp(fn) : this.lookupName(fn)[0];
    if (!rec) {
      if (typeof fn === 'bigint' && this.symbolize(fn)) return { rec: 0, ip: fn };
      throw new RingtraceError('ENOENT', `no traceable function ${typeof fn === 'bigint' ? hex(fn) : `"${fn}"`} (is its module loaded?)`);
    }
    return { rec: rec.rec, ip: rec.ip };
  }

  // The return address of a call from `parent` to `callee`: inside parent, deterministic per callee.
  private returnAddress(parent: string | bigint, callee: bigint): bigint {
    if (typeof parent === 'bigint') return parent;
    const s = this.lookupName(parent)[0];
    if (!s) throw new RingtraceError('ENOENT', `no function "${parent}" (is its module loaded?)`);
    const sym = this.symbolize(s.ip)!;
    const h = Number((callee * 0x9e3779b97f4a7c15n) >> 40n & 0xffffffn);
    return s.ip + BigInt(5 + (h % Math.max(1, sym.size - 8)));
  }

  private commId(pid: number, comm: string): number {
    if (!Number.isInteger(pid) || pid < 0 || pid > 0x3fffffff) throw new RingtraceError('EINVAL', `bad pid ${pid}`);
    const c = comm.slice(0, 15); // TASK_COMM_LEN - 1
    let id = this.comms.get(c);
    if (id === undefined) {
      id = this.commNames.length;
      this.commNames.push(c);
      this.comms.set(c, id);
    }
    this.savedCmdlines.set(pid, c);
    return id;
  }

  // Each task's shadow return stack (alloc_retstack_tasklist() gives every task one); the idle tasks,
  // all pid 0, have one per CPU (idle_ret_stack), told apart by their comm (swapper/N).
  private readonly retStacks = new Map<string, number>();

  private taskRetStack(pid: number, comm: string): number {
    const key = taskKey(pid, comm);
    let area = this.retStacks.get(key);
    if (area === undefined) {
      area = this.machine.arena.alloc(FTC_SIZE);
      this.retStacks.set(key, area);
    }
    return area;
  }

  // every task's ret_stack area (init_task_vars() clears a graph slot's var in each)
  retStackAreas(): Iterable<number> {
    return this.retStacks.values();
  }

  // trace_find_cmdline()
  commOf(pid: number): string {
    return this.savedCmdlines.get(pid) ?? '<...>';
  }

  // The task a CPU runs now (what its events carry).
  currentTask(cpu: number): { pid: number; comm: string } {
    const at = this.machine.mem.loadU32(this.area + FT_PERCPU) + cpu * FTC_SIZE;
    const pid = this.machine.mem.load32(at + FTC_PID);
    return { pid, comm: this.commNames[this.machine.mem.load32(at + FTC_COMM)] ?? this.commOf(pid) };
  }

  // ---- ftrace_dump() (LOG_FTRACE_DUMP)

  private dumpLines(tb: number, cpu: number): string[] {
    const buffer = [this.rm.buffer, ...this.rm.instances.values()].find((b) => b.addr === tb);
    if (!buffer) return ['Dumping ftrace buffer:', '   (ftrace buffer empty)'];
    return formatDump(this, buffer, cpu);
  }
}
