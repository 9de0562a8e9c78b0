// set_ftrace_pid and set_ftrace_notrace_pid (kernel/trace/ftrace.c: ftrace_pid_write, pid_write): the
// function tracer of a trace_array traces only tasks in the first list and never those in the second;
// the CPUs test the current task in the tracer's callback (ftrace_pid_func).
import type { TraceBuffer } from '../ring/trace-buffer.ts';
import { abi } from '../layout.ts';
import { type PidListBlock, pidListBlock, tracePidWrite } from '../events/pid-list.ts';
import { TRACE_MODE_WRITE, file } from './node.ts';
import type { TraceArray, TraceArrayFile } from './trace-array.ts';

const { OPS_PIDS, OPS_NO_PIDS } = abi;

type Which = 'pid' | 'nopid';
interface PidState {
  pids: number[];
  block: PidListBlock | null;
}

const states = new WeakMap<TraceBuffer, Record<Which, PidState>>();

function stateOf(tr: TraceArray): Record<Which, PidState> {
  let s = states.get(tr.buffer);
  if (!s) states.set(tr.buffer, (s = { pid: { pids: [], block: null }, nopid: { pids: [], block: null } }));
  return s;
}

// fpid_show() / fnpid_show(): "no pid" for an empty list
function pidRead(tr: TraceArray, which: Which): string {
  const { pids } = stateOf(tr)[which];
  return pids.length ? pids.map((p) => `${p}\n`).join('') : 'no pid\n';
}

// pid_write(): the new list goes into the trace_array's ops; the old one is freed after a grace period
async function pidWrite(tr: TraceArray, which: Which, text: string, append: boolean): Promise<void> {
  const st = stateOf(tr)[which];
  const pids = tracePidWrite(text, st.pids, append);
  const m = tr.rm.machine;
  const ops = tr.rm.ftrace.traceArrayOps(tr.buffer);
  const next = pidListBlock(m, pids);
  const old = st.block;
  m.mem.store32(ops.addr + (which === 'pid' ? OPS_PIDS : OPS_NO_PIDS), next?.addr ?? 0);
  st.block = next;
  st.pids = pids;
  await tr.rm.events.freeAfterGracePeriod([old]);
}

export const PID_FILES: readonly TraceArrayFile[] = [
  ['set_ftrace_pid', (tr) => file({ mode: TRACE_MODE_WRITE, read: () => pidRead(tr, 'pid'), write: (t, o) => pidWrite(tr, 'pid', t, o.append ?? false) })],
  ['set_ftrace_notrace_pid', (tr) => file({ mode: TRACE_MODE_WRITE, read: () => pidRead(tr, 'nopid'), write: (t, o) => pidWrite(tr, 'nopid', t, o.append ?? false) })],
];
