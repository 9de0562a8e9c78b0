// A tiny machine laid out by hand in [LAYOUT_BASE, 1 MiB) of the spec's own memory (as-pect.asconfig.json
// puts the module's data and heap at 16 MiB): machine header, two CPU descriptors, the log ring, one
// trace_buffer with one ring_buffer_per_cpu for CPU 0, and buffer_pages with 4 KiB data pages. The spec's
// instance is CPU 0, the writer; it reads too (readers take the cpu explicitly). No host is involved.
//
// The clock is CLOCK_VIRTUAL with a step of STEP ns: every clock read of the writer advances CPU 0's
// CPU_VCLOCK by STEP, so the n-th reading is n * STEP (plus whatever a spec adds with bumpClock).
import {
  LAYOUT_BASE, H_MAGIC, MACHINE_MAGIC, H_NR_CPU_IDS, H_SYSTEM_STATE, SYSTEM_RUNNING, H_CPU_TABLE, H_LOG,
  H_VIRTUAL_STEP, H_ONLINE_MASK, CPU_DESC_SIZE, CPU_STATE, CPU_STATE_ONLINE, CPU_VCLOCK, LOG_REGION,
  TB_FLAGS, TB_SUBBUF_SIZE, TB_CLOCK, TB_TIME_STAMP_ABS, TB_MAX_DATA_SIZE, TB_CPUMASK,
  TB_BUFFERS, CLOCK_VIRTUAL, CPB_NR_PAGES, BP_NEXT, BP_PREV, BP_PAGE, BP_ID, BDP_DATA, BUF_PAGE_HDR_SIZE,
  SYS_PAGE_SIZE, RB_FLAG_MASK, RD_TS, RD_LOST, RD_LENGTH, RD_TYPE_LEN, RD_DATA, TYPE_LEN_MASK,
  TYPE_LEN_BITS, CTX_NORMAL, OP_END, RES_SIZE,
} from "../abi";
import { cpuInit, cpuDescOf, setContextLevel } from "../cpu";
import { rbInitCpuBuffer, rbPublishAll, rbWriterFlush, rbWrite, rbConsume } from "../ring_buffer";
import { runProgram } from "../workload";

export const PAGE_SIZE: u32 = SYS_PAGE_SIZE; // 4096
export const BSIZE: u32 = PAGE_SIZE - BUF_PAGE_HDR_SIZE; // 4080: the kernel's subbuf_size
export const MAX_DATA: u32 = BSIZE - 8; // 4072: the kernel's max_data_size
export const STEP: u64 = 1000;

// fixed addresses of the layout
export const CPU_TABLE: usize = LAYOUT_BASE + 4096; // two descriptors
export const LOG: usize = LAYOUT_BASE + 8192; // LOG_REGION bytes
export const TB: usize = 0x30000;
export const CB: usize = 0x31000;
export const SLOT: usize = 0x31800; // u32: the spare data page handed to rbReadPage
export const OUT_PAGES: usize = 0x31c00; // rbRemovePages' output array
const BP_BASE: usize = 0x32000; // buffer_pages, 64 bytes apart
const PAGE_BASE: usize = 0x40000; // data pages, 4 KiB each
export const MAX_BP: i32 = 80; // bpAt(0..MAX_BP-1)
export const READER: i32 = MAX_BP - 1; // index of the initial reader page
export const SPARE_PAGE: usize = 0xc0000; // spare data pages for rbReadPage
export const SPARE_PAGE2: usize = 0xc1000;
export const OUT: usize = 0xd0000; // reader record (RD_*)
export const OUT_CAP: u32 = 8192;
export const SRC: usize = 0xd8000; // payload source for rbWrite
export const PROG: usize = 0xe0000; // workload program
export const RES: usize = 0xe8000; // workload result block
const LAYOUT_END: usize = 0xf0000;

export function bpAt(i: i32): usize {
  return BP_BASE + (<usize>i << 6);
}

