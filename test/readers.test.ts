// Readers against an independent decoder: pages from ring_buffer_read_page() (TraceBuffer.readPage)
// decoded by test/decode.ts (written from events/header_page and events/header_event only) agree with
// what ring_buffer_consume() and the non-consuming iterator report for the same events; both paths of
// ring_buffer_read_page() (swap of a whole reader page, copy of a partly read page); RB_MISSED_EVENTS /
// RB_MISSED_STORED after an overrun; the merged iterator's order; the kernel's counters.
//
// The virtual clock makes stamps reproducible: every clock reading on a CPU advances that CPU's clock
// by virtualStepNs (1000 by default), so identical workloads on two CPUs of a fresh machine produce
// identical stamps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Workload, type RingMachine, type TraceEvent } from '../src/index.ts';
import { decodePage, dataEvents, checkItem, type DecodedPage } from './decode.ts';
import { withMachine } from './helpers.ts';

const PAGE = 4096;
const DATA = PAGE - 16; // BUF_PAGE_SIZE for 4 KiB sub-buffers
const EV24 = 28; // a 24-byte payload: 4-byte header + 24 (rb_calculate_event_length)
const PER_PAGE24 = Math.floor(DATA / EV24); // 145 events, then 20 bytes of padding

type Ev = { ts: number; data: Uint8Array };

function seqOf(data: Uint8Array): number {
  return new DataView(data.buffer, data.byteOffset).getUint32(4, true);
}

function assertItems(events: Ev[], cpu: number): void {
  for (const e of events) {
    const r = checkItem(e.data, cpu);
    assert.equal(typeof r, 'object', `payload does not verify: ${r as string}`);
  }
}

// Same stamps and same bytes, event by event.
function assertSameEvents(actual: Ev[], expected: Ev[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} events, expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    assert.equal(actual[i].ts, expected[i].ts, `${what}: event ${i} stamp`);
    assert.deepEqual(actual[i].data, expected[i].data, `${what}: event ${i} payload`);
  }
}

function readAllPages(m: RingMachine, cpu: number): DecodedPage[] {
  const pages: DecodedPage[] = [];
  for (let p = m.buffer.readPage(cpu); p; p = m.buffer.readPage(cpu)) {
    assert.equal(p.byteLength, PAGE);
    const d = decodePage(p);
    // "This page may be off to user land. Zero it out here." (ring_buffer_read_page)
    const end = 16 + d.commit + (d.missedStored ? 8 : 0);
    assert.ok(p.subarray(end).every((b) => b === 0), 'the page is zeroed after its data');
    pages.push(d);
    assert.ok(pages.length < 10000, 'readPage never runs dry');
  }
  return pages;
}

function consumeAll(m: RingMachine, cpu: number): TraceEvent[] {
  const out: TraceEvent[] = [];
  for (let e = m.buffer.consume(cpu); e; e = m.buffer.consume(cpu)) out.push(e);
  return out;
}

