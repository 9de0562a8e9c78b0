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
  // the task's own ret_stack area (abi FTC_* layout), made the first time the task runs
  taskRetStack(pid: number, comm: string): number;
}

// Which task a pid and comm name: the idle tasks are all pid 0, one per CPU (swapper/N).
export function taskKey(pid: number, comm: string): string {
  return pid === 0 ? `0 ${comm}` : String(pid);
}

const hooks = new WeakMap<Machine, FtraceWorkloadHooks>();

export function setFtraceHooks(machine: Machine, h: FtraceWorkloadHooks): void {
  hooks.set(machine, h);
}

export function ftraceHooks(machine: Machine): FtraceWorkloadHooks | undefined {
  return hooks.get(machine);
}
