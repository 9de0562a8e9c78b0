// user_events (kernel/trace/trace_events_user.c): events user space defines at run time with the
// kernel's field syntax ("u:NAME TYPE FIELD;TYPE FIELD"), under events/user_events/NAME/ like any other
// event, written only while some trace_array has them enabled. Registered through dynamic_events, or
// as a program does through an open user_events_data (UserEventsData: DIAG_IOCSREG's write index and
// enable bit, writes prefixed by the index, DIAG_IOCSUNREG, DIAG_IOCSDEL). The typed API defines an
// event once and hands out a writer whose per-event work is one check of the enable word, the fields
// put into a reusable record, and one call into Wasm.
import type { RingMachine, Writer } from '../api.ts';
import { RingtraceError } from '../errors.ts';
import { abi } from '../layout.ts';
import { Workload } from '../machine/workload.ts';
import type { EventCall, EventLayer, EventValue, EventValues } from './events.ts';
import { type EventDef, type EventField, type EventRecord, typeInfo } from './types.ts';

const { ENT_SIZE, EC_FILES } = abi;

export const USER_EVENTS_SYSTEM = 'user_events';
export const USER_EVENTS_PREFIX = 'u:';
const MAX_EVENT_NAME_LEN = 64;

// The number types user_event_parse_field() takes (sizes and signedness as every event's, typeInfo)
const USER_TYPES: readonly string[] = ['s64', 'u64', 's32', 'u32', 'int', 'unsigned int', 's16', 'u16', 'short', 'unsigned short', 's8', 'u8', 'char', 'unsigned char'];

// user_event_parse_field(): "TYPE NAME", TYPE a number type, char[N] or __data_loc char[]; the fields
// are packed one after the other from the end of struct trace_entry
export function parseUserFields(text: string): EventField[] {
  const fields: EventField[] = [];
  let offset = ENT_SIZE;
  for (const raw of text.split(';')) {
    const f = raw.trim();
    if (!f) continue;
    const sp = f.lastIndexOf(' ');
    if (sp < 0) throw new RingtraceError('EINVAL', `"${f}": a field is TYPE NAME`);
    const type = f.slice(0, sp).trim().replace(/\s+/g, ' ');
    const name = f.slice(sp + 1);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new RingtraceError('EINVAL', `"${name}" is not a field name`);
    if (fields.some((x) => x.name === name)) throw new RingtraceError('EINVAL', `field "${name}" is defined twice`);
    let field: EventField;
    const arr = /^char\[(\d+)\]$/.exec(type);
    if (type === '__data_loc char[]') {
      field = { type, name, offset, size: 4, signed: false, len: 0, dataLoc: true, string: true };
    } else if (arr) {
      const len = Number(arr[1]);
      if (len < 1) throw new RingtraceError('EINVAL', `"${type}": an array needs a size`);
      field = { type, name, offset, size: len, signed: false, len, dataLoc: false, string: true };
    } else {
      if (!USER_TYPES.includes(type)) throw new RingtraceError('EINVAL', `"${type}" is not a user_events field type (${USER_TYPES.join(', ')}, char[N], __data_loc char[])`);
      const [size, signed] = typeInfo(type);
      field = { type, name, offset, size, signed, len: 0, dataLoc: false, string: false };
    }
    fields.push(field);
    offset += field.size;
  }
  return fields;
}

// user_field_format()
function fieldFormat(f: EventField): string {
  if (f.string) return '%s';
  if (f.size === 8) return f.signed ? '%lld' : '%llu';
  return f.signed ? '%d' : '%u';
}

// user_event_set_print_fmt(): "a=%u b=%s", REC->a, __get_str(b)
function printFmt(fields: readonly EventField[]): string {
  const fmt = fields.map((f) => `${f.name}=${fieldFormat(f)}`).join(' ');
  const args = fields.map((f) => (f.dataLoc ? `__get_str(${f.name})` : `REC->${f.name}`));
  return `"${fmt}"${args.map((a) => `, ${a}`).join('')}`;
}

// print_event_fields() of trace_output.c, what user events print: "NAME: a=0x1 (1) s=text"
function printFields(name: string, fields: readonly EventField[], rec: EventRecord): string {
  let s = `${name}:`;
  for (const f of fields) {
    s += ` ${f.name}=`;
    if (f.offset + f.size > rec.data.byteLength) {
      s += '<OVERFLOW>';
      continue;
    }
    if (f.string) {
      s += rec.str(f.name);
      continue;
    }
    const v = rec.num(f.name);
    const hex = BigInt.asUintN(f.size * 8, v).toString(16);
    s += `0x${hex} (${v})`;
  }
  return `${s}\n`;
}

