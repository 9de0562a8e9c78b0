// Time stamps (__rb_reserve_next, rb_update_event, rb_add_time_stamp, rb_buffer_peek): the page's
// time_stamp is the stamp of its first event, whose time_delta is 0; later events carry the delta to the
// previous event; a delta that does not fit in 27 bits gets a TIME_EXTEND (type 30) in front; with
// time_stamp_abs every event gets a TIME_STAMP (type 31) with the absolute stamp. The clock is the
// virtual one: the n-th reading is n * 1000 ns plus what the spec adds.
import {
  RB_FL_OVERWRITE, BP_WRITE, BDP_TIME_STAMP, CPB_ENTRIES, CPB_ENTRIES_BYTES, CPB_NR_LOOPS_WARN,
  RINGBUF_TYPE_TIME_EXTEND, RINGBUF_TYPE_TIME_STAMP, TS_MASK, TS_SHIFT, OP_WRITE, OP_DELAY, RES_WRITTEN,
} from "../abi";
import { rbLockReserve, rbUnlockCommit, rbOldestEventTs } from "../ring_buffer";
import {
  setup, TB, CB, RES, bpAt, bpData, word, typeLenAt, deltaAt, array0At, cb64, writeSeq, publish, consume,
  rdTs, rdLength, rdMatches, bumpClock, setClock, progBegin, emit, emit2, progRun,
} from "./fixture";

const EXT: u32 = RINGBUF_TYPE_TIME_EXTEND;
const ABS: u32 = RINGBUF_TYPE_TIME_STAMP;

describe("time deltas", () => {
  it("first event of a page: time_delta 0, page time_stamp = its stamp; then deltas", () => {
    setup(4, RB_FL_OVERWRITE);
    const page = bpData(bpAt(0));
    writeSeq(16, 0);
    writeSeq(16, 1);
    writeSeq(16, 2);
    publish();
    expect<u64>(load<u64>(page - 16 + BDP_TIME_STAMP)).toBe(1000);
    expect<u32>(load<u32>(page)).toBe(word(4, 0));
    expect<u32>(load<u32>(page + 20)).toBe(word(4, 1000));
    expect<u32>(load<u32>(page + 40)).toBe(word(4, 1000));
    publish();
    expect<u64>(rbOldestEventTs(TB, 0)).toBe(1000);
    expect<i32>(consume()).toBe(1);
    expect<u64>(rdTs()).toBe(1000);
    expect<i32>(consume()).toBe(1);
    expect<u64>(rdTs()).toBe(2000);
    expect<i32>(consume()).toBe(1);
    expect<u64>(rdTs()).toBe(3000);
    expect<i32>(consume()).toBe(0);
  });

  it("OP_DELAY moves the clock: the next delta includes it", () => {
    setup(4, RB_FL_OVERWRITE);
    const page = bpData(bpAt(0));
    progBegin();
    emit(OP_WRITE); emit(<i32>TB); emit(16); emit(1); emit(<i32>RES);
    emit2(OP_DELAY, 500);
    emit(OP_WRITE); emit(<i32>TB); emit(16); emit(2); emit(<i32>RES);
    expect<i32>(progRun()).toBe(0);
    expect<u64>(load<u64>(RES + RES_WRITTEN)).toBe(3);
    expect<u32>(load<u32>(page)).toBe(word(4, 0));
    expect<u32>(load<u32>(page + 20)).toBe(word(4, 1500));
    expect<u32>(load<u32>(page + 40)).toBe(word(4, 1000));
    // runProgram ends its session: everything is published
    expect<i32>(consume()).toBe(1);
    expect<u64>(rdTs()).toBe(1000);
    expect<u32>(rdLength()).toBe(16);
    expect<i32>(consume()).toBe(1);
    expect<u64>(rdTs()).toBe(2500);
    expect<i32>(consume()).toBe(1);
    expect<u64>(rdTs()).toBe(3500);
  });

  it("a delta of exactly 2^27 - 1 still fits in time_delta", () => {
    setup(4, RB_FL_OVERWRITE);
    const page = bpData(bpAt(0));
    writeSeq(16, 0); // 1000
    bumpClock(<u64>TS_MASK - 1000);
    writeSeq(16, 1); // 1000 + TS_MASK
    publish();
    expect<u32>(load<u32>(page + 20)).toBe(word(4, TS_MASK));
    expect<u32>(load<u32>(bpAt(0), BP_WRITE)).toBe(40);
    publish();
    consume();
    consume();
    expect<u64>(rdTs()).toBe(1000 + <u64>TS_MASK);
  });

  it("a delta of 2^27 gets a TIME_EXTEND: time_delta = delta & TS_MASK, array[0] = delta >> 27", () => {
    setup(4, RB_FL_OVERWRITE);
    const page = bpData(bpAt(0));
    writeSeq(16, 0); // 1000
    bumpClock((<u64>1 << 27) - 1000);
    writeSeq(16, 1); // 1000 + 2^27
    publish();
    expect<u32>(load<u32>(page + 20)).toBe(word(EXT, 0));
    expect<u32>(array0At(page + 20)).toBe(1);
    // the data event follows with delta 0
    expect<u32>(load<u32>(page + 28)).toBe(word(4, 0));
    expect<u32>(load<u32>(bpAt(0), BP_WRITE)).toBe(48);
    // the extend's 8 bytes are accounted in entries_bytes
    expect<u64>(cb64(CPB_ENTRIES_BYTES)).toBe(48);
    expect<u64>(cb64(CPB_ENTRIES)).toBe(2);
    publish();
    expect<i32>(consume()).toBe(1);
    expect<u64>(rdTs()).toBe(1000);
    expect<i32>(consume()).toBe(1);
    expect<u64>(rdTs()).toBe(1000 + (<u64>1 << 27));
    expect<bool>(rdMatches(16, 1)).toBe(true);
    expect<i32>(consume()).toBe(0);
  });

  it("OP_DELAY past 2^27: extend with the split delta, consumer sees the true stamp", () => {
    setup(4, RB_FL_OVERWRITE);
    const page = bpData(bpAt(0));
    const delta: u64 = (<u64>3 << 27) + 12345;
    progBegin();
    emit(OP_WRITE); emit(<i32>TB); emit(16); emit(1); emit(<i32>RES);
    emit2(OP_DELAY, <i32>(delta - 1000));
    emit(OP_WRITE); emit(<i32>TB); emit(16); emit(1); emit(<i32>RES);
    emit(OP_WRITE); emit(<i32>TB); emit(16); emit(1); emit(<i32>RES);
    expect<i32>(progRun()).toBe(0);
    expect<u32>(load<u32>(page)).toBe(word(4, 0));
    expect<u32>(load<u32>(page + 20)).toBe(word(EXT, 12345));
    expect<u32>(array0At(page + 20)).toBe(3);
    expect<u32>(load<u32>(page + 28)).toBe(word(4, 0));
    // the following event is back to a plain delta
    expect<u32>(load<u32>(page + 48)).toBe(word(4, 1000));
    expect<u32>(load<u32>(bpAt(0), BP_WRITE)).toBe(68);
    expect<i32>(consume()).toBe(1);
    expect<u64>(rdTs()).toBe(1000);
    expect<i32>(consume()).toBe(1);
    expect<u64>(rdTs()).toBe(1000 + delta);
    expect<i32>(consume()).toBe(1);
    expect<u64>(rdTs()).toBe(2000 + delta);
    expect<u64>(cb64(CPB_NR_LOOPS_WARN)).toBe(0);
  });

  it("every event of a long run carries the delta to the one before it", () => {
    setup(4, RB_FL_OVERWRITE);
    const page = bpData(bpAt(0));
    for (let i = 0; i < 10; i++) writeSeq(16, <u32>i);
    publish();
    for (let i = 0; i < 10; i++) {
      expect<u32>(load<u32>(page + <usize>(i * 20))).toBe(word(4, i == 0 ? 0 : 1000), "event " + i.toString());
    }
    expect<u64>(cb64(CPB_ENTRIES_BYTES)).toBe(200);
    publish();
    for (let i = 0; i < 10; i++) {
      consume();
      expect<u64>(rdTs()).toBe(<u64>(i + 1) * 1000, "stamp " + i.toString());
    }
  });
});

