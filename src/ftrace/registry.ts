// What a workload needs from a machine's ftrace when it is encoded (call sites resolved once, like the
// kernel patching them; comm names turned into ids). Kept apart so that the workload builder does not
// import the whole ftrace host.
import type { Machine } from '../machine/machine.ts';

export interface CallSite {
  rec: number; // the dyn_ftrace record's address (0: the function has no record)
  ip: bigint;
}

export interface FtraceWorkloadHooks {
  resolveCall(fn: string | bigint): CallSite;
  // the return address a call from `parent` to `callee` leaves on the stack
  returnAddress(parent: string | bigint, callee: bigint): bigint;
  commId(pid: number, comm: string): number;
}

const hooks = new WeakMap<Machine, FtraceWorkloadHooks>();

export function setFtraceHooks(machine: Machine, h: FtraceWorkloadHooks): void {
  hooks.set(machine, h);
}

export function ftraceHooks(machine: Machine): FtraceWorkloadHooks | undefined {
  return hooks.get(machine);
}
