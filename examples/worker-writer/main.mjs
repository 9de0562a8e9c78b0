// A worker thread of the app's own writes as CPU 1; the main thread reads the events back in order.
// `node main.mjs` or `deno run --allow-read main.mjs` (Deno runs node:worker_threads too).
import { Worker } from 'node:worker_threads';
import { createMachine } from 'ringtrace';

const EVENTS = 2000;
const m = await createMachine({ cpus: 2, clock: 'counter', bufferSizeKb: 256 });
try {
  // the handle (shared memory + compiled module) is structured-cloneable: post it as it is
  const worker = new Worker(new URL('./writer.mjs', import.meta.url), { workerData: { handle: m.handle(), cpu: 1, events: EVENTS } });
  const written = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  let expected = 0;
  for (let ev = m.buffer.consume(1); ev; ev = m.buffer.consume(1)) {
    const seq = new DataView(ev.data.buffer, ev.data.byteOffset).getUint32(0, true);
    if (seq !== expected++) throw new Error(`event ${seq} out of order (expected ${expected - 1})`);
  }
  const stats = m.buffer.stats(1);
  console.log(`worker wrote ${written} events as CPU 1; read back ${expected} in order; entries ${stats.entries}, overrun ${stats.overrun}, read ${stats.readEvents}`);
  if (expected !== EVENTS || stats.readEvents !== EVENTS) throw new Error('events were lost');
} finally {
  await m.close();
}