describe("absolute time stamps (time_stamp_abs)", () => {
  it("every event, the first of the page too, gets a TIME_STAMP with the full stamp", () => {
    setup(4, RB_FL_OVERWRITE, true);
    const page = bpData(bpAt(0));
    setClock((<u64>5 << TS_SHIFT) + 7);
    const ts0: u64 = (<u64>5 << TS_SHIFT) + 1007;
    writeSeq(16, 0);
    writeSeq(16, 1);
    publish();
    expect<u64>(load<u64>(page - 16 + BDP_TIME_STAMP)).toBe(ts0);
    expect<u32>(load<u32>(page)).toBe(word(ABS, 1007));
    expect<u32>(array0At(page)).toBe(5);
    expect<u32>(load<u32>(page + 8)).toBe(word(4, 0));
    expect<u32>(load<u32>(page + 28)).toBe(word(ABS, 2007));
    expect<u32>(array0At(page + 28)).toBe(5);
    expect<u32>(load<u32>(page + 36)).toBe(word(4, 0));
    expect<u32>(load<u32>(bpAt(0), BP_WRITE)).toBe(56);
    // info->length includes the stamp: 28 bytes per event
    expect<u64>(cb64(CPB_ENTRIES_BYTES)).toBe(56, "entries_bytes counts info->length, the 8-byte TIME_STAMP included");
    publish();
    expect<i32>(consume()).toBe(1);
    expect<u64>(rdTs()).toBe(ts0);
    expect<bool>(rdMatches(16, 0)).toBe(true);
    expect<i32>(consume()).toBe(1);
    expect<u64>(rdTs()).toBe(ts0 + 1000);
    expect<i32>(consume()).toBe(0);
  });

  it("the stamp counts against max_data_size", () => {
    setup(4, RB_FL_OVERWRITE, true);
    // 4064 -> 4072-byte event + 8 > 4072: refused; 4056 -> 4064 + 8 = 4072: fits
    expect<usize>(rbLockReserve(TB, 4064)).toBe(0);
    const ev = rbLockReserve(TB, 4056);
    expect<bool>(ev != 0).toBe(true);
    expect<u32>(typeLenAt(ev - 8)).toBe(ABS);
    expect<u32>(deltaAt(ev)).toBe(0);
    rbUnlockCommit(TB);
    publish();
    expect<u32>(load<u32>(bpAt(0), BP_WRITE)).toBe(4072);
    expect<u64>(cb64(CPB_ENTRIES)).toBe(1);
  });
});
