// The event layer of one machine (kernel/trace/trace_events.c): every event's trace_event_call with its
// type, one trace_event_file per event and trace_array, enabling (the tracepoint's probe list, rebuilt
// and swapped like tracepoint_add_func's, the old list freed after a grace period), set_event_pid, and
// the encoding of an event's record for the workload op that emits it.
import type { RingMachine } from '../api.ts';
import type { Machine } from '../machine/machine.ts';
import type { TraceBuffer } from '../ring/trace-buffer.ts';
import { RingtraceError } from '../errors.ts';
import { abi } from '../layout.ts';
import { EVENT_DEFS } from './defs/index.ts';
import { type EventDef, type EventField, fixedSize } from './types.ts';
import { eventRecord } from './record.ts';
import { Snapshots } from './snapshot.ts';
import { pidListBlock } from './pid-list.ts';
import { UserEvents } from './user-events.ts';
import type { SymbolSource } from '../trace/output.ts';

const {
  TRACE_LAST_TYPE, TRACE_EVENT_TYPE_MAX, EC_TYPE, EC_FILES, EC_SIZE, EFL_COUNT, EFL_FILES, EF_FLAGS, EF_TB, EF_PIDS,
  EF_FILTER, EF_TRIGGERS, EF_SIZE, EVENT_FILE_FL_ENABLED, EVENT_FILE_FL_SOFT_MODE, EVENT_FILE_FL_SOFT_DISABLED, ENT_SIZE,
} = abi;

export interface EventCall {
  readonly def: EventDef;
  readonly system: string;
  readonly name: string;
  readonly id: number; // event->type: common_type of its records
  readonly addr: number; // its trace_event_call in shared memory (0 for the ftrace entries, written by tracers directly)
  readonly fields: readonly EventField[];
  // TRACE_EVENT_FL_IGNORE_ENABLE: the ftrace entries cannot be enabled as events
  readonly ignoreEnable: boolean;
}

// A block of shared memory the host owns (a probe list, a pid list, a filter program)
export interface Block {
  addr: number;
  size: number;
}

export class EventFile {
  enabled = false;
  softMode = 0; // users of soft mode (triggers): the tracepoint runs, the record is written only when enabled
  filter: { text: string; prog: Block | null } | null = null; // the filter string and its program
  constructor(readonly call: EventCall, readonly addr: number) {}
}

// The event state of one trace_array
export class TraceArrayEvents {
  readonly files = new Map<EventCall, EventFile>();
  pids: number[] = []; // set_event_pid, sorted
  pidList: Block | null = null;
  constructor(readonly buffer: TraceBuffer) {}
}

// What a workload needs to emit events (kept apart so the workload builder does not import the layer)
export interface EventWorkloadHooks {
  encodeEvent(event: string, values: EventValues): { call: number; payload: Uint8Array };
  // the address of a buffer's trace_event_file of an event (whose triggers a workload entry runs)
  eventFile(buffer: TraceBuffer, event: string): number;
  // the trace_event_call of an event a tracepoint site emits
  eventCall(event: string): number;
}

export type EventValue = number | bigint | string | readonly (number | bigint)[];
export type EventValues = Readonly<Record<string, EventValue>>;

const hooks = new WeakMap<Machine, EventWorkloadHooks>();

export function eventHooks(machine: Machine): EventWorkloadHooks | undefined {
  return hooks.get(machine);
}

const encoder = new TextEncoder();

export class EventLayer {
  readonly calls: EventCall[] = [];
  readonly snapshots: Snapshots;
  readonly userEvents: UserEvents;
  private readonly byId = new Map<number, EventCall>();
  private readonly arrays = new Map<TraceBuffer, TraceArrayEvents>();
  private nextType = TRACE_LAST_TYPE;
  private readonly bootMs = performance.now();

  constructor(readonly rm: RingMachine) {
    this.snapshots = new Snapshots(rm);
    this.userEvents = new UserEvents(this);
    for (const group of EVENT_DEFS) for (const def of group) this.register(def);
    hooks.set(rm.machine, { encodeEvent: (e, v) => this.encode(e, v), eventFile: (b, e) => this.file(b, this.resolve(e)).addr, eventCall: (e) => this.emitted(e).addr });
  }

  // local_clock() for error_log stamps: ns since the machine booted
  uptimeNs(): number {
    return Math.round((performance.now() - this.bootMs) * 1e6);
  }

  private get machine(): Machine {
    return this.rm.machine;
  }

