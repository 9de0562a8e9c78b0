// The workload interpreter: what a CPU does when the host gives it work. Programs are arrays of i32 in
// shared memory (OP_* and their arguments, see abi.ts); nesting of interrupt contexts is explicit, so
// the nested paths of reserve/commit run deterministically.
import {
  OP_END, OP_WRITE, OP_BENCH, OP_STRESS, OP_CONTEXT, OP_NEST_BEGIN, OP_NEST_END, OP_DISCARD_END, OP_DELAY,
  OP_STRESS_COUNT, OP_READ_PAGES, CPU_NEST_DEPTH, CPU_NEST_STACK, CPU_NEST_MAX,
  RES_WRITTEN, RES_FAILED, RES_NESTED, RES_BYTES, RES_PAGES, ITEM_SIZE, ITEM_SEQ, ITEM_CPU, ITEM_HDR, ITEM_MIN,
  CTX_NORMAL, CTX_NMI, TB_SUBBUF_SIZE, BDP_COMMIT, BDP_DATA, RINGBUF_TYPE_DATA_TYPE_LEN_MAX,
  TYPE_LEN_MASK, OP_WALK, EFAULT_RET, OOPS_TRAP, OP_FLOOR_WRITE, OP_FLOOR_PIPE_WRITE, OP_FLOOR_PIPE_READ,
} from "./abi";
import { thisCpu, cpuDesc, contextLevel, setContextLevel, crashed, smpMb, kernelOops } from "./cpu";
import { cpuQuiescent as quiescent } from "./smp";
import {
  rbLockReserve, rbUnlockCommit, rbDiscardCommit, rbEventData, lockReserve, unlockCommit, rbReadPage, rbEventLength,
  sessionBegin, sessionEnd, attentionStop, rbEntriesAll, rbTrapRecover, rbWriteRun, runFill, RUN_FILL_BENCH,
} from "./ring_buffer";
import { clockSessionStart, virtualDelay } from "./clock";
import { OP_FT_CALL, OP_FT_ENTER, OP_FT_EXIT, OP_FT_EXIT_RET, OP_FT_TASK, OP_FT_IRQFLAGS } from "./abi";
import { ftOpCall, ftOpEnter, ftOpExit, ftOpTask, ftOpIrqFlags } from "./ftrace";
import { OP_EVENT, OP_TRACE_WRITE } from "./abi";
import { evOpEvent, evOpTraceWrite } from "./events";
import { floorWrite, floorPipeWrite, floorPipeRead } from "./bench_floor";

// the per-CPU sequence number stamped into self-checking payloads
let itemSeq: u32 = 0;
let rng: u32 = 1;

// xorshift32: deterministic per seed
@inline function random(): u32 {
  let x = rng;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  rng = x;
  return x;
}

// rb_write_something()'s item: size, sequence, cpu, then a pattern derived from the sequence
export function fillItem(data: usize, size: u32, seq: u32): void {
  store<u32>(data, size, ITEM_SIZE);
  store<u32>(data, seq, ITEM_SEQ);
  store<u32>(data, thisCpu, ITEM_CPU);
  for (let i: u32 = ITEM_HDR; i < size; i++) store<u8>(data + i, <u8>(seq + i));
}

@inline function inc64(p: usize, v: u64): void {
  store<u64>(p, load<u64>(p) + v);
}

// One self-checking event of `size` bytes; may nest events from higher contexts inside it.
function stressEvent(tb: usize, size: u32, nestPercent: u32, res: usize, nested: bool): void {
  const ev = rbLockReserve(tb, size);
  if (ev == 0) {
    inc64(res + RES_FAILED, 1);
    return;
  }
  const seq = itemSeq++;
  fillItem(rbEventData(ev), size, seq);
  if (nestPercent != 0 && contextLevel < CTX_NMI && random() % 100 < nestPercent) {
    // an interrupt arrives while the event is reserved
    const saved = contextLevel;
    setContextLevel(saved + 1 + <i32>(random() % <u32>(CTX_NMI - saved)));
    const inner = (random() & 3) + 1;
    for (let i: u32 = 0; i < inner; i++) stressEvent(tb, stressSize(size), nestPercent, res, true);
    setContextLevel(saved);
  }
  rbUnlockCommit(tb);
  inc64(res + RES_WRITTEN, 1);
  inc64(res + RES_BYTES, size);
  if (nested) inc64(res + RES_NESTED, 1);
}

let stressMax: u32 = 64;

@inline function stressSize(_: u32): u32 {
  return ITEM_MIN + random() % (stressMax - ITEM_MIN + 1);
}