export function pageAt(i: i32): usize {
  return PAGE_BASE + <usize>i * PAGE_SIZE;
}

// A buffer_page with its own data page; links are set by the caller.
export function initBp(i: i32): usize {
  const bp = bpAt(i);
  store<u32>(bp, pageAt(i), BP_PAGE);
  store<u32>(bp, i, BP_ID);
  return bp;
}

// Build the machine: nrPages ring pages bpAt(0..nrPages-1) linked circularly, reader page bpAt(READER),
// buffer flags (RB_FL_OVERWRITE or 0), absolute time stamps or deltas.
export function setup(nrPages: i32, flags: u32, abs: bool = false): void {
  // drop the writer's cache of the previous test's cpu_buffer (same address)
  rbWriterFlush();
  memory.fill(LAYOUT_BASE, 0, LAYOUT_END - LAYOUT_BASE);
  store<u32>(LAYOUT_BASE + H_MAGIC, MACHINE_MAGIC);
  store<u32>(LAYOUT_BASE + H_NR_CPU_IDS, 1);
  store<u32>(LAYOUT_BASE + H_SYSTEM_STATE, SYSTEM_RUNNING);
  store<u32>(LAYOUT_BASE + H_CPU_TABLE, <u32>CPU_TABLE);
  store<u32>(LAYOUT_BASE + H_LOG, <u32>LOG);
  store<u32>(LAYOUT_BASE + H_VIRTUAL_STEP, <u32>STEP);
  store<u32>(LAYOUT_BASE + H_ONLINE_MASK, 1);
  store<u32>(CPU_TABLE + CPU_STATE, CPU_STATE_ONLINE);
  // keep the log region inside what was zeroed
  assert(LOG + LOG_REGION <= TB);

  store<u32>(TB + TB_FLAGS, flags);
  store<u32>(TB + TB_SUBBUF_SIZE, BSIZE);
  store<u32>(TB + TB_MAX_DATA_SIZE, MAX_DATA);
  store<u32>(TB + TB_CLOCK, CLOCK_VIRTUAL);
  store<u32>(TB + TB_TIME_STAMP_ABS, abs ? 1 : 0);
  store<u32>(TB + TB_CPUMASK, 1);
  store<u32>(TB + TB_BUFFERS, <u32>CB);

  for (let i = 0; i < nrPages; i++) {
    const bp = initBp(i);
    store<u32>(bp, <u32>bpAt((i + 1) % nrPages), BP_NEXT);
    store<u32>(bp, <u32>bpAt((i + nrPages - 1) % nrPages), BP_PREV);
  }
  initBp(READER);
  store<u32>(CB + CPB_NR_PAGES, nrPages);

  cpuInit(0);
  setContextLevel(CTX_NORMAL);
  rbInitCpuBuffer(CB, TB, 0, bpAt(0), bpAt(READER));
  // forget the dirty-buffer cache of the previous test (same cpu_buffer address, zeroed descriptor)
  rbPublishAll();
  store<u32>(SLOT, <u32>SPARE_PAGE);
}

// ---- clock ----
export function vclock(): u64 {
  return load<u64>(cpuDescOf(0) + CPU_VCLOCK);
}

export function bumpClock(ns: u64): void {
  const p = cpuDescOf(0) + CPU_VCLOCK;
  store<u64>(p, load<u64>(p) + ns);
}

export function setClock(ns: u64): void {
  store<u64>(cpuDescOf(0) + CPU_VCLOCK, ns);
}

// ---- counters of the cpu_buffer ----
export function cb64(off: usize): u64 {
  return load<u64>(CB + off);
}

export function cb32(off: usize): u32 {
  return load<u32>(CB + off);
}

// ---- pages and events ----
// data area of a buffer_page's current data page
export function bpData(bp: usize): usize {
  return <usize>load<u32>(bp, BP_PAGE) + BDP_DATA;
}

