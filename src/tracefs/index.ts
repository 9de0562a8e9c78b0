// The tracefs control surface (machine.fs).
export { Tracefs, TRACEFS_MOUNTS } from './tracefs.ts';
export type { TracefsStat, FileHandle } from './tracefs.ts';
export type { WriteOptions, TraceFile, TraceDir, TraceNode, FileSpec, OpenFlags, OpenFile } from './node.ts';
export { TRACE_MODE_READ, TRACE_MODE_WRITE, TRACE_MODE_DIR } from './node.ts';
export type { TraceArray, TraceArrayFile, PerCpuFile } from './trace-array.ts';
export { TRACE_ARRAY_FILES, TOP_LEVEL_FILES, PER_CPU_FILES } from './trace-array.ts';