test('read_page: swapped full pages and the last partial page decode to what iterate and consume report', async () => {
  await withMachine({ cpus: 2, clock: 'virtual', bufferSizeKb: 64 }, async (m) => {
    const n = PER_PAGE24 * 3 + 40;
    // the same workload on both CPUs of a fresh machine: the same stamps, the same sequence numbers
    const [r0, r1] = await Promise.all([0, 1].map((cpu) => m.run(cpu, new Workload().write({ size: 24, count: n }))));
    assert.equal(r0.written, n);
    assert.equal(r1.written, n);

    const it0 = [...m.buffer.iterate(0)];
    const it1 = [...m.buffer.iterate(1)];
    assert.equal(it0.length, n);
    assertItems(it0, 0);
    assertItems(it1, 1);
    assert.deepEqual(it0.map((e) => e.ts), it1.map((e) => e.ts));
    for (let i = 1; i < n; i++) assert.ok(it0[i].ts > it0[i - 1].ts, 'stamps increase');

    // CPU 0 page by page
    const pages = readAllPages(m, 0);
    assert.equal(pages.length, 4);
    for (let i = 0; i < 3; i++) {
      const pg = pages[i];
      // the swap path hands out the ring's own page: its commit is real_end, the end of the last
      // event, without the padding that fills the rest of the sub-buffer
      assert.equal(pg.commit, PER_PAGE24 * EV24, `page ${i} commit`);
      assert.equal(pg.missedEvents, false);
      assert.equal(pg.missedStored, false);
      assert.deepEqual(pg.events.map((e) => e.type), new Array(PER_PAGE24).fill('data'));
      // the first event of a page has delta 0: the page stamp is its stamp
      assert.equal(pg.timestamp, it0[i * PER_PAGE24].ts);
    }
    // the writer is still on the last page: the copy path, everything committed so far
    assert.equal(pages[3].commit, 40 * EV24);
    const decoded = pages.flatMap(dataEvents);
    assertSameEvents(decoded, it0, 'read_page vs iterator');
    const last = m.buffer.readPage(0);
    assert.equal(last, null, 'nothing left to read');

    // CPU 1 consumed event by event: same stamps as CPU 0's pages, same items
    const c1 = consumeAll(m, 1);
    assertSameEvents(c1, it1, 'consume vs iterator');
    assert.deepEqual(c1.map((e) => e.ts), decoded.map((e) => e.ts));
    assert.deepEqual(c1.map((e) => seqOf(e.data)), decoded.map((e) => seqOf(e.data)));
    assert.ok(c1.every((e) => e.lost === 0));

    for (const cpu of [0, 1]) {
      const s = m.buffer.stats(cpu);
      assert.equal(s.readEvents, n, `CPU ${cpu} read`);
      assert.equal(s.entries, 0);
      assert.equal(s.overrun, 0);
      assert.equal(m.buffer.written(cpu), n);
    }
  });
});

test('read_page: the copy path after a partial consume starts from the read stamp and keeps the padding', async () => {
  await withMachine({ cpus: 2, clock: 'virtual', bufferSizeKb: 64 }, async (m) => {
    const n = PER_PAGE24 * 2 + 10;
    await m.run(0, new Workload().write({ size: 24, count: n }));
    const it = [...m.buffer.iterate(0)];
    assert.equal(it.length, n);

    const first = [0, 1, 2, 3, 4].map(() => m.buffer.consume(0)!);
    assertSameEvents(first, it.slice(0, 5), 'consume');

    // read != 0: the rest of the reader page is copied; the page stamp is the read stamp (the stamp of
    // the last event consumed), and the copy runs up to the page's commit, padding included
    const p1 = decodePage(m.buffer.readPage(0)!);
    assert.equal(p1.timestamp, it[4].ts);
    assert.equal(p1.commit, DATA - 5 * EV24);
    assert.deepEqual(p1.events.map((e) => e.type), [...new Array(PER_PAGE24 - 5).fill('data'), 'padding']);
    assert.equal(p1.events.at(-1)!.length, DATA - PER_PAGE24 * EV24);
    assertSameEvents(dataEvents(p1), it.slice(5, PER_PAGE24), 'copied page');

    // a full page: swapped whole
    const p2 = decodePage(m.buffer.readPage(0)!);
    assert.equal(p2.commit, PER_PAGE24 * EV24);
    assertSameEvents(dataEvents(p2), it.slice(PER_PAGE24, 2 * PER_PAGE24), 'swapped page');

    // the writer's page, asked for in full (the `full` argument, what trace_pipe_raw waits with): no
    assert.equal(m.buffer.readPage(0, true), null);
    const p3 = decodePage(m.buffer.readPage(0)!);
    assert.equal(p3.commit, 10 * EV24);
    assertSameEvents(dataEvents(p3), it.slice(2 * PER_PAGE24), 'writer page');
    assert.equal(m.buffer.readPage(0), null);
    assert.equal(m.buffer.consume(0), null);

    // more events on the page the reader holds, then a read of the rest: the copy path again, from
    // the stamp of the last event read
    await m.run(0, new Workload().write({ size: 24, count: 3 }));
    const more = [...m.buffer.iterate(0)];
    assert.equal(more.length, 3);
    const p4 = decodePage(m.buffer.readPage(0)!);
    assert.equal(p4.timestamp, it.at(-1)!.ts);
    assertSameEvents(dataEvents(p4), more, 'continued page');

    const s = m.buffer.stats(0);
    assert.equal(s.readEvents, n + 3);
    assert.equal(s.entries, 0);
  });
});