export function listHead(p: u32): usize {
  return <usize>(p & ~RB_FLAG_MASK);
}

export function nextOf(bp: usize): usize {
  return listHead(load<u32>(bp, BP_NEXT));
}

export function flagsOf(bp: usize): u32 {
  return load<u32>(bp, BP_NEXT) & RB_FLAG_MASK;
}

export function typeLenAt(ev: usize): u32 {
  return load<u32>(ev) & TYPE_LEN_MASK;
}

export function deltaAt(ev: usize): u32 {
  return load<u32>(ev) >>> TYPE_LEN_BITS;
}

export function array0At(ev: usize): u32 {
  return load<u32>(ev, 4);
}

// header word of an event
export function word(typeLen: u32, delta: u32): u32 {
  return typeLen | (delta << TYPE_LEN_BITS);
}

// ---- writing ----
// A payload of `len` bytes identified by `seq`: u32 seq first (when it fits), then a byte pattern.
export function fillSrc(len: u32, seq: u32): void {
  for (let i: u32 = 0; i < len; i++) store<u8>(SRC + i, <u8>(seq * 7 + i * 13 + 1));
  if (len >= 4) store<u32>(SRC, seq);
}

export function writeSeq(len: u32, seq: u32): i32 {
  fillSrc(len, seq);
  return rbWrite(TB, len, SRC);
}

// n events of len bytes with sequence numbers first..first+n-1; returns how many were recorded
export function writeN(len: u32, n: i32, first: u32 = 0): i32 {
  let ok = 0;
  for (let i = 0; i < n; i++) {
    if (writeSeq(len, first + <u32>i) == 0) ok++;
  }
  return ok;
}

// ---- reading ----
// What a reader's ATTN_PUBLISH makes the writer do: write its cache back to the cpu_buffer and make
// page->commit of the commit page current. The writer keeps its cache (it is still in its session).
// Specs call this before looking at writer-side fields (write, entries, counters) in memory.
export function publish(): void {
  rbPublishAll();
}

// The writer is quiescent (end of a write session / RCU quiescent state): published and cache dropped,
// as the host requires before it resets or resizes a buffer.
export function quiesce(): void {
  rbPublishAll();
  rbWriterFlush();
}

export function consume(): i32 {
  store<u64>(OUT + RD_TS, 0xdeadbeef);
  return rbConsume(TB, 0, OUT, OUT_CAP);
}

export function rdTs(): u64 {
  return load<u64>(OUT + RD_TS);
}

export function rdLost(): u64 {
  return load<u64>(OUT + RD_LOST);
}

export function rdLength(): u32 {
  return load<u32>(OUT + RD_LENGTH);
}

export function rdTypeLen(): u32 {
  return load<u32>(OUT + RD_TYPE_LEN);
}

export function rdSeq(): u32 {
  return load<u32>(OUT + RD_DATA);
}

// whether the consumed payload is the first `len` bytes fillSrc(len, seq) would produce
export function rdMatches(len: u32, seq: u32): bool {
  fillSrc(len, seq);
  for (let i: u32 = 0; i < len; i++) {
    if (load<u8>(OUT + RD_DATA + i) != load<u8>(SRC + i)) return false;
  }
  return true;
}

// whether [p, p + n) is all zero / all `b`
export function allBytes(p: usize, n: u32, b: u8): bool {
  for (let i: u32 = 0; i < n; i++) {
    if (load<u8>(p + i) != b) return false;
  }
  return true;
}

// ---- workload programs ----
let pc: usize = PROG;

export function progBegin(): void {
  pc = PROG;
  memory.fill(RES, 0, RES_SIZE);
}

export function emit(v: i32): void {
  store<i32>(pc, v);
  pc += 4;
}

export function emit2(a: i32, b: i32): void {
  emit(a);
  emit(b);
}

export function progRun(): i32 {
  emit(OP_END);
  return runProgram(PROG);
}
