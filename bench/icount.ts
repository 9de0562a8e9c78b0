// A single-threaded driver for instruction counts (valgrind --tool=cachegrind), which stay meaningful
// on a loaded machine where wall-clock figures do not: the host thread attaches as CPU 0 and runs the
// benchmark's write loop (benchChunk, the loop OP_BENCH runs) for CHUNKS x 1024 events. Run it twice
// with different CHUNKS; the difference in instructions over the difference in events is the cost of
// one event (see README, "Instruction counts").
import { createMachine } from '../src/index.ts';

const chunks = Number(process.argv[2] ?? '1000');
if (!Number.isInteger(chunks) || chunks < 1) throw new Error(`usage: bench/icount.ts CHUNKS (a whole number >= 1)`);
const m = await createMachine({ cpus: 1, clock: 'counter', overwrite: true });
try {
  const w = m.attachWriter(0);
  const ex = m.machine.exports;
  const tb = m.buffer.addr;
  let hits = 0;
  for (let i = 0; i < chunks; i++) hits += ex.benchChunk(tb, 16, 1024);
  w.release();
  console.log(`${hits} events`);
} finally {
  await m.close();
}
