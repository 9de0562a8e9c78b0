// tracefs files of dynamic function tracing (kernel/trace/ftrace.c, kernel/trace/trace.c):
//   every trace_array: current_tracer, available_tracers, set_ftrace_filter, set_ftrace_notrace
//   top level only:    available_filter_functions, enabled_functions, touched_functions,
//                      function_profile_enabled, trace_stat/functionN
//
// set_ftrace_filter / set_ftrace_notrace follow ftrace_regex_open / ftrace_regex_write /
// ftrace_regex_release: open with O_TRUNC starts from an empty hash (and drops the cached :mod: entries at
// once), O_APPEND from a copy of the current one; every write() feeds the parser, and every complete word
// is applied to that private hash (ftrace_process_regex) as it arrives, so the words before a failing one
// stay; the first error fails the write (and, like echo, nothing after it is written); the function
// commands (traceon, traceoff, ...) register or unregister their probes right away; a word still in the
// parser at close is processed then (its error ignored), and the hash is committed at close, whatever
// the writes returned. So `echo nosuchfunc > set_ftrace_filter` fails AND leaves an empty filter, as in
// the kernel; with `>>` a failing first word leaves the filter as it was.
import { RingtraceError } from '../errors.ts';
import { abi } from '../layout.ts';
import type { RingMachine } from '../api.ts';
import type { TraceBuffer } from '../ring/trace-buffer.ts';
import { FtraceHash, TRACERS, type Ftrace, type ProbeCommand } from '../ftrace/ftrace.ts';
import {
  cacheMod, formatAvailableFilterFunctions, formatAvailableFilterFunction, formatFilterFile,
  matchGlob, matchRecords, parseFilterWord, takeCachedMods, type CachedMod, type FilterCommand, type FilterProbeLine,
  type FilterRecord,
} from '../ftrace/filter.ts';
import { FUNCTION_STAT_HEADERS, functionStatLine } from '../trace/output.ts';
import { TRACE_MODE_READ, TRACE_MODE_WRITE, file, dynamicDir, type TraceNode } from './node.ts';
import { WordFile } from './word-file.ts';
import { kstrtoulFromUser, strstrip, userBytes } from './parse.ts';
import type { TraceArray, TraceArrayFile } from './trace-array.ts';

const { FTRACE_FL_DISABLED, FTRACE_FL_REGS, FTRACE_FL_IPMODIFY, FTRACE_FL_DIRECT, FTRACE_FL_CALL_OPS, FTRACE_FL_MODIFIED, FTRACE_HASH_FL_MOD } = abi;

type Which = 'filter' | 'notrace';

// Per trace_array: tr->mod_trace and tr->mod_notrace (cached :mod: entries, newest first)
interface RegexState {
  mods: Record<Which, CachedMod[]>;
}

const states = new WeakMap<TraceBuffer, RegexState>();
const hooked = new WeakSet<Ftrace>();

function regexState(buffer: TraceBuffer): RegexState {
  let s = states.get(buffer);
  if (!s) states.set(buffer, (s = { mods: { filter: [], notrace: [] } }));
  return s;
}

function ftraceOf(tr: TraceArray): Ftrace {
  const ft = tr.rm.ftrace;
  if (!ft) throw new RingtraceError('ENODEV', 'this machine has no ftrace');
  return ft;
}

// ftrace_disabled: every open of the ftrace files fails with ENODEV (ftrace_regex_open, ftrace_avail_open, ...)
function checkAlive(ft: Ftrace): void {
  if (ft.disabled) throw new RingtraceError('ENODEV', 'ftrace is disabled (ftrace_kill() after a WARNING, see dmesg)');
}

// The records as filter.ts selects them (available_filter_functions order)
function filterRecords(ft: Ftrace): { recs: FilterRecord[]; ips: bigint[] } {
  const recs: FilterRecord[] = [];
  const ips: bigint[] = [];
  for (const r of ft.records()) {
    recs.push({ name: r.name, module: r.module, disabled: (r.flags & FTRACE_FL_DISABLED) !== 0 });
    ips.push(r.ip);
  }
  return { recs, ips };
}

function hashOf(ft: Ftrace, buffer: TraceBuffer, which: Which) {
  return which === 'filter' ? ft.filterOf(buffer) : ft.notraceOf(buffer);
}

// cache_mod() refuses a module that is loaded: module_exists() looks the name up exactly
function moduleLoadedExactly(ft: Ftrace, name: string): boolean {
  return ft.loadedModules().some((m) => m.name === name);
}

// ---------------------------------------------------------------------------------------------------
// committing a hash