test('read_page: large events (type_len 0) and a mix of sizes decode like ring_buffer_event_length()', async () => {
  await withMachine({ cpus: 2, clock: 'virtual', bufferSizeKb: 64 }, async (m) => {
    const sizes = [12, 13, 16, 17, 105, 108, 109, 112, 113, 116, 117, 200, 1000, 4072];
    const w = new Workload();
    for (const size of sizes) w.write({ size, count: 1 });
    await m.run(0, w);
    const it = [...m.buffer.iterate(0)];
    assert.equal(it.length, sizes.length);
    // ring_buffer_event_length(): the payload rounded up to 4 bytes
    assert.deepEqual(it.map((e) => e.data.byteLength), sizes.map((s) => (s + 3) & ~3));
    assertItems(it, 0);
    const pages = readAllPages(m, 0);
    const decoded = pages.flatMap(dataEvents);
    assertSameEvents(decoded, it, 'mixed sizes');
    const typeLens = pages.flatMap((p) => p.events.filter((e) => e.type === 'data').map((e) => e.typeLen));
    assert.deepEqual(typeLens, sizes.map((s) => (s > 112 ? 0 : (s + 3) >> 2)));
    // the 4072-byte event (max_data_size) fills a sub-buffer on its own
    const lastPage = pages.at(-1)!;
    assert.equal(lastPage.events.length, 1);
    assert.equal(lastPage.commit, DATA);
  });
});

test('read_page after an overrun: RB_MISSED_EVENTS with the count stored after the data (RB_MISSED_STORED)', async () => {
  await withMachine({ cpus: 2, clock: 'virtual', bufferSizeKb: 8, overwrite: true }, async (m) => {
    const n = 5000;
    await Promise.all([0, 1].map((cpu) => m.run(cpu, new Workload().write({ size: 24, count: n }))));
    const before = [0, 1].map((cpu) => m.buffer.stats(cpu));
    for (const s of before) {
      assert.ok(s.overrun > 0, 'the small buffer was overrun');
      assert.equal(s.readEvents + s.overrun + s.entries, n);
    }
    const it0 = [...m.buffer.iterate(0)];
    assert.equal(it0.length, before[0].entries);
    // the oldest surviving event is the one after the overwritten ones
    assert.equal(seqOf(it0[0].data), before[0].overrun);

    // CPU 0: the first page read carries the flags and the count (real_end leaves 20 bytes free)
    const pages = readAllPages(m, 0);
    assert.ok(pages.length >= 2);
    const p0 = pages[0];
    assert.equal(p0.missedEvents, true);
    assert.equal(p0.missedStored, true);
    assert.equal(p0.missedCount, before[0].overrun);
    assert.equal(p0.commit, PER_PAGE24 * EV24);
    // local_add() of RB_MISSED_EVENTS (an int, 1 << 31) into a 64-bit local_t sign-extends
    assert.equal(p0.commitRaw >> 32n, 0xffffffffn);
    for (const p of pages.slice(1)) {
      assert.equal(p.missedEvents, false);
      assert.equal(p.missedCount, null);
    }
    assertSameEvents(pages.flatMap(dataEvents), it0, 'pages after overrun');

    // CPU 1 (the same history): ring_buffer_consume() reports the same count with the first event
    const c1 = consumeAll(m, 1);
    assert.equal(c1.length, before[1].entries);
    assert.equal(c1[0].lost, before[1].overrun);
    assert.ok(c1.slice(1).every((e) => e.lost === 0));
    assert.deepEqual(c1.map((e) => e.ts), it0.map((e) => e.ts));

    for (const cpu of [0, 1]) {
      const s = m.buffer.stats(cpu);
      assert.equal(s.entries, 0);
      assert.equal(s.readEvents + s.overrun + s.entries, n, `CPU ${cpu}: written = read + overrun + entries`);
      assert.equal(m.buffer.written(cpu), n);
    }
  });
});

