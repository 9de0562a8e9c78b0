// A writer attached from a JavaScript thread (the host's or a user's worker) writing as one CPU, in an
// instance of its own. Every call publishes what it committed: plain stores of the counters, then one
// sequentially consistent store of page->commit (rbPublishCommits), so readers never wait on it.
//
// Its RCU read side is a turn of its thread's event loop, not a call. The first call of a turn opens it
// (CPU_WRITER_ACTIVE = WRITER_SECTION, stored before the call loads any buffer state); a microtask at
// the end of the turn closes it (writerTurnEnd). A grace period that finds it open asks for a quiescent
// state (WRITER_QS_WANTED, see smp.ts), which the next call passes before it writes, or the end of the
// turn. Opening and closing it per call would cost two locked instructions per call (a store ordered
// before the call's loads, and a release at its end); per turn they are paid once, and the writer's
// cache lives from call to call.
import {
  CPU_WRITER, CPU_WRITER_ACTIVE, CPU_WRITER_CALLS, WRITER_LOST, WRITER_SECTION, WRITER_QS_WANTED,
  WRITER_FRESH_CLOCK, WRITER_TURN_BEGIN,
} from "./abi";
import { cpuDesc } from "./cpu";
import {
  lockReserve, unlockCommit, eventData, rbPublishCommits, rbWriterDrop, rbWriteRun, RUN_FILL_COPY,
} from "./ring_buffer";
import { clockSessionStart } from "./clock";
import { tracepoint } from "./events";

let token: i32 = 0;

export function writerAttach(t: i32): void {
  token = t;
}

// The read side opens before the ownership check (both sequentially consistent): a claimant that
// took the CPU over either sees this turn's section or is seen by this call. A writer that lost its
// CPU touches the read side of the new owner no further.
function writerEnter(flags: u32): bool {
  const begin = (flags & WRITER_TURN_BEGIN) != 0;
  if (begin) atomic.store<i32>(cpuDesc, WRITER_SECTION, CPU_WRITER_ACTIVE);
  if (atomic.load<i32>(cpuDesc, CPU_WRITER) != token) {
    if (begin) atomic.store<i32>(cpuDesc, 0, CPU_WRITER_ACTIVE);
    return false;
  }
  if (!begin && (atomic.load<i32>(cpuDesc, CPU_WRITER_ACTIVE) & WRITER_QS_WANTED)) writerQuiescent();
  store<u32>(cpuDesc, load<u32>(cpuDesc, CPU_WRITER_CALLS) + 1, CPU_WRITER_CALLS);
  if (flags & WRITER_FRESH_CLOCK) clockSessionStart();
  return true;
}

// A quiescent state between two calls of a turn: the cache goes (the host may change the buffers
// after the grace period; every call published it whole), and the store that says so orders this
// call's loads after it.
function writerQuiescent(): void {
  rbWriterDrop();
  atomic.store<i32>(cpuDesc, WRITER_SECTION, CPU_WRITER_ACTIVE);
  atomic.notify(cpuDesc + CPU_WRITER_ACTIVE);
}

// The end of the thread's turn (a microtask the Writer queues at its first call of the turn). An event
// reserved and never committed (the caller threw in between) goes with the cache.
export function writerTurnEnd(): void {
  rbWriterDrop();
  if (atomic.load<i32>(cpuDesc, CPU_WRITER) != token) return;
  if (atomic.xchg<i32>(cpuDesc + CPU_WRITER_ACTIVE, 0) & WRITER_QS_WANTED) atomic.notify(cpuDesc + CPU_WRITER_ACTIVE);
}

// ring_buffer_lock_reserve(): the event's data address for the caller to fill, 0 when not recorded,
// WRITER_LOST; writerCommit() ends the call
export function writerReserve(tb: usize, length: u32, flags: u32): i32 {
  if (!writerEnter(flags)) return WRITER_LOST;
  const ev = lockReserve(tb, length);
  if (ev == 0) {
    rbPublishCommits();
    return 0;
  }
  return <i32>eventData(ev);
}

export function writerCommit(tb: usize): void {
  unlockCommit(tb);
  rbPublishCommits();
}

// ring_buffer_write() of each record of [u32 length][payload, padded to 4 bytes] at `src` (one for
// Writer.write): how many were recorded, or WRITER_LOST
export function writerBatch(tb: usize, src: usize, count: u32, flags: u32): i32 {
  if (!writerEnter(flags)) return WRITER_LOST;
  const written = <i32>rbWriteRun(tb, 0, count, RUN_FILL_COPY, src);
  rbPublishCommits();
  return written;
}

// An event through its tracepoint (the trace_event_call at `call`, its fields at `src`): every
// trace_array that has it enabled gets it (user_events_write_core). 0, -9 (EBADF) when it is enabled
// nowhere, or WRITER_LOST.
export function writerEmit(call: usize, src: usize, len: u32, flags: u32): i32 {
  if (!writerEnter(flags)) return WRITER_LOST;
  const r = tracepoint(call, src, len) ? 0 : -9;
  rbPublishCommits();
  return r;
}
