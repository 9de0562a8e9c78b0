// Counters of a per-CPU buffer (entries, overrun, bytes, read, dropped_events, lost events) in overwrite
// and producer/consumer mode, and how ring_buffer_read_page reports lost events (RB_MISSED_*).
// A 4-page buffer of 208-byte events (200-byte payloads): 19 events per page, 128 bytes of padding.
//   round 1: page0 0-18, page1 19-37, page2 38-56, page3 57-75
//   overwrite, round 2: page0 76-94 (page0's 19 lost), page1 95-99 (page1's 19 lost)
import {
  RB_FL_OVERWRITE, BDP_COMMIT, BDP_TIME_STAMP, BDP_DATA, CPB_ENTRIES, CPB_OVERRUN, CPB_READ,
  CPB_DROPPED_EVENTS, CPB_PAGES_LOST, CPB_LAST_OVERRUN, CPB_LOST_EVENTS, CPB_COMMIT_OVERRUN,
  CPB_NR_LOOPS_WARN, RB_MISSED_EVENTS, RB_MISSED_STORED,
} from "../abi";
import { rbReadPage, rbEntriesCpu, rbBytesCpu, rbEmptyCpu } from "../ring_buffer";
import {
  setup, TB, SLOT, SPARE_PAGE, PAGE_SIZE, BSIZE, pageAt, cb64, writeSeq, writeN, publish, consume,
  rdSeq, rdLost, rdMatches, allBytes,
} from "./fixture";

const MISSED_EVENTS: u32 = <u32>RB_MISSED_EVENTS;
const MISSED_STORED: u32 = <u32>RB_MISSED_STORED;

describe("overwrite mode", () => {
  it("wrapping a 4-page buffer overruns whole pages", () => {
    setup(4, RB_FL_OVERWRITE);
    expect<i32>(writeN(200, 100)).toBe(100);
    publish();
    expect<u64>(cb64(CPB_ENTRIES)).toBe(100);
    expect<u64>(cb64(CPB_OVERRUN)).toBe(38);
    expect<u64>(cb64(CPB_PAGES_LOST)).toBe(2);
    expect<u64>(cb64(CPB_READ)).toBe(0);
    expect<u64>(cb64(CPB_DROPPED_EVENTS)).toBe(0);
    expect<u64>(cb64(CPB_COMMIT_OVERRUN)).toBe(0);
    // entries = written - overrun - read
    expect<u64>(rbEntriesCpu(TB, 0)).toBe(62);
    // pages 2 and 3 (full), page 0 (full), 5 events on page 1
    expect<u64>(rbBytesCpu(TB, 0)).toBe(3 * 4080 + 5 * 208);
  });

  it("the consumer reports the lost events with the first event after them", () => {
    setup(4, RB_FL_OVERWRITE);
    writeN(200, 100);
    publish();
    expect<i32>(consume()).toBe(1);
    expect<u32>(rdSeq()).toBe(38);
    expect<u64>(rdLost()).toBe(38);
    expect<bool>(rdMatches(200, 38)).toBe(true);
    expect<u64>(cb64(CPB_LAST_OVERRUN)).toBe(38);
    for (let i: u32 = 39; i < 100; i++) {
      expect<i32>(consume()).toBe(1, "consume " + i.toString());
      expect<u32>(rdSeq()).toBe(i);
      expect<u64>(rdLost()).toBe(0, "no more lost events at " + i.toString());
    }
    expect<i32>(consume()).toBe(0);
    expect<u64>(cb64(CPB_READ)).toBe(62);
    expect<u64>(rbEntriesCpu(TB, 0)).toBe(0);
    expect<u64>(rbBytesCpu(TB, 0)).toBe(0);
    expect<bool>(rbEmptyCpu(TB, 0)).toBe(true);
    expect<u64>(cb64(CPB_NR_LOOPS_WARN)).toBe(0);
  });

  it("reading keeps up: no overrun while the reader frees pages", () => {
    setup(4, RB_FL_OVERWRITE);
    let next: u32 = 0;
    let seq: u32 = 0;
    for (let round = 0; round < 10; round++) {
      writeN(200, 30, seq);
      seq += 30;
      publish();
      while (consume() == 1) {
        expect<u32>(rdSeq()).toBe(next);
        expect<u64>(rdLost()).toBe(0);
        next++;
      }
    }
    expect<u32>(next).toBe(300);
    expect<u64>(cb64(CPB_OVERRUN)).toBe(0);
    expect<u64>(cb64(CPB_READ)).toBe(300);
    expect<u64>(rbEntriesCpu(TB, 0)).toBe(0);
  });
});