function userEventDef(name: string, fields: EventField[]): EventDef {
  return {
    system: USER_EVENTS_SYSTEM,
    name,
    fields,
    printFmt: printFmt(fields),
    print: (rec) => printFields(name, fields, rec),
  };
}

// Where an encoder writes: a writer's scratch area in shared memory (or any buffer)
interface Target {
  view: DataView;
  u8: Uint8Array;
  base: number;
  cap: number;
}

// An encoder made once per writer: a setter per field writing straight into the target (the fields
// after struct trace_entry, __data_loc strings appended); returns the record's length. Numbers are
// written without BigInt when they are numbers.
function compileEncoder(fields: readonly EventField[], t: Target): (values: EventValues) => number {
  const fixed = fields.reduce((end, f) => Math.max(end, f.offset + f.size), ENT_SIZE) - ENT_SIZE;
  const { view, u8, base, cap } = t;
  const encoder = new TextEncoder();
  type Setter = (values: EventValues, end: number) => number;
  const setters: Setter[] = fields.map((f): Setter => {
    const at = base + f.offset - ENT_SIZE;
    const name = f.name;
    if (f.dataLoc) {
      return (values, end) => {
        const text = String(values[name] ?? '');
        const room = cap - end - 1;
        const { written } = encoder.encodeInto(text, u8.subarray(base + end, base + end + Math.max(0, room)));
        u8[base + end + written] = 0;
        view.setUint32(at, (((written + 1) << 16) | (end + ENT_SIZE)) >>> 0, true);
        return end + written + 1;
      };
    }
    if (f.string) {
      return (values, end) => {
        u8.fill(0, at, at + f.size);
        encoder.encodeInto(String(values[name] ?? ''), u8.subarray(at, at + f.size - 1));
        return end;
      };
    }
    switch (f.size) {
      case 1:
        return (values, end) => ((u8[at] = Number(values[name] ?? 0)), end);
      case 2:
        return (values, end) => (view.setUint16(at, Number(values[name] ?? 0) & 0xffff, true), end);
      case 4:
        return (values, end) => (view.setUint32(at, Number(values[name] ?? 0) >>> 0, true), end);
      default:
        return (values, end) => {
          const v = values[name] ?? 0;
          if (typeof v === 'bigint') view.setBigUint64(at, BigInt.asUintN(64, v), true);
          else {
            const n = Number(v);
            view.setUint32(at, n >>> 0, true);
            view.setUint32(at + 4, Math.floor(n / 4294967296) >>> 0, true);
          }
          return end;
        };
    }
  });
  return (values) => {
    let end = fixed;
    for (const set of setters) end = set(values, end);
    return end;
  };
}

// A registered user event
export class UserEvent {
  private refs = 0;
  // references from open user_events_data files and their enablers (user_event_get/put)
  fileRefs = 0;
  constructor(readonly layer: EventLayer, readonly call: EventCall, readonly definition: string, readonly persist: boolean) {}

  // user->min_size: the fixed part of the record a write must cover
  get minSize(): number {
    return this.call.fields.reduce((end, f) => Math.max(end, f.offset + f.size), ENT_SIZE) - ENT_SIZE;
  }

  get name(): string {
    return this.call.name;
  }

  get id(): number {
    return this.call.id;
  }

  get fields(): readonly EventField[] {
    return this.call.fields;
  }

  // The enable word the kernel keeps in the writer's memory: true while some trace_array has the event
  // enabled (the tracepoint's key)
  get enabled(): boolean {
    return this.layer.rm.machine.mem.loadU32(this.call.addr + EC_FILES) !== 0;
  }

  get inUse(): boolean {
    return this.refs > 0 || this.fileRefs > 0;
  }

  // Write from a CPU (the host's path): the event goes through the CPU's tracepoint like any other.
  // EBADF while it is enabled nowhere.
  async write(values: EventValues, opts: { cpu?: number } = {}): Promise<void> {
    if (!this.enabled) throw new RingtraceError('EBADF', `user event ${this.name} is not enabled`);
    const rm = this.layer.rm;
    await rm.run(opts.cpu ?? rm.onlineCpus()[0], new Workload().event(`${USER_EVENTS_SYSTEM}:${this.name}`, values));
  }

