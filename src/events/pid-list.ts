// struct trace_pid_list as the CPUs read it (assembly/pid_list.ts: a sorted array), and trace_pid_write()'s
// parsing, shared by set_event_pid, set_ftrace_pid and set_ftrace_notrace_pid.
import type { Machine } from '../machine/machine.ts';
import { RingtraceError } from '../errors.ts';
import { abi } from '../layout.ts';
import { kstrtoulFromUser } from '../tracefs/parse.ts';

const { PID_COUNT, PID_LIST } = abi;
const PID_MAX_LIMIT = 0x400000; // PID_MAX_LIMIT on 64-bit: 4 * 1024 * 1024

export interface PidListBlock {
  addr: number;
  size: number;
}

// trace_pid_write(): unsigned numbers separated by whitespace, added to the current list (which an
// O_TRUNC open emptied); a bad one fails the whole write
export function tracePidWrite(text: string, current: readonly number[], append: boolean): number[] {
  const pids = append ? [...current] : [];
  for (const w of text.split(/\s+/).filter(Boolean)) {
    const v = kstrtoulFromUser(w);
    if (v >= BigInt(PID_MAX_LIMIT)) throw new RingtraceError('EINVAL', `${v} is not a pid`);
    pids.push(Number(v));
  }
  return [...new Set(pids)].sort((a, b) => a - b);
}

// The list in shared memory, or null for an empty one
export function pidListBlock(m: Machine, pids: readonly number[]): PidListBlock | null {
  if (!pids.length) return null;
  const size = PID_LIST + pids.length * 4;
  const addr = m.arena.alloc(size);
  m.mem.store32(addr + PID_COUNT, pids.length);
  pids.forEach((p, i) => m.mem.store32(addr + PID_LIST + i * 4, p));
  return { addr, size };
}

// trace_filter_add_remove_task(): at a fork (`self` the parent) the child joins a list its parent is
// in; at an exit (no `self`) the task leaves it. The new list, or undefined when it does not change.
export function traceFilterAddRemoveTask(pids: readonly number[], self: number | undefined, task: number): number[] | undefined {
  if (self !== undefined) return pids.includes(self) && !pids.includes(task) ? [...pids, task].sort((a, b) => a - b) : undefined;
  return pids.includes(task) ? pids.filter((p) => p !== task) : undefined;
}
