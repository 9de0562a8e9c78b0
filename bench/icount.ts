// A single-threaded driver for instruction counts (valgrind --tool=cachegrind), which stay meaningful
// on a loaded machine where wall-clock figures do not: the host thread attaches as CPU 0 and runs the
// benchmark's write loop (benchChunk, the loop OP_BENCH runs) for CHUNKS x 1024 events. Run it twice
// with different CHUNKS; the difference in instructions over the difference in events is the cost of
// one event (see README, "Instruction counts").
//
// With `read-pages` the host also reads back, after every 40 chunks (about 200 pages of 16-byte
// events), every whole page with ring_buffer_read_page() (what the pipe's consumer does per page);
// the difference to the plain run over the pages read is the reader's cost of a page.
import { createMachine } from '../src/index.ts';

const chunks = Number(process.argv[2] ?? '1000');
const mode = process.argv[3] ?? 'write';
if (!Number.isInteger(chunks) || chunks < 1 || (mode !== 'write' && mode !== 'read-pages')) {
  throw new Error(`usage: bench/icount.ts CHUNKS [write|read-pages] (CHUNKS a whole number >= 1)`);
}
const ROUND = 40;
const m = await createMachine({ cpus: 1, clock: 'counter', overwrite: true });
try {
  // the claim on CPU 0, and the host's own instance as CPU 0 (an attached writer has an instance of
  // its own, out of reach here)
  const w = m.attachWriter(0);
  const ex = m.machine.exports;
  ex.cpuInit(0);
  const tb = m.buffer.addr;
  const slot = m.machine.arena.alloc(64);
  const spare = m.machine.arena.alloc(m.buffer.subbufSize, 64);
  ex.rbInitPage(spare);
  m.machine.mem.store32(slot, spare);
  let hits = 0;
  let pages = 0;
  for (let i = 0; i < chunks; i++) {
    hits += ex.benchChunk(tb, 16, 1024);
    if (mode === 'read-pages' && (i + 1) % ROUND === 0) {
      ex.rbPublishAll();
      while (ex.rbReadPage(tb, 0, slot, m.buffer.subbufSize + 16, 1) >= 0) pages++;
    }
  }
  ex.rbPublishAll();
  ex.cpuInit(-1);
  w.release();
  console.log(`${hits} events${mode === 'read-pages' ? `, ${pages} pages read` : ''}`);
} finally {
  await m.close();
}
