// The Deno run of issue 2, section 2: create a machine (CPU workers are Web Workers under Deno), write
// on two CPUs, read everything back (consume all, counts and payloads), close the machine.
// Offline: only node: builtins and relative imports with explicit .ts extensions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMachine, Workload } from '../../src/index.ts';
import { checkItem, decodePage, dataEvents } from '../decode.ts';

test('deno: a machine writes on two CPUs and everything reads back', async () => {
  assert.equal(typeof (globalThis as { Deno?: unknown }).Deno, 'object', 'runs under Deno');
  const m = await createMachine({ cpus: 2, clock: 'virtual', bufferSizeKb: 64 });
  try {
    assert.deepEqual(m.onlineCpus(), [0, 1]);
    const [r0, r1] = await Promise.all([
      m.run(0, new Workload().write({ size: 16, count: 300 }).write({ size: 200, count: 20 })),
      m.run(1, new Workload().write({ size: 40, count: 250 }).stress({ seed: 7, maxSize: 120, nestPercent: 25, count: 100 })),
    ]);
    assert.equal(r0.written, 320);
    assert.equal(r0.failed, 0);
    assert.ok(r1.written >= 350 && r1.nested > 0, `CPU 1 wrote ${r1.written} (${r1.nested} nested)`);
    const written = [r0.written, r1.written];
    for (const cpu of [0, 1]) assert.equal(m.buffer.stats(cpu).entries, written[cpu]);

    // the non-consuming iterator sees everything; one page decodes independently
    const merged = [...m.buffer.iterateMerged()];
    assert.equal(merged.length, written[0] + written[1]);
    for (let i = 1; i < merged.length; i++) assert.ok(merged[i].ts >= merged[i - 1].ts);

    // consume all, in trace_pipe's order
    const seqs = [-1, -1];
    const counts = [0, 0];
    for (let e = m.buffer.consumeMerged(); e; e = m.buffer.consumeMerged()) {
      const item = checkItem(e.data, e.cpu);
      assert.equal(typeof item, 'object', `payload: ${item as string}`);
      const { seq } = item as { seq: number };
      assert.ok(seq > seqs[e.cpu], `CPU ${e.cpu} sequence increases`);
      seqs[e.cpu] = seq;
      assert.equal(e.lost, 0);
      counts[e.cpu]++;
    }
    assert.deepEqual(counts, written);
    for (const cpu of [0, 1]) {
      const s = m.buffer.stats(cpu);
      assert.equal(s.entries, 0);
      assert.equal(s.readEvents, written[cpu]);
      assert.equal(s.overrun, 0);
    }

    // and once more through ring_buffer_read_page
    await m.run(0, new Workload().write({ size: 24, count: 10 }));
    const page = m.buffer.readPage(0);
    assert.ok(page);
    const evs = dataEvents(decodePage(page));
    assert.equal(evs.length, 10);
    for (const e of evs) assert.equal(typeof checkItem(e.data, 0), 'object');
  } finally {
    await m.close();
  }
});