describe("producer/consumer mode", () => {
  it("writes fail when the buffer is full and dropped_events counts them", () => {
    setup(4, 0);
    let ok = 0;
    for (let i = 0; i < 100; i++) {
      const r = writeSeq(200, <u32>i);
      if (i < 76) expect<i32>(r).toBe(0, "write " + i.toString());
      else expect<i32>(r).toBe(-16, "write " + i.toString());
      if (r == 0) ok++;
    }
    publish();
    expect<i32>(ok).toBe(76);
    expect<u64>(cb64(CPB_DROPPED_EVENTS)).toBe(24);
    expect<u64>(cb64(CPB_OVERRUN)).toBe(0);
    expect<u64>(cb64(CPB_ENTRIES)).toBe(76);
    expect<u64>(rbEntriesCpu(TB, 0)).toBe(76);
    // four pages of 19 events and their padding (the last page padded by the first refused event)
    expect<u64>(rbBytesCpu(TB, 0)).toBe(4 * 4080);
    // nothing was lost: the oldest event is still the first one
    expect<i32>(consume()).toBe(1);
    expect<u32>(rdSeq()).toBe(0);
    expect<u64>(rdLost()).toBe(0);
  });

  it("once the reader frees a page, writes succeed again", () => {
    setup(4, 0);
    writeN(200, 100);
    publish();
    for (let i: u32 = 0; i < 19; i++) {
      expect<i32>(consume()).toBe(1);
      expect<u32>(rdSeq()).toBe(i);
    }
    expect<i32>(writeSeq(200, 1000)).toBe(0);
    publish();
    expect<u64>(cb64(CPB_DROPPED_EVENTS)).toBe(24);
    expect<u64>(cb64(CPB_ENTRIES)).toBe(77);
    expect<u64>(rbEntriesCpu(TB, 0)).toBe(58);
    for (let i: u32 = 19; i < 76; i++) {
      expect<i32>(consume()).toBe(1);
      expect<u32>(rdSeq()).toBe(i);
    }
    expect<i32>(consume()).toBe(1);
    expect<u32>(rdSeq()).toBe(1000);
    expect<i32>(consume()).toBe(0);
  });
});

describe("ring_buffer_read_page and lost events", () => {
  it("RB_MISSED_EVENTS and RB_MISSED_STORED with the count after the data", () => {
    setup(4, RB_FL_OVERWRITE);
    writeN(200, 100);
    publish();
    memory.fill(SPARE_PAGE, 0xaa, PAGE_SIZE);
    expect<i32>(rbReadPage(TB, 0, SLOT, PAGE_SIZE, false)).toBe(0);
    // page 2 (the oldest left) was swapped out: 19 events, commit = real_end 3952
    expect<u32>(load<u32>(SLOT)).toBe(<u32>pageAt(2));
    const page = pageAt(2);
    const commit = <u32>load<u64>(page + BDP_COMMIT);
    expect<u32>(commit).toBe(3952 | MISSED_STORED | MISSED_EVENTS);
    expect<u64>(load<u64>(page + BDP_DATA + 3952)).toBe(38);
    expect<bool>(allBytes(page + BDP_DATA + 3960, BSIZE - 3960, 0)).toBe(true);
    // event 38 is the 39th event; the page moves before events 19 and 38 each read the clock once more
    expect<u64>(load<u64>(page + BDP_TIME_STAMP)).toBe(41000);
    expect<u32>(load<u32>(page + BDP_DATA + 8)).toBe(38); // type_len 0: data after array[0]
    expect<u64>(cb64(CPB_LOST_EVENTS)).toBe(0);
    // the next page has no lost events before it
    store<u32>(SLOT, <u32>SPARE_PAGE);
    expect<i32>(rbReadPage(TB, 0, SLOT, PAGE_SIZE, false)).toBe(0);
    expect<u32>(load<u32>(SLOT)).toBe(<u32>pageAt(3));
    expect<u32>(<u32>load<u64>(pageAt(3) + BDP_COMMIT)).toBe(3952);
    expect<u64>(cb64(CPB_READ)).toBe(38);
  });

  it("no room after a full page: RB_MISSED_EVENTS alone", () => {
    setup(4, RB_FL_OVERWRITE);
    // one max-size event per page: every page exactly full (real_end 0)
    expect<i32>(writeN(4072, 6)).toBe(6);
    publish();
    expect<u64>(cb64(CPB_OVERRUN)).toBe(2);
    expect<i32>(rbReadPage(TB, 0, SLOT, PAGE_SIZE, false)).toBe(0);
    expect<u32>(load<u32>(SLOT)).toBe(<u32>pageAt(2));
    expect<u32>(<u32>load<u64>(pageAt(2) + BDP_COMMIT)).toBe(BSIZE | MISSED_EVENTS);
    expect<u32>(load<u32>(pageAt(2) + BDP_DATA + 8)).toBe(2);
  });

  it("the copy path reports lost events too", () => {
    setup(4, RB_FL_OVERWRITE);
    writeN(200, 100);
    publish();
    // consume one event: the page is partially read, so read_page copies
    expect<i32>(consume()).toBe(1);
    expect<u64>(rdLost()).toBe(38);
    // the consumer took the lost count; read_page does not report it again
    expect<i32>(rbReadPage(TB, 0, SLOT, PAGE_SIZE, false)).toBe(0);
    const commit = <u32>load<u64>(SPARE_PAGE + BDP_COMMIT);
    expect<u32>(commit).toBe(18 * 208 + 128);
  });
});