test('read_page after an overrun with no room for the count: RB_MISSED_EVENTS alone', async () => {
  await withMachine({ cpus: 1, clock: 'virtual', bufferSizeKb: 8, overwrite: true }, async (m) => {
    // 16-byte payloads: 204 events of 20 bytes fill a sub-buffer to the last byte
    await m.run(0, new Workload().write({ size: 16, count: 3000 }));
    const s = m.buffer.stats(0);
    assert.ok(s.overrun > 0);
    const p = decodePage(m.buffer.readPage(0)!);
    assert.equal(p.commit, DATA);
    assert.equal(p.missedEvents, true);
    assert.equal(p.missedStored, false);
    assert.equal(p.missedCount, null);
    assert.equal(p.events.length, DATA / 20);
    assert.equal(seqOf(p.events[0].data), s.overrun);
  });
});

test('merged iteration across 2 CPUs is in stamp order and matches merged consumption', async () => {
  await withMachine({ cpus: 2, clock: 'virtual', bufferSizeKb: 64 }, async (m) => {
    await Promise.all([
      m.run(0, new Workload().write({ size: 16, count: 300 }).delay(50_000).write({ size: 20, count: 100 })),
      m.run(1, new Workload().delay(500).write({ size: 40, count: 200 }).delay(123_456).write({ size: 130, count: 50 })),
    ]);
    const per = [0, 1].map((cpu) => [...m.buffer.iterate(cpu)]);
    assert.equal(per[0].length, 400);
    assert.equal(per[1].length, 250);
    const merged = [...m.buffer.iterateMerged()];
    assert.equal(merged.length, 650);
    for (let i = 1; i < merged.length; i++) {
      assert.ok(merged[i].ts >= merged[i - 1].ts, `merged order at ${i}: ${merged[i - 1].ts} then ${merged[i].ts}`);
    }
    // each CPU's events keep their own order
    for (const cpu of [0, 1]) assertSameEvents(merged.filter((e) => e.cpu === cpu), per[cpu], `CPU ${cpu} in merge`);
    // interleaved, not one CPU after the other
    const switches = merged.filter((e, i) => i > 0 && e.cpu !== merged[i - 1].cpu).length;
    assert.ok(switches > 100, `only ${switches} CPU switches in the merged order`);

    // trace_pipe's order (consumeMerged) is the same
    const consumed: TraceEvent[] = [];
    for (let e = m.buffer.consumeMerged(); e; e = m.buffer.consumeMerged()) consumed.push(e);
    assert.equal(consumed.length, 650);
    assert.deepEqual(consumed.map((e) => [e.cpu, e.ts]), merged.map((e) => [e.cpu, e.ts]));
    assertSameEvents(consumed, merged, 'consumeMerged vs iterateMerged');
  });
});

test('merged order breaks stamp ties by the lowest CPU (__find_next_entry)', async () => {
  await withMachine({ cpus: 2, clock: 'virtual', bufferSizeKb: 16 }, async (m) => {
    await Promise.all([0, 1].map((cpu) => m.run(cpu, new Workload().write({ size: 16, count: 20 }))));
    const merged = [...m.buffer.iterateMerged()];
    assert.deepEqual(merged.map((e) => e.cpu), new Array(20).fill([0, 1]).flat());
    const consumed: number[] = [];
    for (let e = m.buffer.consumeMerged(); e; e = m.buffer.consumeMerged()) consumed.push(e.cpu);
    assert.deepEqual(consumed, merged.map((e) => e.cpu));
  });
});