interface PendingHash {
  ips: Set<bigint>;
  zeroed: number; // entries clear_mod_from_hash() zeroed, copied along by alloc_and_copy_ftrace_hash()
}

// ftrace_hash_move_and_update_ops() at ftrace_regex_release(): the pending hash replaces the trace_array's
async function commitHash(ft: Ftrace, buffer: TraceBuffer, which: Which, pending: PendingHash, flags: number): Promise<void> {
  const set = which === 'filter' ? ft.setFilter.bind(ft) : ft.setNotrace.bind(ft);
  if (pending.zeroed === 0) {
    await set(buffer, [...pending.ips], { path: 'tracefs', flags });
    return;
  }
  // Zeroed entries can only be kept by editing the current hash (O_APPEND): take out what went, add the rest.
  const cur = new Set(hashOf(ft, buffer, which).ips);
  const gone = [...cur].filter((ip) => !pending.ips.has(ip));
  if (gone.length) await set(buffer, gone, { remove: true, path: 'tracefs' });
  await set(buffer, [...pending.ips].filter((ip) => !cur.has(ip)), { append: true, path: 'tracefs', flags });
}

// The hash change of process_mod_list(), which runs inside ftrace_module_enable() under ftrace_lock: the
// core's onModuleLoaded listeners are called with its lock held, so the public setFilter() (which takes
// the lock) would deadlock. Until the core offers a variant for listeners, use its lock-held hash move.
async function moveHashLocked(ft: Ftrace, buffer: TraceBuffer, which: Which, next: FtraceHash, chain: string[]): Promise<void> {
  const inner = ft as unknown as { hashMove?: (ops: unknown, enable: boolean, next: FtraceHash, chain: string[]) => Promise<void> };
  if (typeof inner.hashMove === 'function') {
    await inner.hashMove(ft.traceArrayOps(buffer), which === 'filter', next, chain);
    return;
  }
  // fallback: queued behind the module load (applied right after it)
  const set = which === 'filter' ? ft.setFilter.bind(ft) : ft.setNotrace.bind(ft);
  void set(buffer, [...next.ips], { append: true, flags: next.flags }).catch(() => undefined);
}

// process_cached_mods(): a module came: every trace_array's cached entries for it are applied
async function processCachedMods(rm: RingMachine, mod: string): Promise<void> {
  const ft = rm.ftrace;
  for (const buffer of [rm.buffer, ...rm.instances.values()]) {
    const st = states.get(buffer);
    if (!st) continue;
    for (const which of ['filter', 'notrace'] as const) {
      const { apply, remaining } = takeCachedMods(st.mods[which], mod);
      if (!apply.length) continue;
      st.mods[which] = remaining;
      const { recs, ips } = filterRecords(ft);
      const cur = hashOf(ft, buffer, which);
      const set = new Set(cur.ips);
      for (const func of apply) {
        const cmd = parseFilterWord(`${func}:mod:${mod}`, { file: which });
        for (const i of matchRecords(recs, cmd.glob, cmd.module)) set.add(ips[i]);
      }
      // the filter hash loses FTRACE_HASH_FL_MOD with its last cached entry
      let flags = cur.flags;
      if (which === 'filter' && remaining.length === 0) flags &= ~FTRACE_HASH_FL_MOD;
      await moveHashLocked(ft, buffer, which, new FtraceHash(set, cur.zeroed, flags), ['process_mod_list', 'process_cached_mods', 'ftrace_module_enable', 'load_module']);
    }
  }
}

function hookModules(rm: RingMachine, ft: Ftrace): void {
  if (hooked.has(ft)) return;
  hooked.add(ft);
  ft.onModuleLoaded.add((mod) => processCachedMods(rm, mod));
}

// ---------------------------------------------------------------------------------------------------
// set_ftrace_filter / set_ftrace_notrace

const PROBE_CMDS: readonly string[] = ['traceon', 'traceoff', 'stacktrace', 'dump', 'cpudump', 'snapshot'];

class RegexFile extends WordFile {
  private readonly pending: PendingHash;
  private readonly ft: Ftrace;
  private recs?: { recs: FilterRecord[]; ips: bigint[]; key: string };

  constructor(private readonly tr: TraceArray, private readonly which: Which, append: boolean) {
    super();
    this.ft = ftraceOf(tr);
    checkAlive(this.ft);
    const st = regexState(tr.buffer);
    if (append) {
      const cur = hashOf(this.ft, tr.buffer, which);
      this.pending = { ips: new Set(cur.ips), zeroed: cur.zeroed };
    } else {
      // O_TRUNC: an empty hash, and clear_ftrace_mod_list() right away
      this.pending = { ips: new Set(), zeroed: 0 };
      st.mods[which] = [];
    }
  }

