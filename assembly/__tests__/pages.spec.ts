// Page transitions (rb_move_tail, rb_reset_tail, rb_tail_page_update, rb_set_commit_to_write) and
// ring_buffer_read_page. Sub-buffers hold 4080 bytes of events. A 200-byte payload is a 208-byte event,
// so 19 of them fill 3952 bytes and leave 128.
import {
  RB_FL_OVERWRITE, BP_WRITE, BP_ENTRIES, BP_REAL_END, BP_PAGE, BDP_TIME_STAMP, BDP_COMMIT, BDP_DATA,
  CPB_ENTRIES, CPB_ENTRIES_BYTES, CPB_TAIL_PAGE, CPB_COMMIT_PAGE, CPB_READER_PAGE, CPB_READ, CPB_NR_LOOPS_WARN,
  RINGBUF_TYPE_PADDING,
} from "../abi";
import { rbReadPage, rbBytesCpu, rbEntriesCpu } from "../ring_buffer";
import {
  setup, TB, CB, SLOT, SPARE_PAGE, BSIZE, PAGE_SIZE, READER, bpAt, bpData, pageAt, word, typeLenAt,
  deltaAt, array0At, cb64, cb32, writeSeq, writeN, publish, consume, rdTs, rdLength, rdSeq, rdMatches,
  bumpClock, allBytes,
} from "./fixture";

const PAD: u32 = RINGBUF_TYPE_PADDING;

function commitOf(bp: usize): u32 {
  return <u32>load<u64>(load<u32>(bp, BP_PAGE) + BDP_COMMIT);
}

function stampOf(bp: usize): u64 {
  return load<u64>(load<u32>(bp, BP_PAGE) + BDP_TIME_STAMP);
}

