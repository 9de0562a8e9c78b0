// tracefs files of the event layer (kernel/trace/trace_events.c, trace.c): events/ with its subsystems
// and events, set_event, available_events, set_event_pid, trace_marker, trace_marker_raw, error_log,
// saved_cmdlines, saved_cmdlines_size, printk_formats and README.
import type { RingMachine } from '../api.ts';
import { RingtraceError } from '../errors.ts';
import type { EventCall, EventLayer } from '../events/events.ts';
import { ErrorLog } from '../events/error-log.ts';
import { markerRawWrite, markerWrite } from '../events/marker.ts';
import { applyEventFilter, filterRead } from '../events/filter.ts';
import { triggerRead, triggerWrite } from '../events/triggers.ts';
import { README } from '../events/readme.ts';
import { tracePidWrite } from '../events/pid-list.ts';
import { eventFormat, headerEvent, headerPage } from '../trace/formats.ts';
import { TRACE_MODE_READ, TRACE_MODE_WRITE, type TraceDir, type TraceNode, dynamicDir, file, staticDir } from './node.ts';
import { kstrtoulFromUser, printable, userBytes } from './parse.ts';
import type { TraceArray, TraceArrayFile } from './trace-array.ts';

function layer(tr: TraceArray): EventLayer {
  return tr.rm.events;
}

// The error_log of each trace_array
const errorLogs = new WeakMap<object, ErrorLog>();
export function errorLogOf(tr: TraceArray): ErrorLog {
  let log = errorLogs.get(tr.buffer);
  if (!log) errorLogs.set(tr.buffer, (log = new ErrorLog()));
  return log;
}

// kstrtoul() of "0" or "1" (event_enable_write, system_enable_write)
function zeroOrOne(text: string): boolean {
  const v = kstrtoulFromUser(text);
  if (v !== 0n && v !== 1n) throw new RingtraceError('EINVAL', `${v} is not 0 or 1`);
  return v === 1n;
}

// system_enable_read(): 0 all disabled, 1 all enabled, X mixed
function enableState(tr: TraceArray, calls: EventCall[]): string {
  let set = 0;
  for (const c of calls) {
    if (c.ignoreEnable) continue;
    set |= layer(tr).file(tr.buffer, c).enabled ? 2 : 1;
    if (set === 3) break;
  }
  return `${'001X'[set]}\n`;
}

function enableFile(tr: TraceArray, calls: () => EventCall[]): TraceNode {
  return file({
    mode: TRACE_MODE_WRITE,
    read: () => enableState(tr, calls()),
    write: async (t) => layer(tr).setEnabled(tr.buffer, calls(), zeroOrOne(t)),
  });
}

// events/SYSTEM/EVENT/ (event_create_dir, event_callback): format and id, and for events that can be
// enabled enable, filter and trigger; ftrace/print has a trigger too (trace_marker's triggers)
function eventDir(tr: TraceArray, call: EventCall): TraceDir {
  const m = new Map<string, TraceNode>([
    ['format', file({ mode: TRACE_MODE_READ, read: () => eventFormat(call.name, call.id, call.fields, call.def.printFmt) })],
    ['id', file({ mode: TRACE_MODE_READ, read: () => `${call.id}\n` })],
  ]);
  if (!call.ignoreEnable) {
    m.set('enable', file({
      mode: TRACE_MODE_WRITE,
      read: () => layer(tr).enableState(tr.buffer, call),
      write: async (t) => layer(tr).setEnabled(tr.buffer, [call], zeroOrOne(t)),
    }));
    m.set('filter', file({ mode: TRACE_MODE_WRITE, read: () => filterRead(layer(tr), tr.buffer, call), write: (t) => applyEventFilter(layer(tr), tr.buffer, call, t, errorLogOf(tr)) }));
  }
  if (!call.ignoreEnable || (call.system === 'ftrace' && call.name === 'print')) {
    m.set('trigger', file({ mode: TRACE_MODE_WRITE, read: () => triggerRead(layer(tr), tr.buffer, call), write: (t, o) => triggerWrite(layer(tr), tr.buffer, call, t, o.append ?? false, errorLogOf(tr)) }));
  }
  return staticDir(m);
}

