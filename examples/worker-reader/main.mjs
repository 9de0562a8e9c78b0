// Two worker threads of the app's own: one writes as CPU 1, the other reads CPU 1 while it is written
// (ring_buffer_consume from any thread). The main thread checks the per-CPU stats.
// `node main.mjs` or `deno run --allow-read main.mjs` (Deno runs node:worker_threads too).
import { Worker } from 'node:worker_threads';
import { createMachine } from 'ringtrace';

const EVENTS = 2000;
const m = await createMachine({ cpus: 2, clock: 'counter', bufferSizeKb: 256 });

function run(file, workerData) {
  const worker = new Worker(new URL(file, import.meta.url), { workerData });
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

try {
  // the handle (shared memory + compiled module) is structured-cloneable: post it as it is
  const handle = m.handle();
  const [read, written] = await Promise.all([
    run('./reader.mjs', { handle, cpu: 1, events: EVENTS }),
    run('../worker-writer/writer.mjs', { handle, cpu: 1, events: EVENTS }),
  ]);
  const stats = m.buffer.stats(1);
  console.log(`a worker wrote ${written} events as CPU 1, another read ${read} of them in order; entries ${stats.entries}, overrun ${stats.overrun}, read ${stats.readEvents}`);
  if (read !== EVENTS || stats.readEvents !== EVENTS || stats.entries !== 0) throw new Error('events were lost');
} finally {
  await m.close();
}
