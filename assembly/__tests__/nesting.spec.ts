// Nested writers and recursion protection (rb_start_commit/rb_end_commit, trace_recursive_lock) and
// discarding (ring_buffer_discard_commit, rb_try_to_discard), both by direct calls and through the
// workload interpreter (OP_CONTEXT, OP_NEST_BEGIN, OP_NEST_END, OP_DISCARD_END).
import {
  RB_FL_OVERWRITE, BP_WRITE, BP_ENTRIES, BDP_COMMIT, CPB_ENTRIES, CPB_ENTRIES_BYTES, CPB_CURRENT_CONTEXT,
  CPB_COMMITTING, CPB_RECURSION, CPB_READ, CPB_NR_LOOPS_WARN, CTX_NORMAL, CTX_SOFTIRQ, CTX_IRQ, CTX_NMI,
  OP_CONTEXT, OP_NEST_BEGIN, OP_NEST_END, OP_DISCARD_END, OP_WRITE, RD_DATA, ITEM_SIZE, ITEM_CPU,
  RINGBUF_TYPE_PADDING, RINGBUF_TYPE_TIME_STAMP, CPU_NEST_DEPTH,
} from "../abi";
import { setContextLevel, cpuDescOf } from "../cpu";
import {
  rbLockReserve, rbUnlockCommit, rbDiscardCommit, rbEventData, rbEntriesCpu,
} from "../ring_buffer";
import {
  setup, TB, CB, RES, OUT, bpAt, bpData, word, array0At, cb64, cb32, writeSeq, publish, consume, rdTs, rdSeq,
  rdLength, rdMatches, progBegin, emit, emit2, progRun,
} from "./fixture";

const CTX_BIT_NORMAL: u32 = 1 << 4;
const CTX_BIT_SOFTIRQ: u32 = 1 << 3;
const CTX_BIT_IRQ: u32 = 1 << 2;
const CTX_BIT_NMI: u32 = 1 << 1;
const CTX_BIT_TRANSITION: u32 = 1 << 0;

function pageCommit(): u32 {
  return <u32>load<u64>(bpData(bpAt(0)) - 16 + BDP_COMMIT);
}

function nestBegin(size: i32): void {
  emit(OP_NEST_BEGIN);
  emit(<i32>TB);
  emit(size);
}

describe("nested writers", () => {
  it("an irq event inside a normal one lands after it and is readable only after the outer commit", () => {
    setup(4, RB_FL_OVERWRITE);
    const outer = rbLockReserve(TB, 16);
    store<u32>(rbEventData(outer), 100);
    setContextLevel(CTX_IRQ);
    const inner = rbLockReserve(TB, 16);
    expect<usize>(inner).toBe(outer + 20);
    store<u32>(rbEventData(inner), 101);
    publish();
    expect<u32>(cb32(CPB_CURRENT_CONTEXT)).toBe(CTX_BIT_NORMAL | CTX_BIT_IRQ);
    expect<i32>(load<i32>(CB + CPB_COMMITTING)).toBe(2);
    rbUnlockCommit(TB);
    setContextLevel(CTX_NORMAL);
    publish();
    expect<u32>(cb32(CPB_CURRENT_CONTEXT)).toBe(CTX_BIT_NORMAL);
    expect<u64>(cb64(CPB_ENTRIES)).toBe(1);
    // the inner commit is not the outermost: nothing is committed on the page yet
    expect<u32>(pageCommit()).toBe(0);
    expect<i32>(consume()).toBe(0);
    rbUnlockCommit(TB);
    publish();
    expect<u32>(cb32(CPB_CURRENT_CONTEXT)).toBe(0);
    expect<i32>(load<i32>(CB + CPB_COMMITTING)).toBe(0);
    expect<u32>(pageCommit()).toBe(40);
    // reserved first, stamped first: outer at 1000 (delta 0), inner 1000 later
    expect<u32>(load<u32>(outer)).toBe(word(4, 0));
    expect<u32>(load<u32>(inner)).toBe(word(4, 1000));
    expect<i32>(consume()).toBe(1);
    expect<u32>(rdSeq()).toBe(100);
    expect<u64>(rdTs()).toBe(1000);
    expect<i32>(consume()).toBe(1);
    expect<u32>(rdSeq()).toBe(101);
    expect<u64>(rdTs()).toBe(2000);
    expect<i32>(consume()).toBe(0);
  });

  it("through the workload: OP_CONTEXT / OP_NEST_BEGIN / OP_NEST_END", () => {
    setup(4, RB_FL_OVERWRITE);
    progBegin();
    nestBegin(16);
    emit2(OP_CONTEXT, CTX_IRQ);
    nestBegin(24);
    emit(OP_NEST_END);
    emit2(OP_CONTEXT, CTX_NORMAL);
    emit(OP_NEST_END);
    expect<i32>(progRun()).toBe(0);
    expect<u32>(load<u32>(cpuDescOf(0) + CPU_NEST_DEPTH)).toBe(0);
    const page = bpData(bpAt(0));
    expect<u32>(load<u32>(page)).toBe(word(4, 0));
    expect<u32>(load<u32>(page + 20)).toBe(word(6, 1000));
    expect<u32>(load<u32>(bpAt(0), BP_WRITE)).toBe(48);
    expect<u64>(cb64(CPB_ENTRIES)).toBe(2);
    expect<u32>(cb32(CPB_CURRENT_CONTEXT)).toBe(0);
    expect<i32>(consume()).toBe(1);
    expect<u32>(rdLength()).toBe(16);
    expect<u32>(load<u32>(OUT + RD_DATA + ITEM_SIZE)).toBe(16);
    expect<u32>(load<u32>(OUT + RD_DATA + ITEM_CPU)).toBe(0);
    expect<u64>(rdTs()).toBe(1000);
    expect<i32>(consume()).toBe(1);
    expect<u32>(rdLength()).toBe(24);
    expect<u32>(load<u32>(OUT + RD_DATA + ITEM_SIZE)).toBe(24);
    expect<u64>(rdTs()).toBe(2000);
    expect<i32>(consume()).toBe(0);
  });

  it("every context level nests once: softirq, irq and nmi inside normal", () => {
    setup(4, RB_FL_OVERWRITE);
    const levels: i32[] = [CTX_NORMAL, CTX_SOFTIRQ, CTX_IRQ, CTX_NMI];
    const bits: u32[] = [CTX_BIT_NORMAL, CTX_BIT_SOFTIRQ, CTX_BIT_IRQ, CTX_BIT_NMI];
    let ctx: u32 = 0;
    for (let i = 0; i < 4; i++) {
      setContextLevel(levels[i]);
      const ev = rbLockReserve(TB, 16);
      expect<bool>(ev != 0).toBe(true, "reserve at level " + i.toString());
      store<u32>(rbEventData(ev), <u32>i);
      ctx |= bits[i];
      publish();
      expect<u32>(cb32(CPB_CURRENT_CONTEXT)).toBe(ctx);
    }
    for (let i = 3; i >= 0; i--) {
      setContextLevel(levels[i]);
      rbUnlockCommit(TB);
    }
    publish();
    expect<u32>(cb32(CPB_CURRENT_CONTEXT)).toBe(0);
    expect<u64>(cb64(CPB_RECURSION)).toBe(0);
    for (let i: u32 = 0; i < 4; i++) {
      expect<i32>(consume()).toBe(1);
      expect<u32>(rdSeq()).toBe(i);
      expect<u64>(rdTs()).toBe(<u64>(i + 1) * 1000);
    }
  });
});