describe("page transitions", () => {
  it("the rest of a page becomes a padding event (type 29, delta 1, array[0] = rest - 4)", () => {
    setup(4, RB_FL_OVERWRITE);
    expect<i32>(writeN(200, 19)).toBe(19);
    publish();
    expect<u32>(load<u32>(bpAt(0), BP_WRITE)).toBe(3952);
    expect<i32>(writeSeq(200, 19)).toBe(0);
    publish();
    const p0 = bpData(bpAt(0));
    expect<u32>(load<u32>(p0 + 3952)).toBe(word(PAD, 1));
    expect<u32>(array0At(p0 + 3952)).toBe(124);
    expect<u32>(load<u32>(bpAt(0), BP_REAL_END)).toBe(3952);
    expect<u32>(load<u32>(bpAt(0), BP_WRITE)).toBe(BSIZE);
    // the commit moved on: the finished page's commit includes the padding
    expect<u32>(cb32(CPB_TAIL_PAGE)).toBe(<u32>bpAt(1));
    expect<u32>(cb32(CPB_COMMIT_PAGE)).toBe(<u32>bpAt(1));
    expect<u32>(commitOf(bpAt(0))).toBe(BSIZE);
    // the event is at offset 0 of the next page: delta 0, the page's stamp is its stamp (the reservation
    // that did not fit read the clock at 20000, the retry at 21000)
    const p1 = bpData(bpAt(1));
    expect<u32>(load<u32>(p1)).toBe(word(0, 0));
    expect<u32>(array0At(p1)).toBe(204);
    expect<u64>(stampOf(bpAt(1))).toBe(21000);
    expect<u32>(load<u32>(bpAt(1), BP_WRITE)).toBe(208);
    expect<u32>(load<u32>(bpAt(0), BP_ENTRIES)).toBe(19);
    expect<u32>(load<u32>(bpAt(1), BP_ENTRIES)).toBe(1);
    expect<u64>(cb64(CPB_ENTRIES)).toBe(20);
    // padding bytes count in entries_bytes
    expect<u64>(rbBytesCpu(TB, 0)).toBe(3952 + 128 + 208);
    publish();
    for (let i = 0; i < 20; i++) {
      expect<i32>(consume()).toBe(1, "consume " + i.toString());
      expect<u32>(rdSeq()).toBe(<u32>i);
      expect<u64>(rdTs()).toBe(i < 19 ? <u64>(i + 1) * 1000 : 21000, "stamp " + i.toString());
    }
    expect<i32>(consume()).toBe(0);
    expect<u64>(cb64(CPB_READ)).toBe(20);
    expect<u64>(rbBytesCpu(TB, 0)).toBe(0);
    expect<u64>(cb64(CPB_NR_LOOPS_WARN)).toBe(0);
  });

  it("8 bytes left: still a padding event, array[0] = 4", () => {
    setup(4, RB_FL_OVERWRITE);
    expect<i32>(writeSeq(4064, 0)).toBe(0); // 4072-byte event
    expect<i32>(writeSeq(16, 1)).toBe(0);
    publish();
    const p0 = bpData(bpAt(0));
    expect<u32>(load<u32>(p0 + 4072)).toBe(word(PAD, 1));
    expect<u32>(array0At(p0 + 4072)).toBe(4);
    expect<u32>(load<u32>(bpAt(0), BP_REAL_END)).toBe(4072);
    expect<u32>(commitOf(bpAt(0))).toBe(BSIZE);
    expect<u64>(cb64(CPB_ENTRIES_BYTES)).toBe(4072 + 8 + 20);
  });

  it("fewer than 8 bytes left: a null event (type 29, delta 0) the page's commit excludes", () => {
    setup(4, RB_FL_OVERWRITE);
    expect<i32>(writeSeq(4060, 0)).toBe(0); // 4068-byte event
    expect<i32>(writeSeq(1, 1)).toBe(0); // 8 bytes: 4076 used, 4 left
    expect<i32>(writeSeq(1, 2)).toBe(0); // does not fit
    publish();
    const p0 = bpData(bpAt(0));
    expect<u32>(load<u32>(p0 + 4076)).toBe(word(PAD, 0));
    expect<u32>(load<u32>(bpAt(0), BP_WRITE)).toBe(4076);
    expect<u32>(load<u32>(bpAt(0), BP_REAL_END)).toBe(4076);
    expect<u32>(commitOf(bpAt(0))).toBe(4076);
    expect<u32>(load<u32>(bpData(bpAt(1)))).toBe(word(1, 0));
    // no padding bytes accounted
    expect<u64>(cb64(CPB_ENTRIES_BYTES)).toBe(4068 + 8 + 8);
    publish();
    expect<i32>(consume()).toBe(1);
    expect<u32>(rdLength()).toBe(4060);
    expect<bool>(rdMatches(4060, 0)).toBe(true);
    expect<i32>(consume()).toBe(1);
    expect<u32>(rdLength()).toBe(4);
    expect<i32>(consume()).toBe(1);
    expect<u64>(rdTs()).toBe(4000);
    expect<i32>(consume()).toBe(0);
    // the reader never stepped on the null event
    expect<u64>(cb64(CPB_NR_LOOPS_WARN)).toBe(0);
  });

  it("an exactly full page: no padding, real_end 0", () => {
    setup(4, RB_FL_OVERWRITE);
    expect<i32>(writeSeq(4072, 0)).toBe(0);
    publish();
    expect<u32>(load<u32>(bpAt(0), BP_WRITE)).toBe(BSIZE);
    expect<i32>(writeSeq(16, 1)).toBe(0);
    publish();
    expect<u32>(load<u32>(bpAt(0), BP_WRITE)).toBe(BSIZE);
    expect<u32>(load<u32>(bpAt(0), BP_REAL_END)).toBe(0);
    expect<u32>(commitOf(bpAt(0))).toBe(BSIZE);
    expect<u32>(load<u32>(bpData(bpAt(1)))).toBe(word(4, 0));
    expect<u64>(cb64(CPB_ENTRIES_BYTES)).toBe(4080 + 20);
  });

  it("an event that needs a time extend but moves to a new page starts it without one", () => {
    setup(4, RB_FL_OVERWRITE);
    writeN(200, 19); // stamps 1000..19000
    bumpClock(<u64>1 << 28);
    expect<i32>(writeSeq(200, 19)).toBe(0);
    publish();
    // 208 + 8 did not fit in the 128 bytes left: padding for the 128
    const p0 = bpData(bpAt(0));
    expect<u32>(load<u32>(p0 + 3952)).toBe(word(PAD, 1));
    expect<u32>(array0At(p0 + 3952)).toBe(124);
    // first on the new page: no extend, delta 0, the page carries the stamp (retry read the clock again)
    const ts: u64 = (<u64>1 << 28) + 21000;
    const p1 = bpData(bpAt(1));
    expect<u32>(load<u32>(p1)).toBe(word(0, 0));
    expect<u32>(array0At(p1)).toBe(204);
    expect<u32>(load<u32>(bpAt(1), BP_WRITE)).toBe(208);
    expect<u64>(stampOf(bpAt(1))).toBe(ts);
    expect<u64>(cb64(CPB_ENTRIES_BYTES)).toBe(3952 + 128 + 208);
    publish();
    for (let i = 0; i < 20; i++) consume();
    expect<u32>(rdSeq()).toBe(19);
    expect<u64>(rdTs()).toBe(ts);
  });
});

