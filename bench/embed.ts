// Embedding from a user's own thread (issue 7):
//
//   embed.write.worker  ns/event  Writer.write(bytes) of 16 bytes from a worker_threads worker of the
//                                 user's, attached with attachWriter(machine.handle(), {cpu: 1}); one
//                                 call per event, counter clock, timed with performance.now() in the worker
//
// Each run is one attach, a warm-up on the first, and a timed loop; the median of --runs is reported.
import { createMachine } from '../src/index.ts';
import { nodeWorker, siblingModule } from '../src/machine/platform.ts';
import { measurement, machineInfo, machineLine, type Measurement } from './stats.ts';
import type { EmbedWorkerArgs } from './embed-worker.ts';

export interface EmbedBenchOptions {
  runs: number;
  durationMs: number; // per run
  log?: (line: string) => void;
}

const SIZE = 16;

export async function runEmbedBench(opts: EmbedBenchOptions): Promise<Measurement[]> {
  const log = opts.log ?? (() => {});
  log(`[embed 1/1] embed.write.worker: Writer.write(${SIZE} bytes) from a user's worker thread, one call per event`);
  const m = await createMachine({ cpus: 2, clock: 'counter', bufferSizeKb: 1024 });
  const worker = await nodeWorker(siblingModule('./embed-worker', import.meta.url));
  const call = (args: EmbedWorkerArgs) =>
    new Promise<{ ns: number }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.postMessage(args);
    });
  const ns: number[] = [];
  try {
    const handle = m.handle();
    await call({ handle, cpu: 1, size: SIZE, durationMs: opts.durationMs / 2 });
    for (let i = 0; i < opts.runs; i++) ns.push((await call({ handle, cpu: 1, size: SIZE, durationMs: opts.durationMs })).ns);
  } finally {
    await worker.terminate();
    await m.close();
  }
  log(`      ${ns.map((x) => x.toFixed(1)).join(', ')} ns/event`);
  return [
    measurement('embed.write.worker', 'ns/event', ns, [
      machineLine(machineInfo()),
      `Writer.write(Uint8Array(${SIZE})) from a worker_threads worker attached with attachWriter(machine.handle(), {cpu: 1}), one call per event (each call publishes its commit), counter clock, overwrite mode; timed with performance.now() in the worker`,
    ]),
  ];
}