  // trace_event_raw_init() -> register_trace_event(): a static type for the ftrace entries, else the
  // next free one (alloc_trace_event_type)
  register(def: EventDef): EventCall {
    if (this.calls.some((c) => c.system === def.system && c.name === def.name)) {
      throw new RingtraceError('EEXIST', `event ${def.system}:${def.name} already exists`);
    }
    let id = def.type;
    if (id === undefined) {
      if (this.nextType > TRACE_EVENT_TYPE_MAX) throw new RingtraceError('ENOSPC', 'no event type left');
      id = this.nextType++;
    }
    let addr = 0;
    if (def.type === undefined) {
      addr = this.machine.arena.alloc(EC_SIZE);
      this.machine.mem.store32(addr + EC_TYPE, id);
      this.machine.mem.store32(addr + EC_FILES, 0);
    }
    const call: EventCall = { def, system: def.system, name: def.name, id, addr, fields: def.fields, ignoreEnable: def.type !== undefined };
    this.calls.push(call);
    this.byId.set(id, call);
    for (const tr of this.arrays.values()) this.addFile(tr, call);
    return call;
  }

  // trace_remove_event_call(): EBUSY while any trace_array has it enabled
  async unregister(call: EventCall): Promise<void> {
    for (const tr of this.arrays.values()) {
      if (tr.files.get(call)?.enabled) throw new RingtraceError('EBUSY', `event ${call.system}:${call.name} is enabled`);
    }
    for (const tr of this.arrays.values()) {
      const f = tr.files.get(call);
      if (!f) continue;
      tr.files.delete(call);
      this.machine.arena.release(f.addr, EF_SIZE);
      if (f.filter?.prog) this.machine.arena.release(f.filter.prog.addr, f.filter.prog.size);
    }
    this.calls.splice(this.calls.indexOf(call), 1);
    this.byId.delete(call.id);
    await this.machine.synchronizeRcu();
    if (call.addr) this.machine.arena.release(call.addr, EC_SIZE);
  }

  byType(type: number): EventCall | undefined {
    return this.byId.get(type);
  }

  // The trace output of a type: the event's own printer, or "NAME: " and its TP_printk text
  printer(type: number): ((data: Uint8Array, syms: SymbolSource) => string) | undefined {
    const call = this.byId.get(type);
    const def = call?.def;
    if (!def || (!def.print && !def.printArgs)) return undefined;
    return (data, syms) => {
      const rec = eventRecord(data, def.fields);
      return def.print ? def.print(rec, syms) : `${def.name}: ${def.printArgs!(rec, syms)}\n`;
    };
  }

  find(system: string, name: string): EventCall | undefined {
    return this.calls.find((c) => c.system === system && c.name === name);
  }

  // The subsystems in registration order (the events/ directory)
  systems(): string[] {
    return [...new Set(this.calls.map((c) => c.system))];
  }

  private addFile(tr: TraceArrayEvents, call: EventCall): void {
    const m = this.machine;
    const addr = m.arena.alloc(EF_SIZE);
    m.mem.u8.fill(0, addr, addr + EF_SIZE);
    m.mem.store32(addr + EF_TB, tr.buffer.addr);
    m.mem.store32(addr + EF_PIDS, tr.pidList?.addr ?? 0);
    tr.files.set(call, new EventFile(call, addr));
  }

  // event_trace_add_tracer(): a trace_array's files, made on first use
  array(buffer: TraceBuffer): TraceArrayEvents {
    let tr = this.arrays.get(buffer);
    if (!tr) {
      tr = new TraceArrayEvents(buffer);
      this.arrays.set(buffer, tr);
      for (const call of this.calls) this.addFile(tr, call);
    }
    return tr;
  }

  file(buffer: TraceBuffer, call: EventCall): EventFile {
    const f = this.array(buffer).files.get(call);
    if (!f) throw new RingtraceError('ENOENT', `no event ${call.system}:${call.name}`);
    return f;
  }

  // tracepoint_add_func() / tracepoint_remove_func(): the call's probe list becomes the files enabled
  // now; returns the old list, to be freed after a grace period
  private rebuildProbes(call: EventCall): Block | null {
    const m = this.machine;
    const files: number[] = [];
    for (const tr of this.arrays.values()) {
      const f = tr.files.get(call);
      if (f && (f.enabled || f.softMode)) files.push(f.addr);
    }
    const oldAddr = m.mem.loadU32(call.addr + EC_FILES);
    let next = 0;
    if (files.length) {
      next = m.arena.alloc(EFL_FILES + files.length * 4);
      m.mem.store32(next + EFL_COUNT, files.length);
      files.forEach((f, i) => m.mem.store32(next + EFL_FILES + i * 4, f));
    }
    m.mem.store32(call.addr + EC_FILES, next);
    return oldAddr ? { addr: oldAddr, size: EFL_FILES + m.mem.loadU32(oldAddr + EFL_COUNT) * 4 } : null;
  }

