// The module's exports: what the host and the CPU workers call. Everything lives in the shared memory
// the host lays out; this module has no data of its own.
export { cpuInit, setContextLevel } from "./cpu";
export { cpuIdle, cpuWorkDone, cpuServiceIpi } from "./smp";
export {
  rbInitPage, rbInitCpuBuffer, rbResetCpu, rbRemovePages, rbInsertPages, rbLockReserve, rbUnlockCommit,
  rbDiscardCommit, rbWrite, rbEventData, rbCalculateEventLength, rbRequestPublish, rbPublishAll, rbConsume,
  rbPeek, rbEmptyCpu, rbOldestEventTs, rbReadPage, rbIterStart, rbIterNext, rbEntriesCpu, rbBytesCpu,
  rbWriterFlush, rbReaderWait, rbTrapRecover, rbReaderLock, rbReaderLockWait, rbReaderUnlock,
} from "./ring_buffer";
export { runProgram, benchChunk, cpuTrap } from "./workload";
export { writerAttach, writerReserve, writerCommit, writerBatch, writerEmit, writerTurnEnd } from "./writer";
export { calibrationLoop } from "./bench_floor";
export {
  ftraceHashBuild, ftraceHashLookup, ftraceClearModFromHash, ftraceLookupRec, ftraceHashRecUpdate,
  ftraceReplaceCode, ftraceModuleEnable, ftraceCheckCounts,
} from "./ftrace";
