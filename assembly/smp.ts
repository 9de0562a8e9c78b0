// IPIs and the idle loop of a CPU: its mailbox in shared memory, woken through the doorbell word.
import {
  CPU_DOORBELL, CPU_WORK_SEQ, CPU_WORK_ACK, CPU_WORK_CMD, CPU_IPI_SEQ, CPU_IPI_ACK, CPU_IPI_FUNC, CPU_ATTENTION,
  ATTN_IPI, IPI_SYNC, IPI_QUIESCE, CPU_WRITER_ACTIVE,
} from "./abi";
import { cpuDesc, lastWorkSeq, lastIpiSeq, setLastWorkSeq, setLastIpiSeq, smpMb } from "./cpu";
import { rbWriterFlush } from "./ring_buffer";

// The IPI handlers (the kernel's smp_call_func_t) this machine knows. Every one is an implied smp_mb.
function runIpi(func: i32): void {
  smpMb();
  if (func == IPI_SYNC) {
    // rb_cpu_sync(): smp_rmb(), i.e. this CPU's view of memory is refreshed
  } else if (func == IPI_QUIESCE) {
    // reaching here between two events is the quiescent state synchronize_rcu() waits for; the host
    // may change this CPU's buffers after it, so the writer's cache goes back to memory. A writer
    // attached from another thread writes as this CPU too: its call in progress ends first.
    while (atomic.load<i32>(cpuDesc, CPU_WRITER_ACTIVE) != 0) memory.atomic.wait32(cpuDesc + CPU_WRITER_ACTIVE, 1, 1000);
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
    if (polls == IDLE_POLL_LOOPS) memory.atomic.wait32(cpuDesc + CPU_DOORBELL, bell, -1);
  }
}

export function cpuWorkDone(): void {
  atomic.store<i32>(cpuDesc, lastWorkSeq, CPU_WORK_ACK);
  atomic.notify(cpuDesc + CPU_WORK_ACK);
}

