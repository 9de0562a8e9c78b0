// The user's worker of the embed.write.worker figure: posted a machine handle, it attaches as a CPU's
// writer through the public API and writes one event per call for a while, timing itself.
import { parentPort } from 'node:worker_threads';
import { attachWriter, type MachineHandle } from '../src/index.ts';

export interface EmbedWorkerArgs {
  handle: MachineHandle;
  cpu: number;
  size: number;
  durationMs: number;
}

parentPort!.on('message', async ({ handle, cpu, size, durationMs }: EmbedWorkerArgs) => {
  const w = await attachWriter(handle, { cpu });
  const one = new Uint8Array(size).fill(7);
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  try {
    do {
      for (let k = 0; k < 2048; k++) if (w.write(one)) n++;
      t = performance.now();
    } while (t - t0 < durationMs);
  } finally {
    w.release();
  }
  parentPort!.postMessage({ ns: ((t - t0) * 1e6) / n });
});
