// This instance's CPU: identity, context level and the machine log. Module globals are
// per instance, i.e. per thread, so they model per-CPU variables; the host's instance has no CPU.
import {
  LAYOUT_BASE, H_CPU_TABLE, H_SCRATCH, H_LOG, H_NR_CPU_IDS, H_MEMORY_MODEL, H_TB_LIST, MEMORY_MODEL_WEAK,
  CPU_DESC_SIZE, CPU_WORK_SEQ, CPU_IPI_ACK, CPU_STATE, CPU_STATE_CRASHED, CTX_NORMAL, TB_VIEWS, TB_BUFFERS,
  TBL_COUNT, TBL_ENTRIES, LOG_HEAD, LOG_LOCK, LOG_DATA, LOG_RECORD, LOG_RECORDS, LOG_OOPS,
} from "./abi";

export let thisCpu: i32 = -1;
export let cpuDesc: usize = 0;
// interrupt_context_level() of the code running on this CPU, driven by workloads
export let contextLevel: i32 = CTX_NORMAL;
export let nrCpuIds: i32 = 0;
// memoryModel 'weak': this CPU loads buffer->buffers[] through its own view (see smpMb)
export let weakView: bool = false;
// this CPU took an oops: it runs no more workloads
export let crashed: bool = false;
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
  nrCpuIds = load<i32>(LAYOUT_BASE + H_NR_CPU_IDS);
  weakView = cpu >= 0 && load<i32>(LAYOUT_BASE + H_MEMORY_MODEL) == MEMORY_MODEL_WEAK;
  if (cpu < 0) return;
  crashed = atomic.load<i32>(cpuDesc, CPU_STATE) == CPU_STATE_CRASHED;
  viewRefresh();
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

// smp_mb() / smp_rmb(): an RMW on a scratch word is a full barrier (atomic.fence does not validate in
// this asc). Under the weak memory model it is also when this CPU's invalidate queue drains: its views
// of every trace_buffer's buffers[] catch up.
export function smpMb(): void {
  atomic.add<i32>(LAYOUT_BASE + H_SCRATCH, 0);
  if (weakView) viewRefresh();
}

function viewRefresh(): void {
  if (!weakView) return;
  const list = atomic.load<u32>(LAYOUT_BASE + H_TB_LIST);
  const n = atomic.load<u32>(list, TBL_COUNT);
  const row = <usize>thisCpu * nrCpuIds * 4;
  for (let i: u32 = 0; i < n; i++) {
    const tb = atomic.load<u32>(list + TBL_ENTRIES + (i << 2));
    if (tb != 0) memory.copy(load<u32>(tb, TB_VIEWS) + row, tb + TB_BUFFERS, <usize>nrCpuIds * 4);
  }
}

// A NULL pointer dereference on this CPU: the oops goes to the log, the CPU is marked crashed and the
// work it was doing ends; every other CPU and all recorded data stay.
export function kernelOops(fn: u32, address: u32): void {
  logRecord(LOG_OOPS, fn, address, 0);
  crashed = true;
  atomic.store<i32>(cpuDesc, CPU_STATE_CRASHED, CPU_STATE);
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