test('the iterator does not consume; consume after iterate returns the same events', async () => {
  await withMachine({ cpus: 2, clock: 'virtual', bufferSizeKb: 64 }, async (m) => {
    await m.run(0, new Workload().write({ size: 16, count: 500 }));
    const a = [...m.buffer.iterate(0)];
    const b = [...m.buffer.iterate(0)];
    assert.equal(a.length, 500);
    assertSameEvents(b, a, 'second iteration');
    assert.ok(a.every((e) => e.lost === 0 && e.cpu === 0));
    let s = m.buffer.stats(0);
    assert.equal(s.entries, 500);
    assert.equal(s.readEvents, 0);

    // consume part, then iterate: the iterator starts at the reader's position
    const c = [] as TraceEvent[];
    for (let i = 0; i < 250; i++) c.push(m.buffer.consume(0)!);
    assertSameEvents(c, a.slice(0, 250), 'consumed half');
    assertSameEvents([...m.buffer.iterate(0)], a.slice(250), 'iterate after partial consume');
    s = m.buffer.stats(0);
    assert.equal(s.entries, 250);
    assert.equal(s.readEvents, 250);

    // peek does not consume either
    const pk = m.buffer.peek(0)!;
    assert.equal(pk.ts, a[250].ts);
    assert.equal(m.buffer.peek(0)!.ts, a[250].ts);

    const rest = consumeAll(m, 0);
    assertSameEvents(rest, a.slice(250), 'consume after iterate');
    assert.equal(m.buffer.consume(0), null);
    assert.equal([...m.buffer.iterate(0)].length, 0);
    assert.ok(m.buffer.empty(0));
    s = m.buffer.stats(0);
    assert.equal(s.entries, 0);
    assert.equal(s.readEvents, 500);
  });
});

test('counters: per CPU written = read + overrun + entries (overwrite), written = read + entries and failed = dropped (producer/consumer)', async () => {
  for (const overwrite of [true, false]) {
    await withMachine({ cpus: 2, clock: 'virtual', bufferSizeKb: 12, overwrite }, async (m) => {
      const rounds = 3;
      const written = [0, 0];
      const failed = [0, 0];
      let read = [0, 0];
      for (let r = 0; r < rounds; r++) {
        const res = await Promise.all([
          m.run(0, new Workload().write({ size: 16, count: 1000 }).write({ size: 300, count: 50 })),
          m.run(1, new Workload().write({ size: 40, count: 700 })),
        ]);
        for (const cpu of [0, 1]) {
          written[cpu] += res[cpu].written;
          failed[cpu] += res[cpu].failed;
        }
        // readers in between: events on CPU 0, pages on CPU 1
        for (let i = 0; i < 100; i++) if (m.buffer.consume(0)) read[0]++;
        for (let i = 0; i < 2; i++) {
          const p = m.buffer.readPage(1);
          if (p) read[1] += dataEvents(decodePage(p)).length;
        }
        for (const cpu of [0, 1]) {
          const s = m.buffer.stats(cpu);
          const tag = `overwrite=${overwrite} round ${r} CPU ${cpu}`;
          assert.equal(m.buffer.written(cpu), written[cpu], `${tag}: entries counter = events committed`);
          assert.equal(s.readEvents, read[cpu], `${tag}: read`);
          if (overwrite) {
            assert.equal(failed[cpu], 0, `${tag}: nothing refused in overwrite mode`);
            assert.equal(s.droppedEvents, 0);
            assert.equal(s.readEvents + s.overrun + s.entries, written[cpu], `${tag}: written = read + overrun + entries`);
          } else {
            assert.equal(s.overrun, 0, `${tag}: no overrun in producer/consumer mode`);
            assert.equal(s.droppedEvents, failed[cpu], `${tag}: dropped = failed reserves`);
            assert.equal(s.readEvents + s.entries, written[cpu], `${tag}: written = read + entries`);
          }
        }
      }
      if (!overwrite) assert.ok(failed[0] > 0 && failed[1] > 0, 'the small buffer filled up');
      else assert.ok(m.buffer.stats(0).overrun > 0 && m.buffer.stats(1).overrun > 0, 'the small buffer was overrun');
      // drain: everything left is readable and verifies
      for (const cpu of [0, 1]) {
        const rest = consumeAll(m, cpu);
        assertItems(rest, cpu);
        read[cpu] += rest.length;
        const s = m.buffer.stats(cpu);
        assert.equal(s.entries, 0);
        assert.equal(s.readEvents, read[cpu]);
        assert.equal(s.readEvents + s.overrun, written[cpu]);
      }
      read = [0, 0];
    });
  }
});