describe("ring_buffer_read_page", () => {
  it("copy path: the reader page is the commit page", () => {
    setup(4, RB_FL_OVERWRITE);
    writeN(16, 3); // 60 bytes, stamps 1000..3000
    publish();
    memory.fill(SPARE_PAGE, 0xaa, PAGE_SIZE);
    // a full page is not available while the writer is on it
    expect<i32>(rbReadPage(TB, 0, SLOT, PAGE_SIZE, true)).toBe(-1);
    expect<i32>(rbReadPage(TB, 0, SLOT, PAGE_SIZE, false)).toBe(0);
    // copied into the caller's page, which stays the caller's
    expect<u32>(load<u32>(SLOT)).toBe(<u32>SPARE_PAGE);
    expect<u64>(load<u64>(SPARE_PAGE + BDP_TIME_STAMP)).toBe(1000);
    expect<u64>(load<u64>(SPARE_PAGE + BDP_COMMIT)).toBe(60);
    const src = bpData(bpAt(0));
    let same = true;
    for (let i: usize = 0; i < 60; i++) same = same && load<u8>(SPARE_PAGE + BDP_DATA + i) == load<u8>(src + i);
    expect<bool>(same).toBe(true);
    expect<u32>(load<u32>(SPARE_PAGE + BDP_DATA + 20)).toBe(word(4, 1000));
    // the rest of the page is zeroed
    expect<bool>(allBytes(SPARE_PAGE + BDP_DATA + 60, BSIZE - 60, 0)).toBe(true);
    expect<u64>(cb64(CPB_READ)).toBe(3);
    expect<u64>(rbEntriesCpu(TB, 0)).toBe(0);
    // nothing more to read
    expect<i32>(rbReadPage(TB, 0, SLOT, PAGE_SIZE, false)).toBe(-1);
    expect<i32>(consume()).toBe(0);
  });

  it("copy path with a short len: whole events only, the second page stamped with the read stamp", () => {
    setup(4, RB_FL_OVERWRITE);
    writeN(16, 3); // 20-byte events at 1000, 2000, 3000
    publish();
    // room for 50 bytes of events: two of them
    expect<i32>(rbReadPage(TB, 0, SLOT, 16 + 50, false)).toBe(0);
    expect<u64>(load<u64>(SPARE_PAGE + BDP_COMMIT)).toBe(40);
    expect<u64>(load<u64>(SPARE_PAGE + BDP_TIME_STAMP)).toBe(1000);
    expect<u64>(cb64(CPB_READ)).toBe(2);
    // the rest: the page stamp is the stamp of the last event read, so the delta still adds up
    expect<i32>(rbReadPage(TB, 0, SLOT, PAGE_SIZE, false)).toBe(0);
    expect<u64>(load<u64>(SPARE_PAGE + BDP_COMMIT)).toBe(20);
    expect<u64>(load<u64>(SPARE_PAGE + BDP_TIME_STAMP)).toBe(2000);
    expect<u32>(load<u32>(SPARE_PAGE + BDP_DATA)).toBe(word(4, 1000));
    expect<u32>(load<u32>(SPARE_PAGE + BDP_DATA + 4)).toBe(2);
    // too short for the next event: nothing copied
    writeN(16, 1, 3);
    publish();
    expect<i32>(rbReadPage(TB, 0, SLOT, 16 + 16, false)).toBe(-1);
    expect<u64>(cb64(CPB_READ)).toBe(3);
  });

  it("swap path: a full page off the commit page is exchanged for the caller's page", () => {
    setup(4, RB_FL_OVERWRITE);
    writeN(200, 20); // page 0 full (19 events + padding), event 19 on page 1
    publish();
    memory.fill(SPARE_PAGE, 0xaa, PAGE_SIZE);
    expect<i32>(rbReadPage(TB, 0, SLOT, PAGE_SIZE, true)).toBe(0);
    // the caller now owns page 0's data page; page 0's buffer_page (now the reader page) got the spare
    expect<u32>(load<u32>(SLOT)).toBe(<u32>pageAt(0));
    expect<u32>(cb32(CPB_READER_PAGE)).toBe(<u32>bpAt(0));
    expect<u32>(load<u32>(bpAt(0), BP_PAGE)).toBe(<u32>SPARE_PAGE);
    const page = pageAt(0);
    expect<u64>(load<u64>(page + BDP_TIME_STAMP)).toBe(1000);
    // commit is real_end: the padding is not part of what is handed out, and it is zeroed
    expect<u64>(load<u64>(page + BDP_COMMIT)).toBe(3952);
    expect<bool>(allBytes(page + BDP_DATA + 3952, BSIZE - 3952, 0)).toBe(true);
    expect<u32>(load<u32>(page + BDP_DATA)).toBe(word(0, 0));
    expect<u32>(load<u32>(page + BDP_DATA + 208)).toBe(word(0, 1000));
    expect<u32>(load<u32>(page + BDP_DATA + 216)).toBe(1);
    // read counts the page's entries, read_bytes its whole size (padding included)
    expect<u64>(cb64(CPB_READ)).toBe(19);
    expect<u64>(rbBytesCpu(TB, 0)).toBe(208);
    expect<u64>(rbEntriesCpu(TB, 0)).toBe(1);
    // the next page is the commit page: not a full page yet; a partial read copies it
    store<u32>(SLOT, <u32>SPARE_PAGE + PAGE_SIZE);
    expect<i32>(rbReadPage(TB, 0, SLOT, PAGE_SIZE, true)).toBe(-1);
    expect<i32>(rbReadPage(TB, 0, SLOT, PAGE_SIZE, false)).toBe(0);
    const spare2 = SPARE_PAGE + PAGE_SIZE;
    expect<u32>(load<u32>(SLOT)).toBe(<u32>spare2);
    expect<u64>(load<u64>(spare2 + BDP_COMMIT)).toBe(208);
    expect<u64>(load<u64>(spare2 + BDP_TIME_STAMP)).toBe(21000);
    expect<u64>(cb64(CPB_READ)).toBe(20);
    expect<u64>(cb64(CPB_NR_LOOPS_WARN)).toBe(0);
  });

  it("a partially consumed page is copied, not swapped, even when full", () => {
    setup(4, RB_FL_OVERWRITE);
    writeN(200, 20);
    publish();
    expect<i32>(consume()).toBe(1);
    // full: a partially read page can be returned if the rest fits and the writer is gone
    // (the events are copied to the beginning of the page, so the offset returned is 0)
    expect<i32>(rbReadPage(TB, 0, SLOT, PAGE_SIZE, true)).toBe(0);
    expect<u32>(load<u32>(SLOT)).toBe(<u32>SPARE_PAGE);
    // 18 events and the padding event, copied to the start of the caller's page
    expect<u64>(load<u64>(SPARE_PAGE + BDP_COMMIT)).toBe(3952 - 208 + 128);
    expect<u64>(load<u64>(SPARE_PAGE + BDP_TIME_STAMP)).toBe(1000);
    expect<u32>(load<u32>(SPARE_PAGE + BDP_DATA)).toBe(word(0, 1000));
    expect<u32>(load<u32>(SPARE_PAGE + BDP_DATA + 8)).toBe(1);
    expect<u64>(cb64(CPB_READ)).toBe(19);
  });
});
