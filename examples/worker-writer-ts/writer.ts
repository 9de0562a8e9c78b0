// The TypeScript worker: a Web Worker under Deno, a worker_threads worker under Node (via boot.mjs).
import { attachWriter } from 'ringtrace';
import type { WriterRequest } from './main.ts';

async function write({ handle, cpu, events }: WriterRequest): Promise<number> {
  const writer = await attachWriter(handle, { cpu });
  try {
    const batch: Uint8Array[] = [];
    for (let seq = 0; seq < events; seq++) {
      const data = new Uint8Array(8);
      new DataView(data.buffer).setUint32(0, seq, true);
      batch.push(data);
    }
    return writer.writeBatch(batch);
  } finally {
    writer.release();
  }
}

const { parentPort } = await import('node:worker_threads');
if (parentPort) {
  const port = parentPort;
  port.once('message', async (request: WriterRequest) => port.postMessage(await write(request)));
} else {
  const self = globalThis as unknown as { onmessage: ((e: MessageEvent<WriterRequest>) => void) | null; postMessage(m: unknown): void };
  self.onmessage = async (e) => self.postMessage(await write(e.data));
}
