// The same with TypeScript workers. Node: `node --import tsx main.ts` (Node 20 does not apply tsx to
// worker threads: the worker starts from boot.mjs, which registers it); Deno: `deno run --allow-read
// main.ts`, with a Web Worker.
import { createMachine, type MachineHandle } from 'ringtrace';

export interface WriterRequest {
  handle: MachineHandle;
  cpu: number;
  events: number;
}

const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== 'undefined';

function runWriter(request: WriterRequest): Promise<number> {
  if (isDeno) {
    const worker = new Worker(new URL('./writer.ts', import.meta.url), { type: 'module' });
    return new Promise((resolve, reject) => {
      worker.onmessage = (e) => {
        worker.terminate();
        resolve(e.data);
      };
      worker.onerror = (e) => reject(new Error(e.message));
      worker.postMessage(request);
    });
  }
  return import('node:worker_threads').then(({ Worker: NodeWorker }) => {
    const worker = new NodeWorker(new URL('./boot.mjs', import.meta.url));
    return new Promise<number>((resolve, reject) => {
      worker.once('message', (n: number) => {
        worker.terminate().then(() => resolve(n), reject);
      });
      worker.once('error', reject);
      worker.postMessage(request);
    });
  });
}

const EVENTS = 1000;
const m = await createMachine({ cpus: 4, clock: 'counter', bufferSizeKb: 128 });
try {
  const written = await runWriter({ handle: m.handle(), cpu: 2, events: EVENTS });
  let n = 0;
  for (let ev = m.buffer.consume(2); ev; ev = m.buffer.consume(2)) {
    if (new DataView(ev.data.buffer, ev.data.byteOffset).getUint32(0, true) !== n++) throw new Error('out of order');
  }
  console.log(`TypeScript worker wrote ${written} events as CPU 2; read back ${n} in order`);
  if (n !== EVENTS) throw new Error('events were lost');
} finally {
  await m.close();
}