  protected checkWritable(): void {
    checkAlive(this.ft);
  }

  protected writable(): boolean {
    return !this.ft.disabled;
  }

  // ftrace_regex_release(): the hash is committed (ftrace_hash_move() refuses once ftrace is dead)
  protected async commit(writable: boolean): Promise<void> {
    if (!writable) return;
    const st = regexState(this.tr.buffer);
    let flags: number;
    if (this.which === 'filter') flags = st.mods.filter.length ? FTRACE_HASH_FL_MOD : 0;
    else flags = hashOf(this.ft, this.tr.buffer, 'notrace').flags;
    await commitHash(this.ft, this.tr.buffer, this.which, this.pending, flags);
  }

  // the record list, built once per open file unless modules came or went meanwhile
  private records(): { recs: FilterRecord[]; ips: bigint[] } {
    const key = `${this.ft.recordCount}/${this.ft.loadedModules().map((m) => `${m.name}@${m.base}`).join(',')}`;
    if (this.recs?.key !== key) this.recs = { ...filterRecords(this.ft), key };
    return this.recs;
  }

  // ftrace_process_regex()
  protected async apply(word: string, atClose: boolean): Promise<void> {
    const ft = this.ft;
    const cmd = parseFilterWord(word, { file: this.which }, atClose);
    const name = cmd.command?.name;
    if (name && PROBE_CMDS.includes(name)) return this.probe(cmd, name as ProbeCommand);
    if (name === 'enable_event' || name === 'disable_event') return this.eventProbe(cmd, name);
    const { recs, ips } = this.records();
    const hits = matchRecords(recs, cmd.glob, name === 'mod' ? cmd.module : undefined);
    if (hits.length) {
      // enter_record(): '!' takes the functions out of the hash
      for (const i of hits) {
        if (cmd.negate) this.pending.ips.delete(ips[i]);
        else this.pending.ips.add(ips[i]);
      }
      return;
    }
    if (name !== 'mod') throw new RingtraceError('EINVAL', `'${word}': no function matches`);
    // ftrace_mod_callback(): nothing matched, so cache it for when the module loads
    const st = regexState(this.tr.buffer);
    st.mods[this.which] = cacheMod(st.mods[this.which], cmd, (m) => moduleLoadedExactly(ft, m));
    hookModules(this.tr.rm, ft);
  }

  private eventProbe(cmd: FilterCommand, name: 'enable_event' | 'disable_event'): Promise<void> {
    return eventProbeCommand(this.tr, this.ft, cmd, name, () => {
      const { recs, ips } = this.records();
      return matchRecords(recs, cmd.glob).map((i) => ips[i]);
    });
  }

  // ftrace_trace_probe_callback() -> register_ftrace_function_probe() / unregister_ftrace_function_probe_func()
  private async probe(cmd: FilterCommand, name: ProbeCommand): Promise<void> {
    const ft = this.ft;
    const c = cmd.command!;
    const counted = name === 'dump' || name === 'cpudump' || (c.probeOps ?? name).endsWith('_count');
    if (cmd.negate) {
      const mine = ft.probes(this.tr.buffer).filter((p) => p.cmd === name && (p.count !== null || name === 'dump' || name === 'cpudump') === counted);
      const funcs = cmd.glob === null ? undefined : mine.filter((p) => matchGlob(cmd.glob!, p.name)).map((p) => p.ip);
      await ft.unregisterProbe(this.tr.buffer, name, { counted, funcs });
      // ftrace_trace_snapshot_callback(): a successful removal disarms
      if (name === 'snapshot') this.tr.rm.events.snapshots.disarm(this.tr.buffer);
      return;
    }
    const { recs, ips } = this.records();
    const hits = matchRecords(recs, cmd.glob);
    if (!hits.length) throw new RingtraceError('EINVAL', `'${cmd.word}': no function matches`);
    // ftrace_trace_snapshot_callback(): armed (the snapshot allocated) before the probe can fire
    const snaps = name === 'snapshot' ? this.tr.rm.events.snapshots : undefined;
    await snaps?.arm(this.tr.buffer);
    try {
      await ft.registerProbe(this.tr.buffer, name, hits.map((i) => ips[i]), c.count === null || c.count === undefined ? undefined : c.count);
    } catch (err) {
      snaps?.disarm(this.tr.buffer);
      throw err;
    }
  }
}

