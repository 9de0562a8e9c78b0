// The TypeScript twin (src/twin/ring-ts.ts) writes the kernel's sub-buffer format: its pages are decoded
// here with the kernel's rules alone (u64 time_stamp, u64 commit, events of type_len:5 / time_delta:27),
// and for the same events they are byte for byte the pages the Wasm writer produces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TwinRing, TwinWriter } from '../src/twin/ring-ts.ts';
import { createMachine } from '../src/index.ts';
import { abi } from '../src/layout.ts';

// ---- a small decoder written from the kernel's format (events/header_page, events/header_event)

interface Decoded {
  ts: number;
  data: Uint8Array; // the payload, as ring_buffer_event_length() reports it (4-byte aligned)
}

interface DecodedPage {
  pageTs: number;
  commit: number;
  events: Decoded[];
  paddingBytes: number;
}

function decodePage(page: Uint8Array, subbufSize: number): DecodedPage {
  const dv = new DataView(page.buffer, page.byteOffset, page.byteLength);
  const pageTs = dv.getUint32(0, true) + dv.getUint32(4, true) * 2 ** 32;
  const commit = dv.getUint32(8, true) & 0xfffff; // low bits: the flags live in bits 30 and 31
  const events: Decoded[] = [];
  let ts = pageTs;
  let pos = 16;
  let paddingBytes = 0;
  const end = 16 + commit;
  assert.ok(end <= subbufSize, `commit ${commit} beyond the sub-buffer`);
  while (pos < end) {
    const hdr = dv.getUint32(pos, true);
    const typeLen = hdr & 31;
    const delta = hdr >>> 5;
    if (typeLen === 29) {
      // padding: a null event (delta 0) ends the page, else array[0] is its length after the header
      if (delta === 0) {
        paddingBytes += end - pos;
        break;
      }
      const len = dv.getUint32(pos + 4, true) + 4;
      paddingBytes += len;
      pos += len;
    } else if (typeLen === 30) {
      ts += dv.getUint32(pos + 4, true) * 2 ** 27 + delta;
      pos += 8;
    } else if (typeLen === 31) {
      ts = dv.getUint32(pos + 4, true) * 2 ** 27 + delta;
      pos += 8;
    } else if (typeLen === 0) {
      ts += delta;
      const len = dv.getUint32(pos + 4, true) - 4; // array[0] counts itself
      events.push({ ts, data: page.slice(pos + 8, pos + 8 + len) });
      pos += 8 + len;
    } else {
      ts += delta;
      const len = typeLen * 4;
      events.push({ ts, data: page.slice(pos + 4, pos + 4 + len) });
      pos += 4 + len;
    }
  }
  return { pageTs, commit, events, paddingBytes };
}

// The data pages of one per-CPU buffer in ring order, oldest first: from the page whose predecessor
// carries the HEAD flag. Works on the twin's SharedArrayBuffer and on the machine's shared memory alike,
// since both use the struct layout of assembly/abi.ts.
function ringPages(u8: Uint8Array, cb: number, subbufSize: number): Uint8Array[] {
  const u32 = new Uint32Array(u8.buffer, 0, u8.byteLength >> 2);
  const first = u32[(cb + abi.CPB_PAGES) >> 2];
  let head = 0;
  let bp = first;
  do {
    const next = u32[(bp + abi.BP_NEXT) >> 2];
    if ((next & 3) === abi.RB_PAGE_HEAD) head = next & ~3;
    bp = next & ~3;
  } while (bp !== first);
  assert.ok(head, 'no HEAD flag in the ring');
  const out: Uint8Array[] = [];
  bp = head;
  do {
    const page = u32[(bp + abi.BP_PAGE) >> 2];
    out.push(u8.slice(page, page + subbufSize));
    bp = u32[(bp + abi.BP_NEXT) >> 2] & ~3;
  } while (bp !== head);
  return out;
}

function decodeRing(ring: TwinRing, cpu = 0): DecodedPage[] {
  return ringPages(ring.u8, ring.cpuBuffer(cpu), ring.subbufSize).map((p) => decodePage(p, ring.subbufSize));
}

// deterministic sizes and payloads
function* sizes(seed: number, n: number, max: number): Generator<number> {
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    yield 1 + ((x >>> 0) % max);
  }
}

function payload(i: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let k = 0; k < size; k++) b[k] = (i * 7 + k) & 0xff;
  return b;
}

function expectedData(i: number, size: number): Uint8Array {
  // the payload as a reader sees it: rounded up to 4 bytes, the rest zero (fresh pages)
  const b = new Uint8Array((size + 3) & ~3);
  b.set(payload(i, size));
  return b;
}

