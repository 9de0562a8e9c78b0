// The benchmark's references, measured in the same run as the kernel-faithful paths: a fixed workload
// for calibrating machine speed, and floors that move the same bytes as the ring buffer without its
// bookkeeping, so the distance to what the machine allows is visible on every machine.
import {
  BDP_COMMIT, BDP_DATA, FLOOR_PIPE_PRODUCED, FLOOR_PIPE_CONSUMED, FLOOR_PIPE_PAGE_SIZE, FLOOR_PIPE_NR_PAGES,
  FLOOR_PIPE_RING, RES_WRITTEN, RES_FAILED, RES_PAGES,
} from "./abi";
import { thisCpu } from "./cpu";
import { attentionStop } from "./ring_buffer";
import { copyBytes } from "./mem";

const CHUNK: u32 = 1024;

// xorshift32 stored round a 1 KiB scratch: integer work plus stores, no calls, no atomics. Its speed
// depends on the machine and the Wasm engine only, never on ringtrace's code.
export function calibrationLoop(scratch: usize, n: u32): u32 {
  let x: u32 = 0x9e3779b9;
  for (let i: u32 = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    store<u32>(scratch + ((i & 255) << 2), x);
  }
  return x;
}

// an event header of the sub-buffer format for a small data event: type_len = payload words, delta 0
@inline function floorEventLength(size: u32): u32 {
  return 4 + ((size + 3) & ~3);
}

// the payload the benchmark's writer stores (benchChunk): its count and CPU in the first 16 bytes
@inline function floorPayload(data: usize, size: u32, n: u32): void {
  if (size >= 16) {
    store<u64>(data, <u64>n);
    store<u64>(data, <u64>thisCpu, 8);
  } else {
    memory.fill(data, <u8>n, size);
  }
}

@inline function add64(p: usize, v: u64): void {
  store<u64>(p, load<u64>(p) + v);
}

// ring.write.floor: the header and payload of every event bump-written into one page, starting over
// at its end; no clock, no reserve/commit, no counters.
export function floorWrite(page: usize, pageSize: u32, size: u32, res: usize): void {
  const len = floorEventLength(size);
  const end = page + pageSize;
  let pos = page + BDP_DATA;
  let n: u64 = 0;
  while (!attentionStop()) {
    for (let i: u32 = 0; i < CHUNK; i++) {
      if (pos + len > end) pos = page + BDP_DATA;
      store<u32>(pos, (size + 3) >> 2);
      floorPayload(pos + 4, size, <u32>n);
      pos += len;
      n++;
    }
  }
  add64(res + RES_WRITTEN, n);
}

// ring.pipe.floor, producer: fill a page, then hand it over with one release store of the page count;
// when the consumer is a whole ring behind, the page's events are dropped and the page refilled.
export function floorPipeWrite(area: usize, size: u32, res: usize): void {
  const len = floorEventLength(size);
  const pageSize = load<u32>(area, FLOOR_PIPE_PAGE_SIZE);
  const nrPages = load<u32>(area, FLOOR_PIPE_NR_PAGES);
  let produced = atomic.load<u32>(area, FLOOR_PIPE_PRODUCED);
  let page = area + FLOOR_PIPE_RING + (produced % nrPages) * pageSize;
  let pos: u32 = BDP_DATA;
  let pending: u32 = 0;
  let written: u64 = 0;
  let dropped: u64 = 0;
  while (!attentionStop()) {
    for (let i: u32 = 0; i < CHUNK; i++) {
      if (pos + len > pageSize) {
        store<u32>(page, pos - BDP_DATA, BDP_COMMIT);
        if (produced - atomic.load<u32>(area, FLOOR_PIPE_CONSUMED) < nrPages) {
          atomic.store<u32>(area, ++produced, FLOOR_PIPE_PRODUCED);
          written += pending;
          page = area + FLOOR_PIPE_RING + (produced % nrPages) * pageSize;
        } else {
          dropped += pending;
        }
        pos = BDP_DATA;
        pending = 0;
      }
      store<u32>(page + pos, (size + 3) >> 2);
      floorPayload(page + pos + 4, size, pending);
      pos += len;
      pending++;
    }
  }
  add64(res + RES_WRITTEN, written);
  add64(res + RES_FAILED, dropped);
}

// ring.pipe.floor, consumer: take each handed-over page, copy it out whole (as ring_buffer_read_page
// swaps a page out) and walk its events.
export function floorPipeRead(area: usize, spare: usize, res: usize): void {
  const pageSize = load<u32>(area, FLOOR_PIPE_PAGE_SIZE);
  const nrPages = load<u32>(area, FLOOR_PIPE_NR_PAGES);
  let consumed = atomic.load<u32>(area, FLOOR_PIPE_CONSUMED);
  let events: u64 = 0;
  let pages: u64 = 0;
  while (!attentionStop()) {
    if (atomic.load<u32>(area, FLOOR_PIPE_PRODUCED) == consumed) continue;
    copyBytes(spare, area + FLOOR_PIPE_RING + (consumed % nrPages) * pageSize, pageSize);
    atomic.store<u32>(area, ++consumed, FLOOR_PIPE_CONSUMED);
    const commit = load<u32>(spare, BDP_COMMIT);
    let pos: u32 = 0;
    while (pos < commit) {
      pos += 4 + ((load<u32>(spare + BDP_DATA + pos) & 31) << 2);
      events++;
    }
    pages++;
  }
  add64(res + RES_WRITTEN, events);
  add64(res + RES_PAGES, pages);
}