  // Free blocks no CPU can still be using (after synchronize_rcu())
  async freeAfterGracePeriod(blocks: (Block | null)[]): Promise<void> {
    const live = blocks.filter((b): b is Block => b !== null);
    if (!live.length) return;
    await this.machine.synchronizeRcu();
    for (const b of live) this.machine.arena.release(b.addr, b.size);
  }

  // __ftrace_event_enable_disable() for several events of one trace_array
  async setEnabled(buffer: TraceBuffer, calls: readonly EventCall[], on: boolean): Promise<void> {
    const old: (Block | null)[] = [];
    for (const call of calls) {
      if (call.ignoreEnable) continue;
      const f = this.file(buffer, call);
      // in soft mode a write also resets what a probe switched (__ftrace_event_enable_disable)
      if (f.enabled === on && !f.softMode) continue;
      f.enabled = on;
      old.push(this.updateFile(f));
    }
    await this.freeAfterGracePeriod(old);
  }

  // trace_event_enable_disable() with soft_disable: a trigger's user of the event (delta +1 / -1)
  async setSoftMode(buffer: TraceBuffer, call: EventCall, delta: number): Promise<void> {
    const f = this.file(buffer, call);
    f.softMode += delta;
    await this.freeAfterGracePeriod([this.updateFile(f)]);
  }

  // The file's flags for the CPUs and the call's probe list; returns the old list
  private updateFile(f: EventFile): Block | null {
    let flags = this.machine.mem.load32(f.addr + EF_FLAGS) & ~(EVENT_FILE_FL_ENABLED | EVENT_FILE_FL_SOFT_MODE | EVENT_FILE_FL_SOFT_DISABLED);
    if (f.enabled || f.softMode) flags |= EVENT_FILE_FL_ENABLED;
    if (f.softMode) flags |= EVENT_FILE_FL_SOFT_MODE;
    if (f.softMode && !f.enabled) flags |= EVENT_FILE_FL_SOFT_DISABLED;
    this.machine.mem.store32(f.addr + EF_FLAGS, flags);
    const old = this.rebuildProbes(f.call);
    this.userEvents.statusChanged(f.call);
    return old;
  }

  // event_enable_read(): "1" when the event records, "0" when not, "*" in soft mode; read from the
  // flags the CPUs use, since enable_event / disable_event probes switch them
  enableState(buffer: TraceBuffer, call: EventCall): string {
    const f = this.file(buffer, call);
    const flags = this.machine.mem.load32(f.addr + EF_FLAGS);
    const on = flags & EVENT_FILE_FL_ENABLED && !(flags & EVENT_FILE_FL_SOFT_DISABLED);
    return `${on ? '1' : '0'}${flags & (EVENT_FILE_FL_SOFT_MODE | EVENT_FILE_FL_SOFT_DISABLED) ? '*' : ''}\n`;
  }

  enabledCalls(buffer: TraceBuffer): EventCall[] {
    const tr = this.array(buffer);
    return this.calls.filter((c) => tr.files.get(c)?.enabled);
  }

  // set_event_pid: every file of the trace_array points at the new sorted list (0 for none)
  async setEventPids(buffer: TraceBuffer, pids: readonly number[]): Promise<void> {
    const tr = this.array(buffer);
    const next = pidListBlock(this.machine, pids);
    const old = tr.pidList;
    tr.pidList = next;
    tr.pids = [...pids];
    for (const f of tr.files.values()) this.machine.mem.store32(f.addr + EF_PIDS, next?.addr ?? 0);
    await this.freeAfterGracePeriod([old]);
  }

  // Point a file at a new filter program (or none), freeing the old one after a grace period
  async setFilterProgram(buffer: TraceBuffer, call: EventCall, filter: EventFile['filter']): Promise<void> {
    const f = this.file(buffer, call);
    const old = f.filter?.prog ?? null;
    f.filter = filter;
    this.machine.mem.store32(f.addr + EF_FILTER, filter?.prog?.addr ?? 0);
    await this.freeAfterGracePeriod([old]);
  }

  // Point a file at a new trigger list (or none)
  setTriggerList(buffer: TraceBuffer, call: EventCall, list: Block | null): void {
    this.machine.mem.store32(this.file(buffer, call).addr + EF_TRIGGERS, list?.addr ?? 0);
  }