  // A writer for a JavaScript thread attached as a CPU (machine.attachWriter): each call fills the
  // fields into one reusable record and writes it; false when the event is enabled nowhere (the
  // kernel's EBADF), without touching the buffer.
  writer(w: Writer): (values: EventValues) => boolean {
    const mem = this.layer.rm.machine.mem;
    const key = (this.call.addr + EC_FILES) >> 2;
    const addr = this.call.addr;
    const scratch = w.scratch;
    const encode = compileEncoder(this.call.fields, { view: new DataView(mem.u8.buffer), u8: mem.u8, base: scratch.addr, cap: scratch.size });
    this.refs++;
    return (values) => mem.i32[key] !== 0 && w.emitScratch(addr, encode(values));
  }

  // A writer of pre-encoded records (the fields after struct trace_entry, as `encode` gives them): the
  // fastest way, for records an application lays out itself
  rawWriter(w: Writer): (payload: Uint8Array) => boolean {
    const mem = this.layer.rm.machine.mem;
    const key = (this.call.addr + EC_FILES) >> 2;
    const addr = this.call.addr;
    this.refs++;
    return (payload) => mem.i32[key] !== 0 && w.emit(addr, payload);
  }

  // The record of field values, after struct trace_entry
  encode(values: EventValues): Uint8Array {
    return this.layer.encode(`${USER_EVENTS_SYSTEM}:${this.name}`, values).payload;
  }

  release(): void {
    if (this.refs > 0) this.refs--;
  }
}

// The word a program registered for an event's status (struct user_reg's enable_addr, enable_size and
// enable_bit): an element of the program's own typed array, 4 or 8 bytes as the kernel allows
export interface EnableWord {
  array: Int32Array | Uint32Array | BigInt64Array | BigUint64Array;
  index: number;
  bit: number;
}

// struct user_reg, what DIAG_IOCSREG takes
export interface UserReg {
  nameArgs: string; // "NAME[:FLAGS] [FIELD[;FIELD...]]"
  enable: EnableWord;
  flags?: number; // USER_EVENT_REG_*
}

// include/uapi/linux/user_events.h
export const USER_EVENT_REG_PERSIST = 1;
export const USER_EVENT_REG_MULTI_FORMAT = 2;
const USER_EVENT_REG_MAX = 4;

// struct user_event_enabler: one registered word of the program, for one event
interface Enabler {
  event: UserEvent;
  word: EnableWord;
}

// user_event_enabler_write(): the bit follows the event's status, as the kernel writes it into the
// program's memory (atomically when the program shares the array with other threads)
function writeEnableBit(word: EnableWord, on: boolean): void {
  const { array, index, bit } = word;
  if (array instanceof BigInt64Array || array instanceof BigUint64Array) {
    const mask = 1n << BigInt(bit);
    const a = array as BigInt64Array;
    if (on) Atomics.or(a, index, BigInt.asIntN(64, mask));
    else Atomics.and(a, index, BigInt.asIntN(64, ~mask));
    return;
  }
  const a = array as Int32Array;
  const mask = (1 << bit) | 0;
  if (on) Atomics.or(a, index, mask);
  else Atomics.and(a, index, ~mask);
}

// An open user_events_data (struct user_event_file_info): the events registered through it, whose
// place in `refs` is their write index
export class UserEventsData {
  private refs: UserEvent[] = [];
  private closed = false;
  constructor(private readonly owner: UserEvents) {}