// events/SYSTEM/: its events, and (not for the ftrace system) enable and filter
function systemDir(tr: TraceArray, system: string): TraceDir {
  const calls = () => layer(tr).calls.filter((c) => c.system === system);
  const dirs = new Map<EventCall, TraceDir>();
  const extra = system === 'ftrace' ? [] : ['enable', 'filter'];
  return dynamicDir(
    () => [...calls().map((c) => c.name), ...extra],
    (name) => {
      if (name === 'enable' && extra.length) return enableFile(tr, calls);
      if (name === 'filter' && extra.length) {
        // filter_write() of a subsystem: the filter goes to every event of it that has the fields
        return file({
          mode: TRACE_MODE_WRITE,
          read: () => '### global filter ###\n# Use this to set filters for multiple events\n',
          write: async (t) => {
            for (const c of calls()) await applyEventFilter(layer(tr), tr.buffer, c, t, errorLogOf(tr));
          },
        });
      }
      const call = calls().find((c) => c.name === name);
      if (!call) return undefined;
      let d = dirs.get(call);
      if (!d) dirs.set(call, (d = eventDir(tr, call)));
      return d;
    },
  );
}

// events/: enable, header_page, header_event and a directory per subsystem
function eventsDir(tr: TraceArray): TraceDir {
  const systems = new Map<string, TraceDir>();
  const fixed = new Map<string, TraceNode>([
    ['enable', enableFile(tr, () => layer(tr).calls)],
    ['header_page', file({ mode: TRACE_MODE_READ, read: () => headerPage(tr.buffer.dataSize) })],
    ['header_event', file({ mode: TRACE_MODE_READ, read: () => headerEvent() })],
  ]);
  return dynamicDir(
    () => [...fixed.keys(), ...layer(tr).systems()],
    (name) => {
      const f = fixed.get(name);
      if (f) return f;
      if (!layer(tr).systems().includes(name)) return undefined;
      let d = systems.get(name);
      if (!d) systems.set(name, (d = systemDir(tr, name)));
      return d;
    },
  );
}

// ftrace_set_clr_event(): "[!]system:event", "system:*", "*:event", "event" or "system"; EINVAL when
// nothing matched
async function setClrEvent(tr: TraceArray, spec: string): Promise<void> {
  const set = !spec.startsWith('!');
  const word = set ? spec : spec.slice(1);
  let match: string | null = null;
  let sub: string | null = null;
  let event: string | null = null;
  const colon = word.indexOf(':');
  if (colon < 0) match = word;
  else {
    sub = word.slice(0, colon);
    event = word.slice(colon + 1);
    if (sub === '' || sub === '*') sub = null;
    if (event === '' || event === '*') event = null;
  }
  const calls = layer(tr).calls.filter(
    (c) => !c.ignoreEnable && (match === null || match === c.name || match === c.system) && (sub === null || sub === c.system) && (event === null || event === c.name),
  );
  if (!calls.length) throw new RingtraceError('EINVAL', `no event matches "${printable(word)}"`);
  await layer(tr).setEnabled(tr.buffer, calls, set);
}

// ftrace_event_write(): whitespace-separated words; `>` (O_TRUNC) first disables every event
async function setEventWrite(tr: TraceArray, text: string, append: boolean): Promise<void> {
  if (!append) await layer(tr).setEnabled(tr.buffer, layer(tr).calls, false);
  for (const w of text.split(/\s+/).filter(Boolean)) await setClrEvent(tr, w);
}

// A string written to a binary file: each character is one byte
function latin1(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
}

// saved_cmdlines_size (tracing_saved_cmdlines_size_write): 1..PID_MAX_DEFAULT
const savedCmdlinesSize = new WeakMap<RingMachine, number>();
const SAVED_CMDLINES_DEFAULT = 128;
const PID_MAX_DEFAULT = 32768;

