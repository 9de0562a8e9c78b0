// The app's worker: becomes CPU 1's writer (ring_buffer_write semantics: one writer per CPU buffer),
// writes numbered events one call each and then in batches, and releases the CPU.
import { parentPort, workerData } from 'node:worker_threads';
import { attachWriter } from 'ringtrace';

const { handle, cpu, events } = workerData;
const event = (seq) => {
  const data = new Uint8Array(16);
  new DataView(data.buffer).setUint32(0, seq, true);
  return data;
};

const writer = await attachWriter(handle, { cpu });
let written = 0;
try {
  for (let seq = 0; seq < events / 2; seq++) if (writer.write(event(seq))) written++;
  const rest = Array.from({ length: events / 2 }, (_, i) => event(events / 2 + i));
  written += writer.writeBatch(rest);
} finally {
  writer.release();
}
parentPort.postMessage(written);
