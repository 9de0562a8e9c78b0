// Event encodings (struct ring_buffer_event): rb_calculate_event_length, rb_update_event's header word,
// rb_event_data, ring_buffer_event_length, and payloads through ring_buffer_write + ring_buffer_consume.
// Expected values follow the kernel's rules (RB_ALIGNMENT 4, RB_MAX_SMALL_DATA 112, no forced 8-byte
// alignment), computed by hand.
import {
  RB_FL_OVERWRITE, BP_WRITE, BP_ENTRIES, CPB_ENTRIES, CPB_ENTRIES_BYTES, CPB_NR_LOOPS_WARN,
} from "../abi";
import {
  rbCalculateEventLength, rbLockReserve, rbUnlockCommit, rbEventData, rbWrite, rbPeek,
} from "../ring_buffer";
import {
  setup, TB, CB, SRC, OUT, OUT_CAP, MAX_DATA, bpAt, bpData, typeLenAt, deltaAt, array0At, cb64, writeSeq, publish,
  consume, rdTs, rdLost, rdLength, rdTypeLen, rdMatches,
} from "./fixture";

describe("rb_calculate_event_length", () => {
  it("zero length counts as one byte", () => {
    expect<u32>(rbCalculateEventLength(0)).toBe(8);
  });

  it("small payloads: 4-byte header, rounded up to 4", () => {
    expect<u32>(rbCalculateEventLength(1)).toBe(8);
    expect<u32>(rbCalculateEventLength(3)).toBe(8);
    expect<u32>(rbCalculateEventLength(4)).toBe(8);
    expect<u32>(rbCalculateEventLength(16)).toBe(20);
    expect<u32>(rbCalculateEventLength(100)).toBe(104);
    expect<u32>(rbCalculateEventLength(112)).toBe(116);
  });

  it("never 12 bytes (RB_LEN_TIME_EXTEND + RB_ALIGNMENT): 5..8 give 16", () => {
    expect<u32>(rbCalculateEventLength(5)).toBe(16);
    expect<u32>(rbCalculateEventLength(8)).toBe(16);
    expect<u32>(rbCalculateEventLength(9)).toBe(16);
    expect<u32>(rbCalculateEventLength(12)).toBe(16);
    expect<u32>(rbCalculateEventLength(13)).toBe(20);
  });

  it("above RB_MAX_SMALL_DATA the length moves to array[0] (4 more bytes)", () => {
    expect<u32>(rbCalculateEventLength(113)).toBe(124);
    expect<u32>(rbCalculateEventLength(116)).toBe(124);
    expect<u32>(rbCalculateEventLength(117)).toBe(128);
    expect<u32>(rbCalculateEventLength(200)).toBe(208);
    expect<u32>(rbCalculateEventLength(4072)).toBe(4080);
  });
});

// One reserved event of `len` bytes on a fresh buffer: it is the first event of the first page.
function checkHeader(len: u32, evLen: u32, typeLen: u32, array0: u32, dataOff: u32): void {
  setup(4, RB_FL_OVERWRITE);
  const page = bpData(bpAt(0));
  const ev = rbLockReserve(TB, len);
  expect<usize>(ev).toBe(page, "event at offset 0 of the first page, len " + len.toString());
  expect<u32>(typeLenAt(ev)).toBe(typeLen, "type_len, len " + len.toString());
  expect<u32>(deltaAt(ev)).toBe(0, "first event of a page: time_delta 0");
  if (typeLen == 0) expect<u32>(array0At(ev)).toBe(array0, "array[0], len " + len.toString());
  expect<usize>(rbEventData(ev) - ev).toBe(dataOff, "rb_event_data offset, len " + len.toString());
  publish(); // the writer's cached write index goes back to the page
  expect<u32>(load<u32>(bpAt(0), BP_WRITE)).toBe(evLen, "page write after reserve, len " + len.toString());
  rbUnlockCommit(TB);
  publish();
  expect<u32>(load<u32>(bpAt(0), BP_ENTRIES)).toBe(1);
  expect<u64>(cb64(CPB_ENTRIES)).toBe(1);
  expect<u64>(cb64(CPB_ENTRIES_BYTES)).toBe(<u64>evLen, "entries_bytes, len " + len.toString());
}

