// A single-threaded driver for instruction counts (valgrind --tool=cachegrind), which stay meaningful
// on a loaded machine where wall-clock figures do not: the host thread attaches as CPU 0 and runs the
// benchmark's write loop (benchChunk, the loop OP_BENCH runs) or the floor for CHUNKS x 1024 events.
// Run it twice with different CHUNKS; the difference in instructions over the difference in events is
// the cost of one event:
//   valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
//     node --import tsx bench/icount.ts write|floor CHUNKS
import { createMachine } from '../src/index.ts';

const [kind = 'write', chunks = '1000'] = process.argv.slice(2);
const m = await createMachine({ cpus: 1, clock: 'counter', overwrite: true });
try {
  const w = m.attachWriter(0);
  const ex = m.machine.exports;
  const tb = m.buffer.addr;
  const n = Number(chunks);
  let hits = 0;
  if (kind === 'write') {
    for (let i = 0; i < n; i++) hits += ex.benchChunk(tb, 16, 1024);
  } else {
    throw new Error(`unknown kind ${kind} (write)`);
  }
  w.release();
  console.log(`${kind}: ${hits} events`);
} finally {
  await m.close();
}