test('time extends, absolute stamps and discarded events decode to the stamps the readers report', async () => {
  await withMachine({ cpus: 2, clock: 'virtual', bufferSizeKb: 64 }, async (m) => {
    // a delay longer than 27 bits of ns (a time extend), a discarded event that is not the last
    // (it stays as padding with a non-zero delta), a discarded last event (removed; the next event
    // carries a full stamp, RB_ADD_STAMP_FORCE)
    const w = () =>
      new Workload()
        .write({ size: 16, count: 3 })
        .delay(200_000_000)
        .write({ size: 16, count: 2 })
        .begin({ size: 40 })
        .context('irq')
        .write({ size: 20, count: 1 })
        .context('normal')
        .discard()
        .write({ size: 16, count: 1 })
        .begin({ size: 40 })
        .discard()
        .write({ size: 16, count: 1 });
    await Promise.all([m.run(0, w()), m.run(1, w())]);
    const it0 = [...m.buffer.iterate(0)];
    assert.equal(it0.length, 8);
    assertItems(it0, 0);
    const p = decodePage(m.buffer.readPage(0)!);
    const types = p.events.map((e) => e.type);
    assert.deepEqual(types, ['data', 'data', 'data', 'time_extend', 'data', 'data', 'padding', 'data', 'data', 'time_stamp', 'data']);
    assert.ok(p.events[3].ts - p.events[2].ts > 2 ** 27, 'the time extend carries more than 27 bits');
    const pad = p.events[6];
    assert.equal(pad.length, 44); // the 40-byte event: header + 40
    assertSameEvents(dataEvents(p), it0, 'stamps through extends, padding and full stamps');
    const c1 = consumeAll(m, 1);
    assert.deepEqual(c1.map((e) => e.ts), it0.map((e) => e.ts));

    // ring_buffer_set_time_stamp_abs(): every event has an absolute stamp in front
    m.buffer.setTimeStampAbs(true);
    await m.run(0, new Workload().write({ size: 16, count: 5 }).delay(300_000_000).write({ size: 16, count: 5 }));
    const it = [...m.buffer.iterate(0)];
    assert.equal(it.length, 10);
    const pages = readAllPages(m, 0);
    const evs = pages.flatMap((pg) => pg.events);
    assert.deepEqual(evs.map((e) => e.type), new Array(10).fill(['time_stamp', 'data']).flat());
    assertSameEvents(pages.flatMap(dataEvents), it, 'absolute stamps');
  });
});

// The pipe benchmark's consumer with a pool of spares (readPages' pool, ring.pipe.cold_spares): the
// pages it reads rotate through the pool, so what goes back into the ring is a page read several
// reads ago; every event is still read exactly once, and a pool that is not made of this machine's
// spare pages is refused.
test('readPages with a pool of spares: every event read once, the rest consumable; a bad pool is EINVAL', async () => {
  await withMachine({ cpus: 2, clock: 'virtual', bufferSizeKb: 64, overwrite: false }, async (m) => {
    const arena = m.machine.arena;
    const size = 4;
    const pool = arena.alloc(4 * size, 64);
    for (let i = 0; i < size; i++) {
      const page = arena.alloc(m.buffer.subbufSize, 64);
      m.machine.exports.rbInitPage(page);
      m.machine.mem.store32(pool + 4 * i, page);
    }
    await assert.rejects(m.run(1, new Workload().readPages({ cpu: 0, pool: { addr: pool, size: size + 1 } })), /EINVAL|pool/);
    let written = 0;
    for (let round = 0; round < 4; round++) {
      written += (await m.run(0, new Workload().write({ size: 24, count: 1000 }))).written;
      const reader = m.run(1, new Workload().readPages({ cpu: 0, pool: { addr: pool, size } }));
      while (m.buffer.stats(0).readEvents + 3 * PER_PAGE24 < written) await new Promise((resolve) => setTimeout(resolve, 5));
      m.stop(1);
      await reader;
    }
    const st = m.buffer.stats(0);
    assert.equal(st.droppedEvents, 0);
    assert.equal(st.warnings, 0);
    const rest = consumeAll(m, 0);
    assertItems(rest, 0);
    assert.equal(st.readEvents + rest.length, written);
  });
});
