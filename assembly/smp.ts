// IPIs and the idle loop of a CPU: its mailbox in shared memory, woken through the doorbell word.
import {
  CPU_DOORBELL, CPU_SLEEPING, CPU_WORK_SEQ, CPU_WORK_ACK, CPU_WORK_CMD, CPU_IPI_SEQ, CPU_IPI_ACK, CPU_IPI_FUNC, CPU_ATTENTION,
  ATTN_IPI, ATTN_PUBLISH, IPI_SYNC, IPI_QUIESCE, CPU_NEST_DEPTH, CPU_WRITER_ACTIVE, WRITER_SECTION, WRITER_QS_WANTED,
} from "./abi";
import { cpuDesc, lastWorkSeq, lastIpiSeq, setLastWorkSeq, setLastIpiSeq, smpMb } from "./cpu";
import { rbWriterFlush, cpuAttention } from "./ring_buffer";

// The IPI handlers (the kernel's smp_call_func_t) this machine knows. Every one is an implied smp_mb.
function runIpi(func: i32): void {
  smpMb();
  if (func == IPI_SYNC) {
    // rb_cpu_sync(): smp_rmb(), i.e. this CPU's view of memory is refreshed
  } else if (func == IPI_QUIESCE) {
    // reaching here between two events is the quiescent state synchronize_rcu() waits for; the host
    // may change this CPU's buffers after it, so the writer's cache goes back to memory. A writer
    // attached from another thread writes as this CPU too: if its read side is open, it passes a
    // quiescent state first (at its next call, or the end of its thread's turn; see writer.ts).
    if (atomic.or<i32>(cpuDesc + CPU_WRITER_ACTIVE, WRITER_QS_WANTED) & WRITER_SECTION) {
      while (atomic.load<i32>(cpuDesc, CPU_WRITER_ACTIVE) & WRITER_QS_WANTED) {
        memory.atomic.wait32(cpuDesc + CPU_WRITER_ACTIVE, WRITER_SECTION | WRITER_QS_WANTED, 1000);
      }
    }
    rbWriterFlush();
  }
}

// flush_smp_call_function_queue(): run a pending IPI and acknowledge it
export function cpuServiceIpi(): void {
  const seq = atomic.load<i32>(cpuDesc, CPU_IPI_SEQ);
  if (seq == lastIpiSeq) return;
  atomic.and<i32>(cpuDesc + CPU_ATTENTION, ~ATTN_IPI);
  runIpi(atomic.load<i32>(cpuDesc, CPU_IPI_FUNC));
  setLastIpiSeq(seq);
  atomic.store<i32>(cpuDesc, seq, CPU_IPI_ACK);
  atomic.notify(cpuDesc + CPU_IPI_ACK);
}

// A point between two events of a workload: answer a reader's publication request (even while nothing
// is committed, e.g. with recording off, so a reader never waits on a CPU that is not writing), and
// serve IPIs, but not while an event of OP_NEST_BEGIN is still open, since that is inside a write
// section, not a quiescent state.
export function cpuQuiescent(): void {
  const attention = atomic.load<i32>(cpuDesc, CPU_ATTENTION);
  if (attention & ATTN_PUBLISH) cpuAttention();
  if (attention & ATTN_IPI) {
    if (load<u32>(cpuDesc, CPU_NEST_DEPTH) == 0) cpuServiceIpi();
  }
}

// The idle loop: sleeps on the doorbell, serves IPIs, and returns the command of the next work item.
// Like the guest haltpoll cpuidle driver, an idle CPU polls its doorbell for a short while before it
// sleeps: waking a sleeping thread costs tens of microseconds on an idle virtual machine.
const IDLE_POLL_LOOPS = 100000;

export function cpuIdle(): i32 {
  while (true) {
    const bell = atomic.load<i32>(cpuDesc, CPU_DOORBELL);
    cpuServiceIpi();
    const seq = atomic.load<i32>(cpuDesc, CPU_WORK_SEQ);
    if (seq != lastWorkSeq) {
      setLastWorkSeq(seq);
      return atomic.load<i32>(cpuDesc, CPU_WORK_CMD);
    }
    let polls = 0;
    while (polls < IDLE_POLL_LOOPS && atomic.load<i32>(cpuDesc, CPU_DOORBELL) == bell) polls++;
    if (polls == IDLE_POLL_LOOPS) {
      // the ringer bumps the doorbell, then wakes us only if this says we sleep; the wait itself
      // rechecks the doorbell, so no ring is lost between the two
      atomic.store<i32>(cpuDesc, 1, CPU_SLEEPING);
      memory.atomic.wait32(cpuDesc + CPU_DOORBELL, bell, -1);
      atomic.store<i32>(cpuDesc, 0, CPU_SLEEPING);
    }
  }
}

export function cpuWorkDone(): void {
  atomic.store<i32>(cpuDesc, lastWorkSeq, CPU_WORK_ACK);
  atomic.notify(cpuDesc + CPU_WORK_ACK);
}

