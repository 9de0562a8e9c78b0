// Embedding from a user's own thread (issue 7): embed.write.worker is Writer.write(bytes) of 16 bytes
// from a worker_threads worker of the user's, attached with attachWriter(machine.handle(), {cpu: 1});
// one call per event, counter clock, timed with performance.now() in the worker. Each sample is one
// attach and a timed loop of one slot; the warm-up is a first, shorter one.
import { createMachine } from '../src/index.ts';
import { nodeWorker, siblingModule } from '../src/machine/platform.ts';
import type { EmbedWorkerArgs } from './embed-worker.ts';
import type { BenchContext, OpenSuite, Suite } from './suite.ts';

const SIZE = 16;

export const embedSuite: Suite = {
  name: 'embed',
  figures: ['embed.write.worker'],
  open: openEmbed,
};

async function openEmbed(ctx: BenchContext): Promise<OpenSuite> {
  const m = await createMachine({ cpus: 2, clock: 'counter', bufferSizeKb: 1024 });
  const worker = await nodeWorker(siblingModule('./embed-worker', import.meta.url));
  const handle = m.handle();
  const call = (durationMs: number) =>
    new Promise<number>((resolve, reject) => {
      worker.once('message', (r: { ns: number }) => resolve(r.ns));
      worker.once('error', reject);
      worker.postMessage({ handle, cpu: 1, size: SIZE, durationMs } satisfies EmbedWorkerArgs);
    });
  return {
    phases: [{
      label: `embed.write.worker: Writer.write(${SIZE} bytes) from a user's worker thread, one call per event`,
      figures: ['embed.write.worker'],
      slots: 1,
      warm: async (ms) => void (await call(ms)),
      sample: async (ms) => ({ 'embed.write.worker': await call(ms) }),
      extra: () => [
        `Writer.write(Uint8Array(${SIZE})) from a worker_threads worker attached with attachWriter(machine.handle(), {cpu: 1}), one call per event (each call publishes its commit), counter clock, overwrite mode; timed with performance.now() in the worker`,
        ctx.runsLine, ctx.machineLine,
      ],
    }],
    close: async () => {
      await worker.terminate();
      await m.close();
    },
  };
}
