// rb_reset_cpu, rb_remove_pages and rb_insert_pages (the host calls them with the writer quiescent).
// A 4-page buffer of 208-byte events (200-byte payloads), 19 per page; 100 events in overwrite mode:
//   page2 38-56, page3 57-75, page0 76-94, page1 95-99 (tail); pages 0 and 1 of round 1 (0-37) lost.
import {
  RB_FL_OVERWRITE, RB_PAGE_HEAD, BP_WRITE, BP_ENTRIES, BP_READ, BP_PREV, BDP_COMMIT, BDP_TIME_STAMP,
  CPB_ENTRIES, CPB_ENTRIES_BYTES, CPB_OVERRUN, CPB_COMMIT_OVERRUN, CPB_DROPPED_EVENTS, CPB_PAGES_LOST,
  CPB_READ, CPB_READ_BYTES, CPB_LOST_EVENTS, CPB_LAST_OVERRUN, CPB_NR_PAGES, CPB_PAGES, CPB_HEAD_PAGE,
  CPB_TAIL_PAGE, CPB_COMMIT_PAGE, CPB_READER_PAGE, CPB_PAGES_REMOVED, CPB_NR_LOOPS_WARN, BP_PAGE,
} from "../abi";
import {
  rbResetCpu, rbRemovePages, rbInsertPages, rbEntriesCpu, rbBytesCpu, rbEmptyCpu,
} from "../ring_buffer";
import {
  setup, TB, CB, OUT_PAGES, READER, bpAt, bpData, initBp, nextOf, flagsOf, word, cb64, cb32, writeN,
  writeSeq, publish, quiesce, consume, rdSeq, rdLost, rdTs, vclock,
} from "./fixture";

// pages in the ring starting at `from`, and how many links carry the HEAD flag
function ringSize(from: usize): i32 {
  let n = 0;
  let bp = from;
  do {
    n++;
    bp = nextOf(bp);
  } while (bp != from && n < 100);
  return n;
}

function headFlags(from: usize): i32 {
  let n = 0;
  let bp = from;
  let i = 0;
  do {
    if (flagsOf(bp) == RB_PAGE_HEAD) n++;
    bp = nextOf(bp);
    i++;
  } while (bp != from && i < 100);
  return n;
}

function commitOf(bp: usize): u32 {
  return <u32>load<u64>(load<u32>(bp, BP_PAGE) + BDP_COMMIT);
}

describe("rb_reset_cpu", () => {
  it("clears every counter and page, and the buffer works again from its first page", () => {
    setup(4, RB_FL_OVERWRITE);
    writeN(200, 100);
    publish();
    for (let i = 0; i < 10; i++) consume();
    quiesce();
    rbResetCpu(CB);
    const offs: usize[] = [
      CPB_ENTRIES, CPB_ENTRIES_BYTES, CPB_OVERRUN, CPB_COMMIT_OVERRUN, CPB_DROPPED_EVENTS, CPB_PAGES_LOST,
      CPB_READ, CPB_READ_BYTES, CPB_LOST_EVENTS, CPB_LAST_OVERRUN,
    ];
    for (let i = 0; i < offs.length; i++) expect<u64>(cb64(offs[i])).toBe(0, "counter at " + offs[i].toString());
    expect<u64>(rbEntriesCpu(TB, 0)).toBe(0);
    expect<u64>(rbBytesCpu(TB, 0)).toBe(0);
    expect<bool>(rbEmptyCpu(TB, 0)).toBe(true);
    const first = <usize>cb32(CPB_PAGES);
    expect<u32>(cb32(CPB_HEAD_PAGE)).toBe(<u32>first);
    expect<u32>(cb32(CPB_TAIL_PAGE)).toBe(<u32>first);
    expect<u32>(cb32(CPB_COMMIT_PAGE)).toBe(<u32>first);
    expect<i32>(ringSize(first)).toBe(4);
    expect<i32>(headFlags(first)).toBe(1);
    expect<u32>(flagsOf(load<u32>(first, BP_PREV))).toBe(RB_PAGE_HEAD);
    let bp = first;
    for (let i = 0; i < 4; i++) {
      expect<u32>(load<u32>(bp, BP_WRITE)).toBe(0);
      expect<u32>(load<u32>(bp, BP_ENTRIES)).toBe(0);
      expect<u32>(commitOf(bp)).toBe(0);
      bp = nextOf(bp);
    }
    const reader = <usize>cb32(CPB_READER_PAGE);
    expect<u32>(load<u32>(reader, BP_READ)).toBe(0);
    expect<u32>(commitOf(reader)).toBe(0);
    expect<u32>(flagsOf(reader)).toBe(0);
    expect<i32>(consume()).toBe(0);

    expect<i32>(writeSeq(16, 500)).toBe(0);
    const ts = vclock();
    publish();
    expect<u32>(load<u32>(bpData(first))).toBe(word(4, 0));
    expect<u64>(load<u64>(load<u32>(first, BP_PAGE) + BDP_TIME_STAMP)).toBe(ts);
    expect<u64>(cb64(CPB_ENTRIES)).toBe(1);
    expect<u64>(cb64(CPB_ENTRIES_BYTES)).toBe(20);
    expect<i32>(consume()).toBe(1);
    expect<u32>(rdSeq()).toBe(500);
    expect<u64>(rdLost()).toBe(0);
    expect<u64>(rdTs()).toBe(ts);
    expect<i32>(consume()).toBe(0);
    expect<u64>(cb64(CPB_NR_LOOPS_WARN)).toBe(0);
  });
});

