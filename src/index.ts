// ringtrace: the Linux kernel's tracing ring buffer, emulated on WebAssembly threads.
export { createMachine, RingMachine, Writer, Workload, DEFAULT_BUFFER_SIZE_KB } from './api.ts';
export type { MachineOptions, WorkloadResult } from './api.ts';
export { TraceBuffer, CLOCKS } from './ring/trace-buffer.ts';
export type { TraceEvent, RingBufferStats, ClockName } from './ring/trace-buffer.ts';
export { RingtraceError } from './errors.ts';
export type { Errno } from './errors.ts';