// The consumer side of the pipe benchmark: ring_buffer_read_page() of whole pages until stopped,
// counting the data events in each page. With a pool of `poolSize` spare pages (their addresses at
// `pool`), the page just read is put in the pool and the next read gets the pool's oldest as its
// spare: the page going back into the ring is one this CPU walked poolSize reads ago, not the one it
// just walked.
function readPages(tb: usize, cpu: i32, slot: usize, res: usize, pool: usize, poolSize: u32): void {
  const bsize = load<u32>(tb, TB_SUBBUF_SIZE);
  let next: u32 = 0;
  while (!attentionStop()) {
    const ret = rbReadPage(tb, cpu, slot, bsize + BDP_DATA, true);
    if (ret < 0) {
      quiescent();
      continue;
    }
    const page = load<u32>(slot);
    const commit = <u32>atomic.load<u64>(page, BDP_COMMIT) & 0xfffff;
    let pos: u32 = ret;
    let events: u64 = 0;
    while (pos < commit) {
      const ev = page + BDP_DATA + pos;
      const length = rbEventLength(ev);
      if (length == 0) break;
      if ((load<u32>(ev) & TYPE_LEN_MASK) <= <u32>RINGBUF_TYPE_DATA_TYPE_LEN_MAX) events++;
      pos += length;
    }
    inc64(res + RES_WRITTEN, events);
    inc64(res + RES_BYTES, commit);
    inc64(res + RES_PAGES, 1);
    if (poolSize != 0) {
      const at = pool + (<usize>next << 2);
      store<u32>(slot, load<u32>(at));
      store<u32>(at, page);
      if (++next == poolSize) next = 0;
    }
  }
}