  // instance_rmdir(): the instance's events are disabled, its files and its snapshot buffer freed
  async releaseTraceArray(buffer: TraceBuffer): Promise<void> {
    await this.snapshots.release(buffer);
    const tr = this.arrays.get(buffer);
    if (!tr) return;
    await this.setEnabled(buffer, this.calls, false);
    const blocks: Block[] = [];
    for (const f of tr.files.values()) {
      this.machine.mem.store32(f.addr + EF_FILTER, 0);
      this.machine.mem.store32(f.addr + EF_TRIGGERS, 0);
      blocks.push({ addr: f.addr, size: EF_SIZE });
      if (f.filter?.prog) blocks.push(f.filter.prog);
    }
    if (tr.pidList) blocks.push(tr.pidList);
    this.arrays.delete(buffer);
    await this.freeAfterGracePeriod(blocks);
  }

  // The bytes after struct trace_entry of an event's record, from field values: numbers, strings for
  // char arrays and __data_loc strings (appended after the fixed part), arrays of numbers
  encode(event: string, values: EventValues): { call: number; payload: Uint8Array } {
    const call = this.emitted(event);
    for (const k of Object.keys(values)) {
      if (!call.fields.some((f) => f.name === k)) throw new RingtraceError('EINVAL', `${call.system}:${call.name} has no field "${k}"`);
    }
    const align = Math.max(4, ...call.fields.map((f) => (f.dataLoc ? 4 : f.len ? f.size / f.len : Math.min(8, f.size || 1))));
    const fixed = (fixedSize(call.fields) + align - 1) & ~(align - 1);
    const dyn: { field: EventField; bytes: Uint8Array }[] = [];
    for (const f of call.fields) {
      if (!f.dataLoc) continue;
      const v = values[f.name] ?? '';
      if (typeof v !== 'string') throw new RingtraceError('EINVAL', `${call.name}.${f.name} is a string`);
      const b = encoder.encode(v);
      const z = new Uint8Array(b.length + 1);
      z.set(b);
      dyn.push({ field: f, bytes: z });
    }
    const total = fixed + dyn.reduce((n, d) => n + d.bytes.length, 0);
    const rec = new Uint8Array(total);
    const view = new DataView(rec.buffer);
    for (const f of call.fields) {
      const v = values[f.name];
      if (v === undefined || f.dataLoc) continue;
      if (f.string) {
        if (typeof v !== 'string') throw new RingtraceError('EINVAL', `${call.name}.${f.name} is a string`);
        rec.set(encoder.encode(v).subarray(0, Math.max(0, f.size - 1)), f.offset);
      } else if (f.len) {
        if (!Array.isArray(v)) throw new RingtraceError('EINVAL', `${call.name}.${f.name} is an array of ${f.len}`);
        const el = f.size / f.len;
        (v as readonly (number | bigint)[]).slice(0, f.len).forEach((x, i) => putInt(view, f.offset + i * el, el, x));
      } else {
        if (typeof v !== 'number' && typeof v !== 'bigint') throw new RingtraceError('EINVAL', `${call.name}.${f.name} is a number`);
        putInt(view, f.offset, f.size, v);
      }
    }
    let off = fixed;
    for (const d of dyn) {
      view.setUint32(d.field.offset, ((d.bytes.length << 16) | off) >>> 0, true);
      rec.set(d.bytes, off);
      off += d.bytes.length;
    }
    return { call: call.addr, payload: rec.subarray(ENT_SIZE) };
  }

  // An event a tracepoint site can emit (not an ftrace entry)
  private emitted(event: string): EventCall {
    const call = this.resolve(event);
    if (call.ignoreEnable) throw new RingtraceError('EINVAL', `${call.system}:${call.name} is written by the tracers, not emitted`);
    return call;
  }

  // "system:event" or a unique "event"
  resolve(event: string): EventCall {
    const colon = event.indexOf(':');
    const matches = colon < 0 ? this.calls.filter((c) => c.name === event) : this.calls.filter((c) => c.system === event.slice(0, colon) && c.name === event.slice(colon + 1));
    if (matches.length !== 1) throw new RingtraceError(matches.length ? 'EINVAL' : 'ENOENT', matches.length ? `"${event}" is ambiguous: name its system` : `no event "${event}"`);
    return matches[0];
  }
}

function putInt(view: DataView, off: number, size: number, v: number | bigint): void {
  const b = BigInt.asUintN(64, BigInt(v));
  if (size === 1) view.setUint8(off, Number(b & 0xffn));
  else if (size === 2) view.setUint16(off, Number(b & 0xffffn), true);
  else if (size === 4) view.setUint32(off, Number(b & 0xffffffffn), true);
  else view.setBigUint64(off, b, true);
}
