// Single-threaded costs on the main thread, each the fastest of many short bursts (as the calibration
// is measured), which another process's load barely moves: where the time of `Writer.write()` goes,
// and the two sides of the pipe taken apart (the write loop in both buffer modes, and
// ring_buffer_read_page() of a whole page). See README, "Measured".
//
//   node --import tsx bench/bursts.ts
import { createMachine } from '../src/index.ts';

const BURSTS = 300;
const REPEATS = 5;

// ns per operation: the fastest of BURSTS bursts of `ops` operations, REPEATS times
function bursts(ops: number, burst: () => void): string {
  const out: string[] = [];
  for (let r = 0; r < REPEATS; r++) {
    let best = Infinity;
    for (let i = 0; i < BURSTS; i++) {
      const t = performance.now();
      burst();
      best = Math.min(best, performance.now() - t);
    }
    out.push(((best * 1e6) / ops).toFixed(1));
  }
  return out.join(' ');
}

const say = (what: string, ns: string, unit = 'ns') => console.log(`${what.padEnd(74)} ${ns} ${unit}`);

const m = await createMachine({ cpus: 1, clock: 'counter', overwrite: true });
try {
  const ex = m.machine.exports;
  const tb = m.buffer.addr;
  const one = new Uint8Array(16).fill(7);
  const many = Array.from({ length: 256 }, () => one);
  let w = m.attachWriter(0);
  say('Writer.write(16 bytes), per call', bursts(2048, () => { for (let k = 0; k < 2048; k++) w.write(one); }));
  say('Writer.writeBatch(256 x 16 bytes), per event', bursts(2048, () => { for (let k = 0; k < 8; k++) w.writeBatch(many); }));
  say('a JavaScript-to-Wasm call of a trivial export', bursts(2048, () => { for (let k = 0; k < 2048; k++) ex.rbCalculateEventLength(16); }));
  w.release();

  // the host's own instance writes as CPU 0 under the writer's claim (the writer's instance is its own)
  const slot = m.machine.arena.alloc(64);
  const spare = m.machine.arena.alloc(m.buffer.subbufSize, 64);
  ex.rbInitPage(spare);
  m.machine.mem.store32(slot, spare);
  for (const [clock, overwrite] of [['counter', true], ['local', true], ['local', false]] as const) {
    await m.buffer.setClock(clock);
    m.buffer.setOverwrite(overwrite);
    w = m.attachWriter(0);
    ex.cpuInit(0);
    say(`benchChunk (the OP_BENCH loop), ${clock} clock, ${overwrite ? 'overwrite' : 'producer/consumer'}, per event`, bursts(8192, () => {
      for (let k = 0; k < 8; k++) ex.benchChunk(tb, 16, 1024);
      // whole pages read back as the pipe's consumer does, so the buffer never fills
      if (!overwrite) while (ex.rbReadPage(tb, 0, slot, m.buffer.subbufSize + 16, 1) >= 0);
    }));
    if (!overwrite) {
      // the reads alone are timed, after ~40 pages were written
      const out: string[] = [];
      for (let r = 0; r < REPEATS; r++) {
        let best = Infinity;
        for (let i = 0; i < BURSTS; i++) {
          for (let k = 0; k < 8; k++) ex.benchChunk(tb, 16, 1024);
          const t = performance.now();
          let pages = 0;
          while (ex.rbReadPage(tb, 0, slot, m.buffer.subbufSize + 16, 1) >= 0) pages++;
          best = Math.min(best, (performance.now() - t) / pages);
        }
        out.push((best * 1e6).toFixed(1));
      }
      say('ring_buffer_read_page() of a whole page (swap), per page', out.join(' '));
    }
    ex.rbPublishAll();
    ex.cpuInit(-1);
    w.release();
  }
} finally {
  await m.close();
}
