// Event triggers (kernel/trace/trace_events_trigger.c): traceon, traceoff, snapshot and stacktrace,
// each with an optional count (":N") and filter (" if FILTER"), run by the CPU that hits the event
// (assembly/events.ts). A trigger puts its event in soft mode: the tracepoint runs, the record is
// written only if the event is also enabled. ftrace/print's triggers run on trace_marker writes.
import type { TraceBuffer } from '../ring/trace-buffer.ts';
import { RingtraceError } from '../errors.ts';
import { abi } from '../layout.ts';
import type { Block, EventCall, EventLayer } from './events.ts';
import type { ErrorLog } from './error-log.ts';
import { FilterParseError, compileFilter } from './filter.ts';

const { TRG_COUNT, TRG_COND, TRG_ENTRIES, TRG_KIND, TRG_TB, TRG_COUNTER, TRG_FILTER, TRG_SIZE, TRIG_TRACEON, TRIG_TRACEOFF, TRIG_STACKTRACE, TRIG_SNAPSHOT } = abi;

// in the order "# Available triggers:" lists them (register_trigger_cmds(), read back from the head)
const KINDS: Record<string, number> = { traceon: TRIG_TRACEON, traceoff: TRIG_TRACEOFF, snapshot: TRIG_SNAPSHOT, stacktrace: TRIG_STACKTRACE };

interface Trigger {
  name: string;
  count: number; // -1: unlimited (the live count is in shared memory)
  filterText: string | null;
  filter: Block | null;
}

interface TriggerState {
  triggers: Trigger[];
  list: Block | null;
}

const states = new WeakMap<EventLayer, Map<string, TriggerState>>();

function stateOf(layer: EventLayer, buffer: TraceBuffer, call: EventCall): TriggerState {
  let m = states.get(layer);
  if (!m) states.set(layer, (m = new Map()));
  const key = `${buffer.addr}:${call.id}`;
  let s = m.get(key);
  if (!s) m.set(key, (s = { triggers: [], list: null }));
  return s;
}

// The counts the CPUs have used up so far
function liveCounts(layer: EventLayer, s: TriggerState): void {
  if (!s.list) return;
  s.triggers.forEach((t, i) => {
    const v = BigInt.asIntN(64, layer.rm.machine.mem.loadU64(s.list!.addr + TRG_ENTRIES + i * TRG_SIZE + TRG_COUNTER));
    t.count = Number(v);
  });
}

// event_trigger_show() / event_trigger_print(): "NAME:unlimited" or "NAME:count=N", then " if FILTER"
export function triggerRead(layer: EventLayer, buffer: TraceBuffer, call: EventCall): string {
  const s = stateOf(layer, buffer, call);
  if (!s.triggers.length) {
    return `# Available triggers:\n# ${Object.keys(KINDS).join(' ')}\n`;
  }
  liveCounts(layer, s);
  return s.triggers.map((t) => `${t.name}${t.count === -1 ? ':unlimited' : `:count=${t.count}`}${t.filterText ? ` if ${t.filterText}` : ''}\n`).join('');
}

async function publish(layer: EventLayer, buffer: TraceBuffer, call: EventCall, s: TriggerState, freed: (Block | null)[]): Promise<void> {
  const m = layer.rm.machine;
  let next: Block | null = null;
  if (s.triggers.length) {
    const size = TRG_ENTRIES + s.triggers.length * TRG_SIZE;
    next = { addr: m.arena.alloc(size), size };
    m.mem.u8.fill(0, next.addr, next.addr + size);
    m.mem.store32(next.addr + TRG_COUNT, s.triggers.length);
    m.mem.store32(next.addr + TRG_COND, s.triggers.some((t) => t.filter) ? 1 : 0);
    s.triggers.forEach((t, i) => {
      const a = next!.addr + TRG_ENTRIES + i * TRG_SIZE;
      m.mem.store32(a + TRG_KIND, KINDS[t.name]);
      m.mem.store32(a + TRG_TB, buffer.addr);
      m.mem.store64(a + TRG_COUNTER, BigInt(t.count));
      m.mem.store32(a + TRG_FILTER, t.filter?.addr ?? 0);
    });
  }
  freed.push(s.list);
  s.list = next;
  layer.setTriggerList(buffer, call, next);
  await layer.freeAfterGracePeriod(freed);
}

// event_trigger_write() -> trigger_process_regex() -> event_trigger_parse(): "[!]NAME[:COUNT] [if FILTER]"
export async function triggerWrite(layer: EventLayer, buffer: TraceBuffer, call: EventCall, input: string, _append: boolean, log: ErrorLog): Promise<void> {
  const text = input.trim();
  if (!text) return;
  const remove = text.startsWith('!');
  const body = remove ? text.slice(1) : text;
  const m = /^([a-z_]+)(?::([^\s]*))?(?:\s+if\s+(.*))?$/.exec(body);
  if (!m || !(m[1] in KINDS)) throw new RingtraceError('EINVAL', `"${text}": unknown trigger (${Object.keys(KINDS).join(' ')})`);
  const name = m[1];
  const s = stateOf(layer, buffer, call);
  liveCounts(layer, s);
  const at = s.triggers.findIndex((t) => t.name === name);
  if (remove) {
    // unregister_trigger(): nothing registered is not an error
    if (at < 0) return;
    const [t] = s.triggers.splice(at, 1);
    await publish(layer, buffer, call, s, [t.filter]);
    await softMode(layer, buffer, call, -1);
    // unregister_snapshot_trigger()
    if (name === 'snapshot') layer.snapshots.disarm(buffer);
    return;
  }
  let count = -1;
  if (m[2] !== undefined && m[2] !== '') {
    if (!/^[0-9]+$/.test(m[2])) throw new RingtraceError('EINVAL', `"${m[2]}" is not a count`);
    count = Number(m[2]);
  }
  if (at >= 0) throw new RingtraceError('EEXIST', `a ${name} trigger is already set`);
  let filter: Block | null = null;
  const filterText = m[3]?.trim() || null;
  if (filterText) {
    try {
      filter = compileFilter(layer, call, filterText);
    } catch (err) {
      if (!(err instanceof FilterParseError)) throw err;
      log.log({ tsNs: layer.uptimeNs(), loc: 'event filter parse error', cmd: filterText, errText: err.errText, pos: err.pos });
      throw new RingtraceError('EINVAL', `trigger filter "${filterText}": ${err.errText}`);
    }
  }
  // register_snapshot_trigger(): the snapshot is allocated before the trigger can fire
  if (name === 'snapshot') {
    try {
      await layer.snapshots.arm(buffer);
    } catch (err) {
      await layer.freeAfterGracePeriod([filter]);
      throw err;
    }
  }
  s.triggers.push({ name, count, filterText, filter });
  await softMode(layer, buffer, call, +1);
  await publish(layer, buffer, call, s, []);
}

// A trigger's user of soft mode; ftrace/print (the one entry with triggers) is written by
// tracing_mark_write whatever its event's state
function softMode(layer: EventLayer, buffer: TraceBuffer, call: EventCall, delta: number): Promise<void> {
  return call.ignoreEnable ? Promise.resolve() : layer.setSoftMode(buffer, call, delta);
}