// Run the program at `prog`; returns 0, or -1 for an unknown opcode.
export function runProgram(prog: usize): i32 {
  if (crashed) return EFAULT_RET;
  // taking work from the mailbox is an acquire: a full barrier here
  smpMb();
  sessionBegin();
  clockSessionStart();
  let pc = prog;
  let ret = 0;
  while (true) {
    const op = load<i32>(pc);
    if (crashed) {
      ret = EFAULT_RET;
      break;
    }
    if (op == OP_END) break;
    if (op == OP_WRITE) {
      const tb = load<u32>(pc, 4);
      const size = load<u32>(pc, 8);
      const count = load<u32>(pc, 12);
      const res = load<u32>(pc, 16);
      for (let i: u32 = 0; i < count; i++) {
        const ev = rbLockReserve(tb, size);
        if (ev == 0) {
          inc64(res + RES_FAILED, 1);
        } else {
          fillItem(rbEventData(ev), size, itemSeq++);
          rbUnlockCommit(tb);
          inc64(res + RES_WRITTEN, 1);
          inc64(res + RES_BYTES, size);
        }
        if ((i & 255) == 0) {
          quiescent();
          if (attentionStop()) break;
        }
      }
      pc += 20;
    } else if (op == OP_BENCH) {
      // the hot loop of the benchmark: reserve, 16 bytes of payload per 16 bytes asked, commit
      const tb = load<u32>(pc, 4);
      const size = load<u32>(pc, 8);
      const barriers = load<u32>(pc, 12);
      const res = load<u32>(pc, 16);
      let hits: u64 = 0;
      let misses: u64 = 0;
      while (!attentionStop()) {
        const h = barriers == 0 ? benchChunk(tb, size, 1024) : benchChunkSlowed(tb, size, 1024, barriers);
        hits += h;
        misses += 1024 - h;
        quiescent();
      }
      inc64(res + RES_WRITTEN, hits);
      inc64(res + RES_FAILED, misses);
      pc += 20;
    } else if (op == OP_FLOOR_WRITE) {
      floorWrite(load<u32>(pc, 4), load<u32>(pc, 8), load<u32>(pc, 12), load<u32>(pc, 16));
      pc += 20;
    } else if (op == OP_FLOOR_PIPE_WRITE) {
      floorPipeWrite(load<u32>(pc, 4), load<u32>(pc, 8), load<u32>(pc, 12));
      pc += 16;
    } else if (op == OP_FLOOR_PIPE_READ) {
      floorPipeRead(load<u32>(pc, 4), load<u32>(pc, 8), load<u32>(pc, 12));
      pc += 16;
    } else if (op == OP_STRESS || op == OP_STRESS_COUNT) {
      const tb = load<u32>(pc, 4);
      rng = load<u32>(pc, 8) | 1;
      stressMax = max<u32>(load<u32>(pc, 12), ITEM_MIN);
      const nestPercent = load<u32>(pc, 16);
      const res = load<u32>(pc, 20);
      const count: u64 = op == OP_STRESS_COUNT ? <u64>load<u32>(pc, 24) : u64.MAX_VALUE;
      setContextLevel(CTX_NORMAL);
      for (let n: u64 = 0; n < count; n++) {
        stressEvent(tb, stressSize(0), nestPercent, res, false);
        if ((n & 63) == 0) {
          quiescent();
          if (attentionStop()) break;
        }
      }
      pc += op == OP_STRESS_COUNT ? 28 : 24;
    } else if (op == OP_CONTEXT) {
      setContextLevel(load<i32>(pc, 4));
      pc += 8;
    } else if (op == OP_NEST_BEGIN) {
      const tb = load<u32>(pc, 4);
      const size = load<u32>(pc, 8);
      const depth = load<u32>(cpuDesc, CPU_NEST_DEPTH);
      const ev = depth < <u32>CPU_NEST_MAX ? rbLockReserve(tb, size) : 0;
      if (ev != 0) fillItem(rbEventData(ev), size, itemSeq++);
      if (depth < <u32>CPU_NEST_MAX) {
        const slot = cpuDesc + CPU_NEST_STACK + (depth << 3);
        store<u32>(slot, tb);
        store<u32>(slot, ev, 4);
        store<u32>(cpuDesc, depth + 1, CPU_NEST_DEPTH);
      }
      pc += 12;
    } else if (op == OP_NEST_END || op == OP_DISCARD_END) {
      const depth = load<u32>(cpuDesc, CPU_NEST_DEPTH);
      if (depth > 0) {
        const slot = cpuDesc + CPU_NEST_STACK + ((depth - 1) << 3);
        const tb = load<u32>(slot);
        const ev = load<u32>(slot, 4);
        if (ev != 0) {
          if (op == OP_NEST_END) rbUnlockCommit(tb);
          else rbDiscardCommit(tb, ev);
        }
        store<u32>(cpuDesc, depth - 1, CPU_NEST_DEPTH);
      }
      pc += 4;
    } else if (op == OP_DELAY) {
      virtualDelay(<u64>load<u32>(pc, 4));
      pc += 8;
    } else if (op == OP_WALK) {
      // a reader on this CPU: ring_buffer_entries() over every trace_buffer, again and again
      const count = load<u32>(pc, 4);
      const barrierEvery = load<u32>(pc, 8);
      const res = load<u32>(pc, 12);
      let walks: u64 = 0;
      while (count == 0 || walks < <u64>count) {
        if (!rbEntriesAll()) break;
        walks++;
        // the count is live, so the host can see the reader make progress
        atomic.store<u64>(res, walks, RES_WRITTEN);
        if (barrierEvery != 0 && walks % <u64>barrierEvery == 0) smpMb();
        quiescent();
        if (count == 0 && attentionStop()) break;
      }
      pc += 16;
    } else if (op == OP_READ_PAGES) {
      readPages(load<u32>(pc, 4), load<i32>(pc, 8), load<u32>(pc, 12), load<u32>(pc, 16), load<u32>(pc, 20), load<u32>(pc, 24));
      pc += 28;
    } else if (op == OP_FT_CALL) {
      // ftrace: call a function `count` times (see ftrace.ts)
      ftOpCall(pc);
      pc += 32;
    } else if (op == OP_FT_ENTER) {
      ftOpEnter(pc);
      pc += 24;
    } else if (op == OP_FT_EXIT) {
      ftOpExit(0);
      pc += 4;
    } else if (op == OP_FT_EXIT_RET) {
      ftOpExit((<u64>load<u32>(pc, 8) << 32) | <u64>load<u32>(pc, 4));
      pc += 12;
    } else if (op == OP_FT_TASK) {
      ftOpTask(load<i32>(pc, 4), load<u32>(pc, 8), load<u32>(pc, 12));
      pc += 16;
    } else if (op == OP_FT_IRQFLAGS) {
      ftOpIrqFlags(load<u32>(pc, 4), load<u32>(pc, 8));
      pc += 12;
    } else if (op == OP_EVENT) {
      evOpEvent(pc);
      pc += 12 + ((<usize>load<u32>(pc, 8) + 3) & ~3);
    } else if (op == OP_TRACE_WRITE) {
      evOpTraceWrite(pc);
      pc += 28 + ((<usize>load<u32>(pc, 12) + 3) & ~3);
    } else {
      ret = -1;
      break;
    }
  }
  sessionEnd();
  return ret;
}

// A trap in this CPU's work (the worker caught it): the kernel's oops. The CPU gives back what it held,
// is marked crashed and runs no more work, but keeps serving IPIs so grace periods still complete.
export function cpuTrap(): void {
  rbTrapRecover();
  store<u32>(cpuDesc, 0, CPU_NEST_DEPTH);
  setContextLevel(CTX_NORMAL);
  kernelOops(OOPS_TRAP, 0);
}

// The benchmark's hot loop: n events of `size` bytes (the first 16 written), reserve to commit.
export function benchChunk(tb: usize, size: u32, n: u32): u32 {
  return rbWriteRun(tb, size, n, RUN_FILL_BENCH, 0);
}

// The same events with `barriers` full barriers each, one event at a time: slower on purpose, for the
// regression gate's own test.
function benchChunkSlowed(tb: usize, size: u32, n: u32, barriers: u32): u32 {
  let hits: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    for (let k: u32 = 0; k < barriers; k++) smpMb();
    const ev = lockReserve(tb, size);
    if (ev == 0) continue;
    runFill(ev, RUN_FILL_BENCH, size, 0, hits);
    unlockCommit(tb);
    hits++;
  }
  return hits;
}
