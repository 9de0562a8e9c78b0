// A writer attached from a JavaScript thread (the host's or a user's worker) writing as one CPU, in an
// instance of its own. Between two calls it holds nothing: every call publishes what it committed and
// drops the writer's cache, so readers never wait on it, and the CPU's quiescent state (IPI_QUIESCE,
// see smp.ts) only has to wait for a call in progress (CPU_WRITER_ACTIVE) to end.
import { CPU_WRITER, CPU_WRITER_ACTIVE, CPU_WRITER_CALLS, WRITER_LOST } from "./abi";
import { cpuDesc } from "./cpu";
import {
  rbWrite, lockReserve, unlockCommit, eventData, rbPublishCommits, rbWriterFlush, rbWriteRun, RUN_FILL_COPY,
} from "./ring_buffer";
import { clockSessionStart } from "./clock";
import { tracepoint } from "./events";

let token: i32 = 0;

export function writerAttach(t: i32): void {
  token = t;
}

// The read side starts before the ownership check (both sequentially consistent): a claimant that
// took the CPU over either sees this call active or is seen by it.
function writerEnter(fresh: bool): bool {
  atomic.store<i32>(cpuDesc, 1, CPU_WRITER_ACTIVE);
  if (atomic.load<i32>(cpuDesc, CPU_WRITER) != token) {
    atomic.store<i32>(cpuDesc, 0, CPU_WRITER_ACTIVE);
    return false;
  }
  store<u32>(cpuDesc, load<u32>(cpuDesc, CPU_WRITER_CALLS) + 1, CPU_WRITER_CALLS);
  if (fresh) clockSessionStart();
  return true;
}

function writerLeave(): void {
  rbPublishCommits();
  rbWriterFlush();
  atomic.store<i32>(cpuDesc, 0, CPU_WRITER_ACTIVE);
}

// ring_buffer_write() of `length` bytes at `src`: 0 recorded, -16 not recorded, WRITER_LOST
export function writerWrite(tb: usize, length: u32, src: usize, fresh: bool): i32 {
  if (!writerEnter(fresh)) return WRITER_LOST;
  const r = rbWrite(tb, length, src);
  writerLeave();
  return r;
}

// ring_buffer_lock_reserve(): the event's data address for the caller to fill, 0 when not recorded,
// WRITER_LOST; writerCommit() ends the call
export function writerReserve(tb: usize, length: u32, fresh: bool): i32 {
  if (!writerEnter(fresh)) return WRITER_LOST;
  const ev = lockReserve(tb, length);
  if (ev == 0) {
    writerLeave();
    return 0;
  }
  return <i32>eventData(ev);
}

export function writerCommit(tb: usize): void {
  unlockCommit(tb);
  writerLeave();
}

// Records of [u32 length][payload, padded to 4 bytes] at `src`: how many were recorded, or WRITER_LOST
export function writerBatch(tb: usize, src: usize, count: u32, fresh: bool): i32 {
  if (!writerEnter(fresh)) return WRITER_LOST;
  const written = <i32>rbWriteRun(tb, 0, count, RUN_FILL_COPY, src);
  writerLeave();
  return written;
}

// An event through its tracepoint (the trace_event_call at `call`, its fields at `src`): every
// trace_array that has it enabled gets it (user_events_write_core). 0, -9 (EBADF) when it is enabled
// nowhere, or WRITER_LOST.
export function writerEmit(call: usize, src: usize, len: u32, fresh: bool): i32 {
  if (!writerEnter(fresh)) return WRITER_LOST;
  const r = tracepoint(call, src, len) ? 0 : -9;
  writerLeave();
  return r;
}