describe("rb_remove_pages / rb_insert_pages", () => {
  it("removing the page after the tail counts its entries as overrun", () => {
    setup(4, RB_FL_OVERWRITE);
    writeN(200, 100);
    quiesce();
    expect<u64>(cb64(CPB_OVERRUN)).toBe(38);
    expect<u32>(cb32(CPB_TAIL_PAGE)).toBe(<u32>bpAt(1));
    expect<u32>(rbRemovePages(CB, 1, OUT_PAGES)).toBe(1);
    expect<u32>(load<u32>(OUT_PAGES)).toBe(<u32>bpAt(2));
    expect<u32>(cb32(CPB_NR_PAGES)).toBe(3);
    expect<u64>(cb64(CPB_OVERRUN)).toBe(38 + 19);
    expect<u64>(cb64(CPB_PAGES_LOST)).toBe(3);
    expect<u32>(cb32(CPB_PAGES_REMOVED)).toBe(1);
    expect<u64>(rbEntriesCpu(TB, 0)).toBe(43);
    expect<u64>(rbBytesCpu(TB, 0)).toBe(2 * 4080 + 5 * 208);
    // the removed page was the head: the page after it is
    expect<u32>(cb32(CPB_HEAD_PAGE)).toBe(<u32>bpAt(3));
    expect<usize>(nextOf(bpAt(1))).toBe(bpAt(3));
    expect<u32>(flagsOf(bpAt(1))).toBe(RB_PAGE_HEAD);
    expect<u32>(load<u32>(bpAt(3), BP_PREV)).toBe(<u32>bpAt(1));
    expect<i32>(ringSize(bpAt(0))).toBe(3);
    expect<i32>(headFlags(bpAt(0))).toBe(1);
    // the reader loses them too
    expect<i32>(consume()).toBe(1);
    expect<u32>(rdSeq()).toBe(57);
    expect<u64>(rdLost()).toBe(57);
    for (let i: u32 = 58; i < 100; i++) {
      expect<i32>(consume()).toBe(1);
      expect<u32>(rdSeq()).toBe(i);
    }
    expect<i32>(consume()).toBe(0);
    expect<u64>(cb64(CPB_NR_LOOPS_WARN)).toBe(0);
  });

  it("inserted pages go in before the head and are written before anything is overwritten", () => {
    setup(4, RB_FL_OVERWRITE);
    writeN(200, 100);
    quiesce();
    rbRemovePages(CB, 1, OUT_PAGES);
    const n1 = initBp(10);
    const n2 = initBp(11);
    store<u32>(n1, <u32>n2, 0);
    store<u32>(n2, <u32>n1, BP_PREV);
    expect<bool>(rbInsertPages(CB, n1, n2, 2)).toBe(true);
    expect<u32>(cb32(CPB_NR_PAGES)).toBe(5);
    // bp1 (tail) -> n1 -> n2 -> bp3 (head) -> bp0 -> bp1
    expect<usize>(nextOf(bpAt(1))).toBe(n1);
    expect<usize>(nextOf(n1)).toBe(n2);
    expect<usize>(nextOf(n2)).toBe(bpAt(3));
    expect<u32>(flagsOf(n2)).toBe(RB_PAGE_HEAD);
    expect<u32>(flagsOf(bpAt(1))).toBe(0);
    expect<u32>(load<u32>(n1, BP_PREV)).toBe(<u32>bpAt(1));
    expect<u32>(load<u32>(bpAt(3), BP_PREV)).toBe(<u32>n2);
    expect<i32>(ringSize(bpAt(0))).toBe(5);
    expect<i32>(headFlags(bpAt(0))).toBe(1);
    // fill the tail page (14 more) and both new pages (38): nothing overwritten
    expect<i32>(writeN(200, 52, 100)).toBe(52);
    publish();
    expect<u64>(cb64(CPB_OVERRUN)).toBe(57);
    expect<u32>(load<u32>(n1, BP_ENTRIES)).toBe(19);
    expect<u32>(load<u32>(n2, BP_ENTRIES)).toBe(19);
    // the next page is the head again
    expect<i32>(writeSeq(200, 152)).toBe(0);
    publish();
    expect<u64>(cb64(CPB_OVERRUN)).toBe(57 + 19);
    expect<u64>(cb64(CPB_ENTRIES)).toBe(153);
    expect<u64>(rbEntriesCpu(TB, 0)).toBe(77);
    expect<i32>(consume()).toBe(1);
    expect<u32>(rdSeq()).toBe(76);
    expect<u64>(rdLost()).toBe(76);
    let n = 1;
    let last: u32 = 76;
    while (consume() == 1) {
      expect<u32>(rdSeq()).toBe(last + 1);
      last = rdSeq();
      n++;
    }
    expect<i32>(n).toBe(77);
    expect<u32>(last).toBe(152);
    expect<u64>(cb64(CPB_NR_LOOPS_WARN)).toBe(0);
  });

  it("producer/consumer mode: inserted pages add room", () => {
    setup(4, 0);
    expect<i32>(writeN(200, 81)).toBe(76);
    quiesce();
    expect<u64>(cb64(CPB_DROPPED_EVENTS)).toBe(5);
    const n1 = initBp(10);
    const n2 = initBp(11);
    store<u32>(n1, <u32>n2, 0);
    store<u32>(n2, <u32>n1, BP_PREV);
    expect<bool>(rbInsertPages(CB, n1, n2, 2)).toBe(true);
    expect<i32>(writeN(200, 40, 1000)).toBe(38);
    publish();
    expect<u64>(cb64(CPB_DROPPED_EVENTS)).toBe(7);
    expect<u64>(cb64(CPB_ENTRIES)).toBe(114);
    expect<u64>(rbEntriesCpu(TB, 0)).toBe(114);
    expect<i32>(consume()).toBe(1);
    expect<u32>(rdSeq()).toBe(0);
  });
});