test('twin: events decode with the kernel format rules (counter clock, small and large events, page padding)', () => {
  const ring = new TwinRing({ overwrite: false });
  const w = new TwinWriter(ring, 0);
  const list = [...sizes(12345, 3000, 200)];
  list.forEach((size, i) => assert.ok(w.write(payload(i, size)), `event ${i} not recorded`));
  w.sessionEnd();
  const pages = decodeRing(ring).filter((p) => p.commit > 0);
  const events = pages.flatMap((p) => p.events);
  assert.equal(events.length, list.length);
  events.forEach((ev, i) => {
    // the counter clock hands out 1, 2, 3, ...; a reserve that finds its page full has taken a stamp
    // before it moves the tail and tries again (__rb_reserve_next), so a page's first event skips one
    if (i > 0) assert.ok(ev.ts === events[i - 1].ts + 1 || ev.ts === events[i - 1].ts + 2, `stamp of event ${i}`);
    // rb_calculate_event_length(): 4-byte aligned, and never a 12-byte event (8 bytes of data become 12)
    const size = list[i];
    const expectLen = size <= 4 ? 4 : size <= 8 ? 12 : (size + 3) & ~3;
    assert.equal(ev.data.length, expectLen, `length of event ${i} (${size} bytes)`);
    assert.deepEqual(ev.data.subarray(0, size), payload(i, size), `payload of event ${i}`);
  });
  assert.equal(events[0].ts, 1);
  assert.equal(events.at(-1)!.ts, list.length + pages.length - 1);
  // every page but the last is finished: its commit covers the sub-buffer, padding included
  assert.ok(pages.some((p) => p.paddingBytes > 0), 'pages end in padding');
  for (const p of pages.slice(0, -1)) {
    // rb_reset_tail(): with less than RB_EVNT_MIN_SIZE left, a null event marks the end, outside commit
    assert.ok(p.commit > ring.subbufSize - 16 - 8, `a finished page commits (almost) the whole sub-buffer: ${p.commit}`);
    assert.equal(p.pageTs, p.events[0].ts, 'page time_stamp is its first event\'s stamp');
  }
  assert.ok(pages.length > 10);
  const st = ring.stats(0);
  assert.equal(st.entries, list.length);
  assert.equal(st.overrun, 0);
  assert.equal(st.droppedEvents, 0);
});

test('twin: a clock jump beyond 27 bits is recorded with a time extend', () => {
  const stamps = [1000, 1001, 1001 + 2 ** 27 + 5, 1001 + 2 ** 27 + 6, 2 ** 40 + 3, 2 ** 40 + 4];
  let i = 0;
  const ring = new TwinRing({ clock: () => stamps[i++] });
  const w = new TwinWriter(ring, 0);
  for (let k = 0; k < stamps.length; k++) assert.ok(w.write(payload(k, 16)));
  w.sessionEnd();
  const [page] = decodeRing(ring);
  assert.deepEqual(page.events.map((e) => e.ts), stamps);
  // two time extends (8 bytes each) in the page's bytes
  assert.equal(page.commit, stamps.length * 20 + 2 * 8);
});

test('twin: overwrite mode pushes the head page; entries = overrun + what the ring still holds', () => {
  const ring = new TwinRing({ sizeBytes: 4 * 4080, overwrite: true });
  const w = new TwinWriter(ring, 0);
  const n = 5000;
  for (let i = 0; i < n; i++) assert.ok(w.write(payload(i, 24)));
  w.sessionEnd();
  const st = ring.stats(0);
  assert.equal(st.entries, n);
  assert.ok(st.overrun > 0, 'something was overwritten');
  const events = decodeRing(ring).flatMap((p) => p.events);
  assert.equal(st.overrun + events.length, n);
  // what is left is the newest events, in order, ending with the last one written
  events.forEach((ev, k) => assert.deepEqual(ev.data, expectedData(n - events.length + k, 24)));
  for (let k = 1; k < events.length; k++) assert.ok(events[k].ts > events[k - 1].ts);
  assert.deepEqual(events.at(-1)!.data, expectedData(n - 1, 24));
  assert.equal(st.warnings, 0);
});

test('twin: producer/consumer mode drops new events when full and counts them', () => {
  const ring = new TwinRing({ sizeBytes: 4 * 4080, overwrite: false });
  const w = new TwinWriter(ring, 0);
  let recorded = 0;
  const n = 5000;
  for (let i = 0; i < n; i++) if (w.write(payload(i, 24))) recorded++;
  w.sessionEnd();
  const st = ring.stats(0);
  assert.equal(st.entries, recorded);
  assert.equal(st.droppedEvents, n - recorded);
  assert.equal(st.overrun, 0);
  const events = decodeRing(ring).flatMap((p) => p.events);
  assert.equal(events.length, recorded);
  // the oldest events are the ones kept
  events.forEach((ev, k) => assert.deepEqual(ev.data, expectedData(k, 24)));
});

test('twin: the same events give byte-identical sub-buffers in the twin and in the Wasm writer', async () => {
  const m = await createMachine({ cpus: 1, clock: 'counter', overwrite: false });
  try {
    const list = [...sizes(777, 2500, 300)];
    const writer = m.attachWriter(0);
    try {
      list.forEach((size, i) => assert.ok(writer.write(payload(i, size))));
    } finally {
      writer.release();
    }
    const ring = new TwinRing({ overwrite: false, sizeBytes: m.buffer.sizeOf(0) });
    const w = new TwinWriter(ring, 0);
    list.forEach((size, i) => assert.ok(w.write(payload(i, size))));
    w.sessionEnd();

    const mem = m.machine.mem;
    mem.refresh();
    const wasmPages = ringPages(mem.u8, m.buffer.cpuBuffer(0), m.buffer.subbufSize);
    const twinPages = ringPages(ring.u8, ring.cpuBuffer(0), ring.subbufSize);
    assert.equal(twinPages.length, wasmPages.length);
    let compared = 0;
    for (let p = 0; p < wasmPages.length; p++) {
      const a = decodePage(wasmPages[p], m.buffer.subbufSize);
      const b = decodePage(twinPages[p], ring.subbufSize);
      assert.equal(b.commit, a.commit, `commit of page ${p}`);
      const used = 16 + a.commit;
      assert.deepEqual(twinPages[p].subarray(0, used), wasmPages[p].subarray(0, used), `bytes of page ${p}`);
      if (a.commit) compared++;
    }
    assert.ok(compared > 10, `compared ${compared} pages`);
    assert.equal(ring.stats(0).entries, m.buffer.written(0));
  } finally {
    await m.close();
  }
});