describe("trace_recursive_lock", () => {
  it("one same-context recursion passes on the TRANSITION bit, the second is refused", () => {
    setup(4, RB_FL_OVERWRITE);
    const a = rbLockReserve(TB, 16);
    expect<bool>(a != 0).toBe(true);
    publish();
    expect<u32>(cb32(CPB_CURRENT_CONTEXT)).toBe(CTX_BIT_NORMAL);
    const b = rbLockReserve(TB, 16);
    expect<bool>(b != 0).toBe(true);
    publish();
    expect<u32>(cb32(CPB_CURRENT_CONTEXT)).toBe(CTX_BIT_NORMAL | CTX_BIT_TRANSITION);
    const c = rbLockReserve(TB, 16);
    expect<usize>(c).toBe(0);
    publish();
    expect<u64>(cb64(CPB_RECURSION)).toBe(1);
    expect<u32>(cb32(CPB_CURRENT_CONTEXT)).toBe(CTX_BIT_NORMAL | CTX_BIT_TRANSITION);
    // the refused reserve took no space
    expect<u32>(load<u32>(bpAt(0), BP_WRITE)).toBe(40);
    // unlock clears the lowest bit first: the TRANSITION bit
    rbUnlockCommit(TB);
    publish();
    expect<u32>(cb32(CPB_CURRENT_CONTEXT)).toBe(CTX_BIT_NORMAL);
    rbUnlockCommit(TB);
    publish();
    expect<u32>(cb32(CPB_CURRENT_CONTEXT)).toBe(0);
    expect<u64>(cb64(CPB_ENTRIES)).toBe(2);
    expect<u64>(rbEntriesCpu(TB, 0)).toBe(2);
    // and writing works again
    expect<i32>(writeSeq(16, 7)).toBe(0);
    publish();
    expect<u64>(cb64(CPB_ENTRIES)).toBe(3);
    expect<u64>(cb64(CPB_NR_LOOPS_WARN)).toBe(0);
  });

  it("through the workload: three nested begins in one context record two events", () => {
    setup(4, RB_FL_OVERWRITE);
    progBegin();
    nestBegin(16);
    nestBegin(16);
    nestBegin(16);
    emit(OP_NEST_END);
    emit(OP_NEST_END);
    emit(OP_NEST_END);
    expect<i32>(progRun()).toBe(0);
    expect<u64>(cb64(CPB_RECURSION)).toBe(1);
    expect<u64>(cb64(CPB_ENTRIES)).toBe(2);
    expect<u32>(cb32(CPB_CURRENT_CONTEXT)).toBe(0);
    expect<i32>(load<i32>(CB + CPB_COMMITTING)).toBe(0);
    expect<u32>(load<u32>(bpAt(0), BP_WRITE)).toBe(40);
    expect<i32>(consume()).toBe(1);
    expect<i32>(consume()).toBe(1);
    expect<i32>(consume()).toBe(0);
  });
});

