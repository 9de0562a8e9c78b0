// A trace.dat as a Chrome JSON trace (the Trace Event Format the Perfetto UI and chrome://tracing open):
//
//   tracks    one process per CPU ("CPU N", pid N + 1), one thread per task on it (tid = the task's
//             pid, named "comm-pid" from saved_cmdlines), so each CPU is a track group with its tasks
//             under it. Perfetto gives pid 0 and tid 0 special meanings, so no track uses them: CPU N is
//             pid N + 1, and each CPU's idle task (pid 0) gets tid PID_MAX_LIMIT + N, above any real pid
//   slices    function_graph's funcgraph_entry / funcgraph_exit pairs (struct ftrace_graph_ent_entry /
//             ftrace_graph_ret_entry of trace_entries.h) as "B"/"E" events; an exit whose entry was
//             lost becomes an "X" slice from its calltime to its rettime
//   instants  every other event ("i", thread scope) with its fields as args: the function tracer's
//             calls, stack traces, ...; trace_marker writes (ftrace/print) as global instants (markers);
//             lost events as a process-scoped "EVENTS DROPPED" instant
//
// Timestamps are microseconds (the format's unit), kept to the nanosecond as fractions.
import type { TraceDat } from '../tracedat/format.ts';
import { EventPrinter, TraceSession } from '../tracedat/report.ts';
import { fieldValue, findField, printFields, type EventFormat } from '../tracedat/events.ts';
import type { TraceRecord } from '../tracedat/kbuffer.ts';

export interface ChromeEvent {
  name: string;
  ph: 'B' | 'E' | 'X' | 'i' | 'M';
  ts?: number;
  dur?: number;
  pid: number;
  tid?: number;
  cat?: string;
  s?: 'g' | 'p' | 't';
  args?: Record<string, string | number>;
}

export interface ChromeTrace {
  traceEvents: ChromeEvent[];
  displayTimeUnit: 'ns';
  otherData: Record<string, string>;
}

// include/linux/threads.h: no task has a pid this large
const PID_MAX_LIMIT = 4 * 1024 * 1024;

function trackPid(cpu: number): number {
  return cpu + 1;
}

function trackTid(cpu: number, pid: number): number {
  return pid > 0 ? pid : PID_MAX_LIMIT + cpu;
}

function us(ns: number | bigint): number {
  return Number(ns) / 1000;
}

function num(ev: EventFormat, data: Uint8Array, name: string): bigint | null {
  const f = findField(ev, name);
  const v = f ? fieldValue(f, data) : null;
  return typeof v === 'bigint' ? v : null;
}

function args(ev: EventFormat, data: Uint8Array): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const f of ev.fields) {
    if (f.common) continue;
    const v = fieldValue(f, data);
    out[f.name] = typeof v === 'string' ? v : v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : `0x${BigInt.asUintN(64, v).toString(16)}`;
  }
  return out;
}

export function toChromeTrace(dat: TraceDat, opts: { buffer?: string } = {}): ChromeTrace {
  const s = new TraceSession(dat);
  const printer = new EventPrinter(s);
  const events: ChromeEvent[] = [];
  const threads = new Map<string, { cpu: number; pid: number }>();
  const cpus = new Set<number>();
  // open graph slices per CPU and task: function names in call order
  const open = new Map<string, string[]>();
  const sym = (addr: bigint) => s.syms.functionAt(addr)?.name ?? `0x${addr.toString(16)}`;

  const handle = (r: TraceRecord) => {
    const ev = s.eventOf(r);
    const pid = s.pidOf(r);
    const key = `${r.cpu}/${pid}`;
    cpus.add(r.cpu);
    if (!threads.has(key)) threads.set(key, { cpu: r.cpu, pid });
    const ts = us(r.ts);
    if (r.missed !== 0) {
      events.push({ name: 'EVENTS DROPPED', ph: 'i', s: 'p', ts, pid: trackPid(r.cpu), cat: 'ring_buffer', args: { count: r.missed > 0 ? r.missed : 'unknown' } });
    }
    const base = { pid: trackPid(r.cpu), tid: trackTid(r.cpu, pid), ts };
    if (!ev) {
      events.push({ ...base, name: 'unknown event', ph: 'i', s: 't', cat: 'unknown' });
      return;
    }
    const cat = ev.system;
    if (ev.system === 'ftrace' && ev.name === 'funcgraph_entry') {
      const func = sym(num(ev, r.data, 'func') ?? 0n);
      let st = open.get(key);
      if (!st) open.set(key, (st = []));
      st.push(func);
      events.push({ ...base, name: func, ph: 'B', cat: 'function_graph', args: { depth: Number(num(ev, r.data, 'depth') ?? 0n) } });
      return;
    }
    if (ev.system === 'ftrace' && ev.name === 'funcgraph_exit') {
      const func = sym(num(ev, r.data, 'func') ?? 0n);
      const st = open.get(key);
      if (st && st.length && st[st.length - 1] === func) {
        st.pop();
        events.push({ ...base, name: func, ph: 'E', cat: 'function_graph' });
        return;
      }
      const call = num(ev, r.data, 'calltime');
      const ret = num(ev, r.data, 'rettime');
      if (call !== null && ret !== null && ret >= call) {
        events.push({ ...base, ts: us(call), dur: us(ret - call), name: func, ph: 'X', cat: 'function_graph' });
      } else events.push({ ...base, name: `${func} (return)`, ph: 'i', s: 't', cat: 'function_graph' });
      return;
    }
    if (ev.system === 'ftrace' && ev.name === 'print') {
      const text = printer.info(ev, r).trimEnd();
      events.push({ ...base, name: text || 'trace_marker', ph: 'i', s: 'g', cat: 'marker', args: { text } });
      return;
    }
    if (ev.system === 'ftrace' && ev.name === 'function') {
      events.push({ ...base, name: sym(num(ev, r.data, 'ip') ?? 0n), ph: 'i', s: 't', cat: 'function', args: { parent: sym(num(ev, r.data, 'parent_ip') ?? 0n) } });
      return;
    }
    events.push({ ...base, name: ev.name, ph: 'i', s: 't', cat, args: { ...args(ev, r.data), text: printer.info(ev, r) || printFields(ev, r.data) } });
  };

  const records = s.records(opts.buffer ?? '');
  for (const r of records) handle(r);
  // slices still open at the end of the trace close at the last time stamp
  const end = records.length ? us(records[records.length - 1].ts) : 0;
  for (const [key, st] of open) {
    const [cpu, pid] = key.split('/').map(Number);
    while (st.length) events.push({ name: st.pop()!, ph: 'E', ts: end, pid: trackPid(cpu), tid: trackTid(cpu, pid), cat: 'function_graph' });
  }

  const meta: ChromeEvent[] = [];
  for (const cpu of [...cpus].sort((a, b) => a - b)) {
    meta.push({ name: 'process_name', ph: 'M', pid: trackPid(cpu), args: { name: `CPU ${cpu}` } });
    meta.push({ name: 'process_sort_index', ph: 'M', pid: trackPid(cpu), args: { sort_index: cpu } });
  }
  for (const { cpu, pid } of threads.values()) {
    meta.push({ name: 'thread_name', ph: 'M', pid: trackPid(cpu), tid: trackTid(cpu, pid), args: { name: `${s.commOf(pid)}-${pid}` } });
  }
  return {
    traceEvents: [...meta, ...events],
    displayTimeUnit: 'ns',
    otherData: { source: 'ringtrace', clock: s.clockOf(opts.buffer ?? ''), 'trace.dat version': String(dat.version) },
  };
}