  // DIAG_IOCSREG (user_events_ioctl_reg, user_reg_get): check the enable word, define or find the
  // event, add it to this file's refs (the same event keeps its index), and set the bit to the event's
  // status now; returns the write index
  register(reg: UserReg): number {
    this.checkOpen();
    const { array, index, bit } = reg.enable ?? {};
    const flags = reg.flags ?? 0;
    if (!Number.isInteger(flags) || flags < 0 || flags & ~(USER_EVENT_REG_MAX - 1)) throw new RingtraceError('EINVAL', `flags ${flags}: unknown user_reg flags`);
    if (flags & USER_EVENT_REG_MULTI_FORMAT) throw new RingtraceError('EINVAL', 'USER_EVENT_REG_MULTI_FORMAT is not emulated');
    const wide = array instanceof BigInt64Array || array instanceof BigUint64Array;
    if (!(wide || array instanceof Int32Array || array instanceof Uint32Array)) {
      throw new RingtraceError('EINVAL', 'enable: the enable word is an element of an Int32Array, Uint32Array, BigInt64Array or BigUint64Array (enable_size 4 or 8)');
    }
    if (!Number.isInteger(index) || index < 0 || index >= array.length) throw new RingtraceError('EFAULT', `enable index ${index} is outside the array`);
    if (!Number.isInteger(bit) || bit < 0 || bit > (wide ? 63 : 31)) throw new RingtraceError('EINVAL', `enable_bit ${bit} does not fit in ${wide ? 8 : 4} bytes`);
    if (typeof reg.nameArgs !== 'string') throw new RingtraceError('EINVAL', 'nameArgs is the event\'s "NAME FIELDS" text');
    // current_user_event_enabler_exists(): one event per word and bit
    if (this.owner.enablerAt(reg.enable)) throw new RingtraceError('EADDRINUSE', `bit ${bit} of that word already reflects a user event`);
    const event = this.owner.register(reg.nameArgs, (flags & USER_EVENT_REG_PERSIST) !== 0);
    let at = this.refs.indexOf(event);
    if (at < 0) {
      at = this.refs.push(event) - 1;
      event.fileRefs++;
    }
    this.owner.addEnabler({ event, word: { array, index, bit } });
    return at;
  }

  // user_events_write_core(): the write index first, then the payload; refused with the kernel's
  // errno (EFAULT short, EINVAL negative or below the event's minimum size, ENOENT unknown, EBADF
  // while enabled nowhere). Returns the bytes taken, the index included.
  async write(data: Uint8Array, opts: { cpu?: number } = {}): Promise<number> {
    this.checkOpen();
    if (!(data instanceof Uint8Array) || data.length < 4) throw new RingtraceError('EFAULT', 'a write starts with the 4-byte write index');
    const idx = new DataView(data.buffer, data.byteOffset, 4).getInt32(0, true);
    if (idx < 0) throw new RingtraceError('EINVAL', `write index ${idx}`);
    const event = this.refs[idx];
    if (!event) throw new RingtraceError('ENOENT', `no event has write index ${idx} on this file`);
    const payload = data.subarray(4);
    if (payload.length < event.minSize) throw new RingtraceError('EINVAL', `${payload.length} bytes: ${event.name} records take at least ${event.minSize}`);
    if (!event.enabled) throw new RingtraceError('EBADF', `user event ${event.name} is not enabled`);
    const rm = this.owner.layer.rm;
    await rm.run(opts.cpu ?? rm.onlineCpus()[0], new Workload().eventRecord(`${USER_EVENTS_SYSTEM}:${event.name}`, payload));
    return data.length;
  }

  // DIAG_IOCSUNREG (user_events_ioctl_unreg): the word's bit no longer follows the event and is
  // cleared; ENOENT when no event was registered there. The enabler's reference goes (user_event_put).
  async unregister(word: EnableWord): Promise<void> {
    this.checkOpen();
    const e = this.owner.removeEnabler(word);
    if (!e) throw new RingtraceError('ENOENT', 'no user event is registered at that word and bit');
    writeEnableBit(word, false);
    await this.owner.deleteIfUnused(e.event);
  }

  // DIAG_IOCSDEL (user_events_ioctl_del -> delete_user_event)
  delete(name: string): Promise<void> {
    this.checkOpen();
    return this.owner.unregister(name);
  }

  // user_events_release(): this file's references go; an event nothing references any more is
  // deleted unless it persists or a trace_array has it enabled (user_event_put)
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const refs = this.refs;
    this.refs = [];
    for (const e of refs) e.fileRefs--;
    for (const e of refs) await this.owner.deleteIfUnused(e);
  }

  private checkOpen(): void {
    if (this.closed) throw new RingtraceError('EBADF', 'user_events_data is closed');
  }
}

// The user events of a machine: dynamic_events' "u:" entries, user_events_data and the typed API
export class UserEvents {
  private readonly events = new Map<string, UserEvent>();
  // the program's enablers (user_event_mm->enablers)
  private readonly enablers: Enabler[] = [];
  constructor(readonly layer: EventLayer) {}

  // open("user_events_data")
  open(): UserEventsData {
    return new UserEventsData(this);
  }

  enablerAt(w: EnableWord): Enabler | undefined {
    return this.enablers.find((e) => e.word.array === w.array && e.word.index === w.index && e.word.bit === w.bit);
  }

  // user_event_enabler_create(): the enabler holds the event, and its bit shows the status now
  addEnabler(e: Enabler): void {
    this.enablers.push(e);
    e.event.fileRefs++;
    writeEnableBit(e.word, e.event.enabled);
  }