describe("ring_buffer_discard_commit", () => {
  it("discarding the last event gives its space back and it is not an entry", () => {
    setup(4, RB_FL_OVERWRITE);
    progBegin();
    emit(OP_WRITE); emit(<i32>TB); emit(16); emit(1); emit(<i32>RES);
    nestBegin(16);
    emit(OP_DISCARD_END);
    expect<i32>(progRun()).toBe(0);
    expect<u32>(load<u32>(bpAt(0), BP_WRITE)).toBe(20);
    expect<u32>(load<u32>(bpAt(0), BP_ENTRIES)).toBe(1);
    expect<u64>(cb64(CPB_ENTRIES)).toBe(1);
    expect<u64>(cb64(CPB_ENTRIES_BYTES)).toBe(20);
    expect<u32>(pageCommit()).toBe(20);
    expect<u32>(cb32(CPB_CURRENT_CONTEXT)).toBe(0);
    expect<u64>(rbEntriesCpu(TB, 0)).toBe(1);
    expect<i32>(consume()).toBe(1);
    expect<i32>(consume()).toBe(0);
  });

  it("an event with a nested event after it stays as padding (type 29, delta 1)", () => {
    setup(4, RB_FL_OVERWRITE);
    progBegin();
    nestBegin(16);
    emit2(OP_CONTEXT, CTX_IRQ);
    nestBegin(16);
    emit(OP_NEST_END);
    emit2(OP_CONTEXT, CTX_NORMAL);
    emit(OP_DISCARD_END);
    expect<i32>(progRun()).toBe(0);
    const page = bpData(bpAt(0));
    expect<u32>(load<u32>(page)).toBe(word(RINGBUF_TYPE_PADDING, 1));
    expect<u32>(array0At(page)).toBe(16);
    expect<u32>(load<u32>(page + 20)).toBe(word(4, 1000));
    expect<u32>(load<u32>(bpAt(0), BP_WRITE)).toBe(40);
    expect<u32>(load<u32>(bpAt(0), BP_ENTRIES)).toBe(1);
    expect<u64>(cb64(CPB_ENTRIES)).toBe(1);
    expect<u64>(cb64(CPB_ENTRIES_BYTES)).toBe(40);
    expect<u32>(pageCommit()).toBe(40);
    expect<i32>(consume()).toBe(1);
    expect<u32>(load<u32>(OUT + RD_DATA + ITEM_SIZE)).toBe(16);
    expect<u64>(rdTs()).toBe(2000);
    expect<i32>(consume()).toBe(0);
    expect<u64>(cb64(CPB_READ)).toBe(1);
    expect<u64>(rbEntriesCpu(TB, 0)).toBe(0);
    expect<u64>(cb64(CPB_NR_LOOPS_WARN)).toBe(0);
  });

  it("the event after a given-back discard gets an absolute stamp (before_stamp no longer matches)", () => {
    setup(4, RB_FL_OVERWRITE);
    expect<i32>(writeSeq(16, 0)).toBe(0); // 1000
    const ev = rbLockReserve(TB, 16); // 2000
    expect<usize>(ev).toBe(bpData(bpAt(0)) + 20);
    rbDiscardCommit(TB, ev);
    expect<i32>(writeSeq(16, 1)).toBe(0); // 3000
    publish();
    const page = bpData(bpAt(0));
    // rb_try_to_discard zeroes before_stamp, so the next event is RB_ADD_STAMP_FORCE: a TIME_STAMP with
    // the full stamp where the discarded event was, then the event with delta 0
    expect<u32>(load<u32>(page + 20)).toBe(word(RINGBUF_TYPE_TIME_STAMP, 3000));
    expect<u32>(array0At(page + 20)).toBe(0);
    expect<u32>(load<u32>(page + 28)).toBe(word(4, 0));
    expect<u32>(load<u32>(bpAt(0), BP_WRITE)).toBe(48);
    expect<u64>(cb64(CPB_ENTRIES)).toBe(2);
    expect<u64>(cb64(CPB_ENTRIES_BYTES)).toBe(48);
    expect<i32>(consume()).toBe(1);
    expect<u32>(rdSeq()).toBe(0);
    expect<u64>(rdTs()).toBe(1000);
    expect<i32>(consume()).toBe(1);
    expect<u32>(rdSeq()).toBe(1);
    expect<bool>(rdMatches(16, 1)).toBe(true);
    expect<u64>(rdTs()).toBe(3000);
    expect<i32>(consume()).toBe(0);
  });
});