// event_enable_func(): "FUNC:enable_event:SYSTEM:EVENT[:COUNT]" (or disable_event); the event goes
// into soft mode while the probe holds it
async function eventProbeCommand(tr: TraceArray, ft: Ftrace, cmd: FilterCommand, name: 'enable_event' | 'disable_event', ips: () => bigint[]): Promise<void> {
  const param = cmd.command?.param ?? '';
  const [system, event, countText] = param.split(':');
  if (!system || event === undefined) throw new RingtraceError('EINVAL', `'${cmd.word}': ${name} needs SYSTEM:EVENT`);
  const events = tr.rm.events;
  const call = events.find(system, event);
  if (!call || call.ignoreEnable) throw new RingtraceError('EINVAL', `'${cmd.word}': no event ${system}:${event}`);
  const label = `${system}:${event}`;
  const counted = countText !== undefined;
  if (cmd.negate) {
    const mine = ft.probes(tr.buffer).filter((p) => p.cmd === name && p.event === label && (p.count !== null) === counted);
    const funcs = cmd.glob === null ? undefined : mine.filter((p) => matchGlob(cmd.glob!, p.name)).map((p) => p.ip);
    const gone = await ft.unregisterProbe(tr.buffer, name, { counted, funcs, event: label });
    for (let i = 0; i < gone; i++) await events.setSoftMode(tr.buffer, call, -1);
    return;
  }
  let count: bigint | undefined;
  if (counted) {
    if (!/^[0-9]+$/.test(countText)) throw new RingtraceError('EINVAL', `'${cmd.word}': "${countText}" is not a count`);
    count = BigInt(countText);
  }
  const funcs = ips();
  if (!funcs.length) throw new RingtraceError('ENOENT', `'${cmd.word}': no function matches`);
  const f = events.file(tr.buffer, call);
  const added = await ft.registerProbe(tr.buffer, name, funcs, count, { addr: f.addr, name: label });
  for (let i = 0; i < added; i++) await events.setSoftMode(tr.buffer, call, +1);
}