  removeEnabler(w: EnableWord): Enabler | undefined {
    const e = this.enablerAt(w);
    if (!e) return undefined;
    this.enablers.splice(this.enablers.indexOf(e), 1);
    e.event.fileRefs--;
    return e;
  }

  // user_event_enabler_update(): every word registered for the event follows its new status
  statusChanged(call: EventCall): void {
    for (const e of this.enablers) if (e.event.call === call) writeEnableBit(e.word, e.event.enabled);
  }

  // user_event_put() of the last reference from a file or an enabler: a non-persistent event nothing
  // uses is deleted (the reference a trace_array's enable holds is not counted: disabling never deletes)
  async deleteIfUnused(e: UserEvent): Promise<void> {
    if (e.persist || e.inUse || e.enabled || this.events.get(e.name) !== e) return;
    await this.unregister(e.name);
  }

  // user_event_parse_cmd() + user_event_parse(): "NAME FIELDS", the same definition again returns the
  // existing event; another definition of the name is EADDRINUSE. dynamic_events' events persist.
  register(definition: string, persist = true): UserEvent {
    const text = definition.trim();
    const sp = text.search(/\s/);
    const nameFlags = sp < 0 ? text : text.slice(0, sp);
    const name = nameFlags.split(':')[0];
    if (!name || name.length > MAX_EVENT_NAME_LEN || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new RingtraceError('EINVAL', `"${name}" is not a user event name`);
    }
    const fields = parseUserFields(sp < 0 ? '' : text.slice(sp + 1));
    const have = this.events.get(name);
    if (have) {
      const same = have.fields.length === fields.length && have.fields.every((f, i) => f.type === fields[i].type && f.name === fields[i].name);
      if (!same) throw new RingtraceError('EADDRINUSE', `user event ${name} exists with other fields`);
      return have;
    }
    const call = this.layer.register(userEventDef(name, fields));
    const ev = new UserEvent(this.layer, call, `${name} ${fields.map((f) => `${f.type} ${f.name}`).join(';')}`.trim(), persist);
    this.events.set(name, ev);
    return ev;
  }

  get(name: string): UserEvent | undefined {
    return this.events.get(name);
  }

  list(): UserEvent[] {
    return [...this.events.values()];
  }

  // user_event_delete(): EBUSY while a writer holds it or a trace_array has it enabled; ENOENT unknown
  async unregister(name: string): Promise<void> {
    const ev = this.events.get(name);
    if (!ev) throw new RingtraceError('ENOENT', `no user event ${name}`);
    if (ev.inUse) throw new RingtraceError('EBUSY', `user event ${name} has writers`);
    await this.layer.unregister(ev.call);
    this.events.delete(name);
  }

  // user_seq_show(): user_events_status, the events in registration order (the kernel walks its hash)
  status(): string {
    let busy = 0;
    let s = '';
    for (const e of this.list()) {
      // EVENT_STATUS_FTRACE: a trace_array has its probe registered (enabled or in soft mode)
      const used = e.enabled;
      if (used) busy++;
      s += `${e.name}${used ? ' # Used by ftrace' : ''}\n`;
    }
    return `${s}\nActive: ${this.events.size}\nBusy: ${busy}\n`;
  }

  // user_event_show() for dynamic_events: "u:NAME type name; type name"
  show(): string {
    return this.list()
      .map((e) => `${USER_EVENTS_PREFIX}${e.name}${e.fields.map((f, i) => `${i ? ';' : ' '}${i ? ' ' : ''}${f.type} ${f.name}`).join('')}\n`)
      .join('');
  }

  // dynamic_events_write(): "u:NAME FIELDS" creates, "!u:NAME" deletes; "> dynamic_events" deletes
  // every user event first
  async dynamicEventsWrite(text: string, append: boolean): Promise<void> {
    if (!append) for (const e of this.list()) await this.unregister(e.name);
    for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
      if (line.startsWith(`!${USER_EVENTS_PREFIX}`)) await this.unregister(line.slice(1 + USER_EVENTS_PREFIX.length).split(/\s/)[0]);
      else if (line.startsWith(USER_EVENTS_PREFIX)) this.register(line.slice(USER_EVENTS_PREFIX.length));
      else throw new RingtraceError('EINVAL', `"${line}": only user events ("${USER_EVENTS_PREFIX}NAME FIELDS") can be defined here`);
    }
  }
}
