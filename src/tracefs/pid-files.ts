// set_ftrace_pid and set_ftrace_notrace_pid (kernel/trace/ftrace.c: ftrace_pid_write, pid_write): the
// function tracer of a trace_array traces only tasks in the first list and never those in the second;
// the CPUs test the current task in the tracer's callback (ftrace_pid_func). With options/function-fork
// (ftrace_pid_follow_fork) a listed task's children join its lists at fork and leave them at exit.
import type { RingMachine } from '../api.ts';
import type { TraceBuffer } from '../ring/trace-buffer.ts';
import { abi } from '../layout.ts';
import { type PidListBlock, pidListBlock, traceFilterAddRemoveTask, tracePidWrite } from '../events/pid-list.ts';
import { TRACE_MODE_WRITE, file } from './node.ts';
import type { TraceArray, TraceArrayFile } from './trace-array.ts';

const { OPS_PIDS, OPS_NO_PIDS } = abi;

type Which = 'pid' | 'nopid';
interface PidState {
  pids: number[];
  block: PidListBlock | null;
}
interface TracePids extends Record<Which, PidState> {
  funcFork: boolean; // options/function-fork (TRACE_ITER_FUNC_FORK)
}

const states = new WeakMap<TraceBuffer, TracePids>();

function stateOf(tr: TraceArray): TracePids {
  let s = states.get(tr.buffer);
  if (!s) states.set(tr.buffer, (s = { pid: { pids: [], block: null }, nopid: { pids: [], block: null }, funcFork: false }));
  return s;
}

// fpid_show() / fnpid_show(): "no pid" for an empty list
function pidRead(tr: TraceArray, which: Which): string {
  const { pids } = stateOf(tr)[which];
  return pids.length ? pids.map((p) => `${p}\n`).join('') : 'no pid\n';
}

// The new list goes into the trace_array's ops; the old one is freed after a grace period
async function setPids(rm: RingMachine, buffer: TraceBuffer, st: PidState, which: Which, pids: number[]): Promise<void> {
  const m = rm.machine;
  const ops = rm.ftrace.traceArrayOps(buffer);
  const next = pidListBlock(m, pids);
  const old = st.block;
  m.mem.store32(ops.addr + (which === 'pid' ? OPS_PIDS : OPS_NO_PIDS), next?.addr ?? 0);
  st.block = next;
  st.pids = pids;
  await rm.events.freeAfterGracePeriod([old]);
}

// pid_write()
async function pidWrite(tr: TraceArray, which: Which, text: string, append: boolean): Promise<void> {
  const st = stateOf(tr)[which];
  await setPids(tr.rm, tr.buffer, st, which, tracePidWrite(text, st.pids, append));
}

// The trace_arrays following forks (function-fork set), with their pid lists
function following(rm: RingMachine): [TraceBuffer, TracePids][] {
  const out: [TraceBuffer, TracePids][] = [];
  for (const b of [rm.buffer, ...rm.instances.values()]) {
    const s = states.get(b);
    if (s?.funcFork) out.push([b, s]);
  }
  return out;
}

// trace_filter_add_remove_task() on both lists of each trace_array that follows forks
async function follow(rm: RingMachine, self: number | undefined, task: number): Promise<void> {
  for (const [b, s] of following(rm)) {
    for (const which of ['pid', 'nopid'] as const) {
      const next = traceFilterAddRemoveTask(s[which].pids, self, task);
      if (next) await setPids(rm, b, s[which], which, next);
    }
  }
}

// ftrace_pid_follow_sched_process_fork(): a child joins each list its parent is in
export function ftracePidFollowFork(rm: RingMachine, parent: number, child: number): Promise<void> {
  return follow(rm, parent, child);
}

// ftrace_pid_follow_sched_process_exit(): an exiting task leaves both lists
export function ftracePidFollowExit(rm: RingMachine, pid: number): Promise<void> {
  return follow(rm, undefined, pid);
}

// options/function-fork of a trace_array: set_tracer_flag(TRACE_ITER_FUNC_FORK) -> ftrace_pid_follow_fork()
export function funcForkOf(tr: TraceArray): boolean {
  return stateOf(tr).funcFork;
}

export function setFuncFork(tr: TraceArray, on: boolean): void {
  stateOf(tr).funcFork = on;
}

export const PID_FILES: readonly TraceArrayFile[] = [
  ['set_ftrace_pid', (tr) => file({ mode: TRACE_MODE_WRITE, read: () => pidRead(tr, 'pid'), write: (t, o) => pidWrite(tr, 'pid', t, o.append ?? false) })],
  ['set_ftrace_notrace_pid', (tr) => file({ mode: TRACE_MODE_WRITE, read: () => pidRead(tr, 'nopid'), write: (t, o) => pidWrite(tr, 'nopid', t, o.append ?? false) })],
];
