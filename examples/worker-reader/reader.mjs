// The app's reader thread: consumes CPU 1's events as they are written, checks their order, and says
// how many it read. A reader holds nothing between calls: it needs no release.
import { parentPort, workerData } from 'node:worker_threads';
import { openReader } from 'ringtrace';

const { handle, cpu, events } = workerData;
const reader = openReader(handle);
let read = 0;
const deadline = Date.now() + 60_000;
while (read < events && Date.now() < deadline) {
  const ev = reader.consume(cpu);
  if (!ev) {
    // nothing published yet: let the writer run
    await new Promise((resolve) => setTimeout(resolve, 1));
    continue;
  }
  const seq = new DataView(ev.data.buffer, ev.data.byteOffset).getUint32(0, true);
  if (seq !== read) throw new Error(`event ${seq} out of order (expected ${read})`);
  read++;
}
parentPort.postMessage(read);