function savedCmdlinesRead(tr: TraceArray): string {
  const max = savedCmdlinesSize.get(tr.rm) ?? SAVED_CMDLINES_DEFAULT;
  const saved = [...(tr.rm.ftrace?.savedCmdlines ?? new Map<number, string>())].filter(([pid]) => pid !== 0);
  return saved.slice(-max).map(([pid, comm]) => `${pid} ${comm}\n`).join('');
}

export const EVENT_FILES: readonly TraceArrayFile[] = [
  ['events', (tr) => eventsDir(tr)],
  ['set_event', (tr) => file({
    mode: TRACE_MODE_WRITE,
    read: () => layer(tr).enabledCalls(tr.buffer).map((c) => `${c.system}:${c.name}\n`).join(''),
    write: (t, o) => setEventWrite(tr, t, o.append ?? false),
  })],
  ['available_events', (tr) => file({ mode: TRACE_MODE_READ, read: () => layer(tr).calls.filter((c) => !c.ignoreEnable).map((c) => `${c.system}:${c.name}\n`).join('') })],
  ['set_event_pid', (tr) => file({
    mode: TRACE_MODE_WRITE,
    read: () => layer(tr).array(tr.buffer).pids.map((p) => `${p}\n`).join(''),
    write: (t, o) => layer(tr).setEventPids(tr.buffer, tracePidWrite(t, layer(tr).array(tr.buffer).pids, o.append ?? false)),
  })],
  ['trace_marker', (tr) => file({ mode: 0o220, write: (t) => markerWrite(tr.rm, tr.buffer, userBytes(t)) })],
  ['trace_marker_raw', (tr) => file({ mode: 0o220, write: (t) => markerRawWrite(tr.rm, tr.buffer, latin1(t)) })],
  ['error_log', (tr) => file({
    mode: TRACE_MODE_WRITE,
    read: () => errorLogOf(tr).read(),
    // tracing_err_log_open(): an O_TRUNC open clears it; what is written is ignored
    write: async (_t, o) => {
      if (!o.append) errorLogOf(tr).clear();
    },
  })],
];

// Files only the top level has (tracer_init_tracefs / init_tracer_tracefs of global_trace)
export const TOP_LEVEL_EVENT_FILES: readonly TraceArrayFile[] = [
  ['README', () => file({ mode: TRACE_MODE_READ, read: () => README })],
  ['saved_cmdlines', (tr) => file({ mode: TRACE_MODE_READ, read: () => savedCmdlinesRead(tr) })],
  ['saved_cmdlines_size', (tr) => file({
    mode: TRACE_MODE_WRITE,
    read: () => `${savedCmdlinesSize.get(tr.rm) ?? SAVED_CMDLINES_DEFAULT}\n`,
    write: async (t) => {
      const v = kstrtoulFromUser(t);
      if (v === 0n || v > BigInt(PID_MAX_DEFAULT)) throw new RingtraceError('EINVAL', `${v} is not 1..${PID_MAX_DEFAULT}`);
      savedCmdlinesSize.set(tr.rm, Number(v));
    },
  })],
  // dynamic_events: only user events ("u:NAME FIELDS") in this emulator
  ['dynamic_events', (tr) => file({
    mode: TRACE_MODE_WRITE,
    read: () => tr.rm.events.userEvents.show(),
    write: (t, o) => tr.rm.events.userEvents.dynamicEventsWrite(t, o.append ?? false),
  })],
  // user_events_status (user_seq_show); user_events_data needs its ioctls, so programs open it
  // through the API (m.events.userEvents.open())
  ['user_events_status', (tr) => file({ mode: TRACE_MODE_WRITE, read: () => tr.rm.events.userEvents.status() })],
  // no trace_printk() call sites in the emulated kernel: no formats
  ['printk_formats', () => file({ mode: TRACE_MODE_READ, read: () => '' })],
];
