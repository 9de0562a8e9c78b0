// This instance's CPU: identity, context level and the machine log. Module globals are
// per instance, i.e. per thread, so they model per-CPU variables; the host's instance has no CPU.
import {
  LAYOUT_BASE, H_CPU_TABLE, H_SCRATCH, H_LOG, CPU_DESC_SIZE, CPU_WORK_SEQ, CPU_IPI_ACK, CTX_NORMAL, LOG_HEAD,
  LOG_LOCK, LOG_DATA, LOG_RECORD, LOG_RECORDS,
} from "./abi";

export let thisCpu: i32 = -1;
export let cpuDesc: usize = 0;
// interrupt_context_level() of the code running on this CPU, driven by workloads
export let contextLevel: i32 = CTX_NORMAL;
// the last work item and IPI this CPU has taken from its mailbox
export let lastWorkSeq: i32 = 0;
export let lastIpiSeq: i32 = 0;

export function cpuDescOf(cpu: i32): usize {
  return load<u32>(LAYOUT_BASE + H_CPU_TABLE) + <usize>cpu * CPU_DESC_SIZE;
}

// cpu < 0 detaches the instance from any CPU (the host's instance when it stops writing as one)
export function cpuInit(cpu: i32): void {
  thisCpu = cpu;
  cpuDesc = cpu < 0 ? 0 : cpuDescOf(cpu);
  if (cpu < 0) return;
  contextLevel = CTX_NORMAL;
  lastWorkSeq = atomic.load<i32>(cpuDesc, CPU_WORK_SEQ);
  lastIpiSeq = atomic.load<i32>(cpuDesc, CPU_IPI_ACK);
}

export function setLastWorkSeq(seq: i32): void {
  lastWorkSeq = seq;
}

export function setLastIpiSeq(seq: i32): void {
  lastIpiSeq = seq;
}

export function setContextLevel(level: i32): void {
  contextLevel = level;
}

// smp_mb(): an RMW on a scratch word is a full barrier (atomic.fence does not validate in this asc)
@inline export function smpMb(): void {
  atomic.add<i32>(LAYOUT_BASE + H_SCRATCH, 0);
}

// The machine log (dmesg): fixed records in a ring; the host formats them, Wasm never builds strings.
export function logRecord(code: i32, a0: u32, a1: u32, a2: u32): void {
  const log = load<u32>(LAYOUT_BASE + H_LOG);
  while (atomic.cmpxchg<i32>(log + LOG_LOCK, 0, 1) != 0) {
    memory.atomic.wait32(log + LOG_LOCK, 1, 1000);
  }
  const head = load<u32>(log, LOG_HEAD);
  const at = log + LOG_DATA + (head % LOG_RECORDS) * LOG_RECORD;
  store<u32>(at, code);
  store<i32>(at, thisCpu, 4);
  store<u32>(at, a0, 8);
  store<u32>(at, a1, 12);
  store<u32>(at, a2, 16);
  atomic.store<u32>(log, head + 1, LOG_HEAD);
  atomic.store<i32>(log, 0, LOG_LOCK);
  atomic.notify(log + LOG_LOCK);
}