describe("rb_update_event: header word of a data event", () => {
  // type_len = DIV_ROUND_UP(event length - 4, 4) while that is <= 112, else 0 and array[0] = event
  // length - 4 (which includes array[0] itself)
  it("0 bytes: 8-byte event, type_len 1", () => {
    checkHeader(0, 8, 1, 0, 4);
  });
  it("1 byte: 8-byte event, type_len 1", () => {
    checkHeader(1, 8, 1, 0, 4);
  });
  it("4 bytes: 8-byte event, type_len 1", () => {
    checkHeader(4, 8, 1, 0, 4);
  });
  it("8 bytes: 16-byte event (12 -> 16 rule), type_len 3", () => {
    checkHeader(8, 16, 3, 0, 4);
  });
  it("16 bytes: 20-byte event, type_len 4", () => {
    checkHeader(16, 20, 4, 0, 4);
  });
  it("112 bytes: 116-byte event, type_len 28 (RINGBUF_TYPE_DATA_TYPE_LEN_MAX)", () => {
    checkHeader(112, 116, 28, 0, 4);
  });
  it("113 bytes: 124-byte event, type_len 0, array[0] 120, data after array[0]", () => {
    checkHeader(113, 124, 0, 120, 8);
  });
  it("200 bytes: 208-byte event, type_len 0, array[0] 204", () => {
    checkHeader(200, 208, 0, 204, 8);
  });
  it("max_data_size (4072): a whole sub-buffer, type_len 0, array[0] 4076", () => {
    checkHeader(MAX_DATA, 4080, 0, 4076, 8);
  });

  it("consecutive events are packed at their event lengths", () => {
    setup(4, RB_FL_OVERWRITE);
    const page = bpData(bpAt(0));
    expect<i32>(writeSeq(1, 0)).toBe(0);
    expect<i32>(writeSeq(8, 1)).toBe(0);
    expect<i32>(writeSeq(200, 2)).toBe(0);
    expect<i32>(writeSeq(16, 3)).toBe(0);
    publish();
    // stamps 1000, 2000, 3000, 4000: each event carries 1000 from the one before it, no extends
    expect<u32>(load<u32>(page)).toBe(1, "word at 0: type_len 1, delta 0");
    expect<u32>(load<u32>(page + 8)).toBe(3 | (1000 << 5), "word at 8: type_len 3, delta 1000");
    expect<u32>(load<u32>(page + 24)).toBe(0 | (1000 << 5), "word at 24: type_len 0, delta 1000");
    expect<u32>(array0At(page + 24)).toBe(204);
    expect<u32>(load<u32>(page + 232)).toBe(4 | (1000 << 5), "word at 232: type_len 4, delta 1000");
    expect<u32>(load<u32>(bpAt(0), BP_WRITE)).toBe(252);
  });
});

describe("ring_buffer_write + ring_buffer_consume round trip", () => {
  it("payload, ring_buffer_event_length, type_len and stamp of each event", () => {
    setup(4, RB_FL_OVERWRITE);
    const lens: u32[] = [0, 1, 4, 8, 16, 112, 113, 200, 4072];
    // ring_buffer_event_length(): the payload rounded up to 4 (at least 4; 12 -> 16 gives 12 for 8)
    const rdLens: u32[] = [4, 4, 4, 12, 16, 112, 116, 200, 4072];
    const typeLens: u32[] = [1, 1, 1, 3, 4, 28, 0, 0, 0];
    // one clock read per event; the last one does not fit on the first page (508 bytes used), so its
    // first reservation is retried on the next page with a second reading
    const stamps: u64[] = [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 10000];
    for (let i = 0; i < lens.length; i++) {
      expect<i32>(writeSeq(lens[i], <u32>i)).toBe(0, "write " + i.toString());
    }
    publish();
    for (let i = 0; i < lens.length; i++) {
      expect<i32>(consume()).toBe(1, "consume " + i.toString());
      expect<u32>(rdLength()).toBe(rdLens[i], "length " + i.toString());
      expect<u32>(rdTypeLen()).toBe(typeLens[i], "type_len " + i.toString());
      expect<u64>(rdTs()).toBe(stamps[i], "stamp " + i.toString());
      expect<u64>(rdLost()).toBe(0);
      expect<bool>(rdMatches(lens[i], <u32>i)).toBe(true, "payload " + i.toString());
    }
    expect<i32>(consume()).toBe(0);
    expect<u64>(cb64(CPB_NR_LOOPS_WARN)).toBe(0);
  });

  it("ring_buffer_peek returns the next event without consuming it", () => {
    setup(4, RB_FL_OVERWRITE);
    writeSeq(16, 5);
    writeSeq(16, 6);
    publish();
    expect<i32>(rbPeek(TB, 0, OUT, OUT_CAP)).toBe(1);
    expect<bool>(rdMatches(16, 5)).toBe(true);
    expect<u64>(rdTs()).toBe(1000);
    expect<i32>(rbPeek(TB, 0, OUT, OUT_CAP)).toBe(1);
    expect<bool>(rdMatches(16, 5)).toBe(true);
    expect<i32>(consume()).toBe(1);
    expect<bool>(rdMatches(16, 5)).toBe(true);
    expect<i32>(rbPeek(TB, 0, OUT, OUT_CAP)).toBe(1);
    expect<bool>(rdMatches(16, 6)).toBe(true);
    expect<u64>(rdTs()).toBe(2000);
    expect<i32>(consume()).toBe(1);
    expect<i32>(rbPeek(TB, 0, OUT, OUT_CAP)).toBe(0);
  });

  it("refuses more than max_data_size", () => {
    setup(4, RB_FL_OVERWRITE);
    expect<i32>(rbWrite(TB, MAX_DATA + 1, SRC)).toBe(-16);
    expect<usize>(rbLockReserve(TB, MAX_DATA + 1)).toBe(0);
    publish();
    expect<u64>(cb64(CPB_ENTRIES)).toBe(0);
    expect<u32>(load<u32>(bpAt(0), BP_WRITE)).toBe(0);
    expect<i32>(rbWrite(TB, MAX_DATA, SRC)).toBe(0);
    publish();
    expect<u64>(cb64(CPB_ENTRIES)).toBe(1);
    // the refused writes left nothing behind: the writer is not stuck in a context
    expect<i32>(writeSeq(16, 1)).toBe(0);
  });
});
