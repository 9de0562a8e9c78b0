// The run writer (rbWriteRun: the benchmark's loop and Writer.writeBatch keep the writer's state in
// Wasm locals for a run of events) against the per-event path (Writer.write: ring_buffer_write per
// call): the same events on the deterministic clock must leave byte-identical pages and the same
// counters, across page boundaries, overwrite wrap-around, large-payload headers and time extends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMachine, type RingMachine } from '../src/index.ts';

const SIZES = [8, 16, 20, 100, 112, 116, 200, 4, 1];

function events(n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => {
    const b = new Uint8Array(SIZES[i % SIZES.length]);
    for (let k = 0; k < b.length; k++) b[k] = (i * 7 + k) & 0xff;
    return b;
  });
}

async function written(step: number, write: (m: RingMachine, evs: Uint8Array[]) => void, evs: Uint8Array[]) {
  const m = await createMachine({ cpus: 1, clock: 'virtual', virtualStepNs: step, bufferSizeKb: 16, overwrite: true });
  try {
    write(m, evs);
    const tb = m.buffer;
    const { nowTs: _now, ...stats } = tb.stats(0);
    const pages: number[][] = [];
    for (let p = tb.readPage(0, true); p; p = tb.readPage(0, true)) pages.push([...p]);
    return { stats, raw: tb.bytesRaw(0), pages };
  } finally {
    await m.close();
  }
}

const perEvent = (m: RingMachine, evs: Uint8Array[]) => {
  const w = m.attachWriter(0);
  try {
    for (const e of evs) w.write(e);
  } finally {
    w.release();
  }
};

const batched = (m: RingMachine, evs: Uint8Array[]) => {
  const w = m.attachWriter(0);
  try {
    for (let i = 0; i < evs.length; i += 97) assert.equal(w.writeBatch(evs.slice(i, i + 97)), Math.min(97, evs.length - i));
  } finally {
    w.release();
  }
};

for (const [what, step] of [['deltas that fit', 1000], ['a time extend before every event', 200_000_000]] as const) {
  test(`run writer: the same pages and counters as one write per event (${what})`, async () => {
    const evs = events(3000);
    const a = await written(step, perEvent, evs);
    const b = await written(step, batched, evs);
    assert.ok(a.stats.overrun > 0, 'the buffer wrapped');
    assert.ok(a.pages.length > 1);
    assert.deepEqual(b.stats, a.stats);
    assert.deepEqual(b.raw, a.raw);
    assert.equal(b.pages.length, a.pages.length);
    for (let i = 0; i < a.pages.length; i++) assert.deepEqual(b.pages[i], a.pages[i], `page ${i}`);
  });
}