// t_show() for the hashed functions, then t_mod_show() and t_probe_show()
function regexRead(tr: TraceArray, which: Which): string {
  const ft = ftraceOf(tr);
  checkAlive(ft);
  const h = hashOf(ft, tr.buffer, which);
  const inHash = new Set(h.ips);
  const entries: { name: string; module: string | null }[] = [];
  if (inHash.size) for (const r of ft.records()) if (inHash.has(r.ip)) entries.push({ name: r.name, module: r.module });
  const st = regexState(tr.buffer);
  let probes: FilterProbeLine[] = [];
  if (which === 'filter') {
    // tr->func_probes is newest first; each probe's functions in address order here
    const groups = new Map<string, FilterProbeLine[]>();
    for (const p of ft.probes(tr.buffer)) {
      const key = `${p.cmd}:${p.event ?? ''}:${p.count === null ? 'u' : 'c'}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = []));
      // cpudump_probe_ops has no counter: printed unlimited
      g.push({ func: p.name, module: p.module, cmd: p.event ? `${p.cmd}:${p.event}` : p.cmd, count: p.cmd === 'cpudump' ? null : p.count });
    }
    probes = [...groups.values()].reverse().flat();
  }
  return formatFilterFile(entries, {
    file: which,
    // ftrace_hash_empty(): entries zeroed by a module unload and FTRACE_HASH_FL_MOD count too
    hashModFlag: (h.flags & FTRACE_HASH_FL_MOD) !== 0 || h.count > 0,
    cachedMods: st.mods[which],
    probes,
  });
}

function regexFile(tr: TraceArray, which: Which): TraceNode {
  return file({
    mode: TRACE_MODE_WRITE,
    read: () => regexRead(tr, which),
    open: (flags) => new RegexFile(tr, which, flags.append ?? false),
  });
}

// ---------------------------------------------------------------------------------------------------
// current_tracer, available_tracers

// MAX_TRACER_SIZE
const MAX_TRACER_SIZE = 100;

// tracing_set_trace_write(): at most MAX_TRACER_SIZE bytes, whitespace stripped (strim), then
// tracing_set_tracer() (which resets the buffer of the online CPUs for the new tracer)
async function currentTracerWrite(tr: TraceArray, text: string): Promise<void> {
  const ft = ftraceOf(tr);
  const name = strstrip(userBytes(text).subarray(0, MAX_TRACER_SIZE));
  if (!(TRACERS as readonly string[]).includes(name)) {
    throw new RingtraceError('EINVAL', `no tracer "${name}" (available: ${TRACERS.join(' ')})`);
  }
  if (ft.currentTracer(tr.buffer) === name) return;
  await ft.setTracer(tr.buffer, name, { path: 'tracefs' });
}

// tracing_reset_online_cpus()
export async function resetOnlineCpus(tr: TraceArray): Promise<void> {
  for (const cpu of tr.rm.onlineCpus()) if (tr.buffer.hasCpu(cpu)) await tr.buffer.reset(cpu);
}

// ---------------------------------------------------------------------------------------------------
// available_filter_functions, enabled_functions, touched_functions

// t_show() with FTRACE_ITER_ENABLED / FTRACE_ITER_TOUCHED: the count and the R I D O M columns (no
// trampolines or call ops are emulated, so nothing follows them)
function recordsWithCounts(tr: TraceArray, touched: boolean): string {
  const ft = ftraceOf(tr);
  checkAlive(ft);
  let s = '';
  for (const r of touched ? ft.touchedFunctions() : ft.enabledFunctions()) {
    s +=
      `${formatAvailableFilterFunction(r.name, r.module)} (${r.count})` +
      (r.flags & FTRACE_FL_REGS ? ' R' : '  ') +
      (r.flags & FTRACE_FL_IPMODIFY ? ' I' : '  ') +
      (r.flags & FTRACE_FL_DIRECT ? ' D' : '  ') +
      (r.flags & FTRACE_FL_CALL_OPS ? ' O' : '  ') +
      (r.flags & FTRACE_FL_MODIFIED ? ' M ' : '   ') +
      '\n';
  }
  return s;
}

function availableFilterFunctions(tr: TraceArray): string {
  const ft = ftraceOf(tr);
  checkAlive(ft);
  return formatAvailableFilterFunctions([...ft.records()]);
}

// ---------------------------------------------------------------------------------------------------
// the function profiler

// ftrace_profile_write(): kstrtoul, then !!val
async function profileWrite(tr: TraceArray, text: string): Promise<void> {
  const on = kstrtoulFromUser(text) !== 0n;
  await ftraceOf(tr).setProfiling(on);
}

// trace_stat/functionN: function_stat_headers(), then function_stat_show() for every function hit on
// the CPU, in the order the core sorts them (function_stat_cmp: total time, largest first)
function functionStat(tr: TraceArray, cpu: number): string {
  let s = FUNCTION_STAT_HEADERS;
  for (const e of ftraceOf(tr).profileStats(cpu)) s += functionStatLine(e.name, e.hits, e.timeNs, e.timeSqNs);
  return s;
}

const STAT_FILE = /^function(0|[1-9][0-9]*)$/;

function traceStatDir(tr: TraceArray): TraceNode {
  const files = new Map<number, TraceNode>();
  return dynamicDir(
    () => Array.from({ length: tr.rm.nrCpuIds }, (_, cpu) => `function${cpu}`),
    (name) => {
      const m = STAT_FILE.exec(name);
      if (!m || Number(m[1]) >= tr.rm.nrCpuIds) return undefined;
      const cpu = Number(m[1]);
      let f = files.get(cpu);
      if (!f) files.set(cpu, (f = file({ mode: TRACE_MODE_READ, read: () => functionStat(tr, cpu) })));
      return f;
    },
  );
}

// ---------------------------------------------------------------------------------------------------

export const FTRACE_FILES: readonly TraceArrayFile[] = [
  ['current_tracer', (tr) => file({ mode: TRACE_MODE_WRITE, read: () => `${ftraceOf(tr).currentTracer(tr.buffer)}\n`, write: (t) => currentTracerWrite(tr, t) })],
  // show_traces_open() / t_show(): each name, a space between them, a newline after the last
  ['available_tracers', () => file({ mode: TRACE_MODE_READ, read: () => `${TRACERS.join(' ')}\n` })],
  ['set_ftrace_filter', (tr) => regexFile(tr, 'filter')],
  ['set_ftrace_notrace', (tr) => regexFile(tr, 'notrace')],
];

export const TOP_LEVEL_FTRACE_FILES: readonly TraceArrayFile[] = [
  ['available_filter_functions', (tr) => file({ mode: TRACE_MODE_READ, read: () => availableFilterFunctions(tr) })],
  ['enabled_functions', (tr) => file({ mode: TRACE_MODE_READ, read: () => recordsWithCounts(tr, false) })],
  ['touched_functions', (tr) => file({ mode: TRACE_MODE_READ, read: () => recordsWithCounts(tr, true) })],
  ['function_profile_enabled', (tr) => file({ mode: TRACE_MODE_WRITE, read: () => (ftraceOf(tr).profiling ? '1\n' : '0\n'), write: (t) => profileWrite(tr, t) })],
  ['trace_stat', (tr) => traceStatDir(tr)],
];
