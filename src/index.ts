// ringtrace: the Linux kernel's tracing ring buffer, emulated on WebAssembly threads.
export { createMachine, RingMachine, Writer, Workload, KernelOopsError, DEFAULT_BUFFER_SIZE_KB } from './api.ts';
export { FIXES, findFix } from './fixes.ts';
export type { Fix } from './fixes.ts';
export type { MachineOptions, WorkloadResult } from './api.ts';
export { attachWriter } from './writer.ts';
export type { MachineHandle, AttachOptions } from './writer.ts';
export { TraceBuffer, CLOCKS } from './ring/trace-buffer.ts';
export type { TraceEvent, RingBufferStats, ClockName } from './ring/trace-buffer.ts';
export { Tracefs, TRACEFS_MOUNTS } from './tracefs/index.ts';
export type { TracefsStat, WriteOptions } from './tracefs/index.ts';
export { RingtraceError } from './errors.ts';
export type { Errno } from './errors.ts';
export { EventLayer } from './events/events.ts';
export type { EventCall, EventValue, EventValues } from './events/events.ts';
export { UserEvent, UserEvents } from './events/user-events.ts';
export type { EventDef, EventField } from './events/types.ts';
