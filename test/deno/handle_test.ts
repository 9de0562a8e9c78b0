// Under Deno: a user's Web Worker writes as CPU 1 and another reads it (consume and read_page) through
// the machine's handle, with the main thread reading too; every event is read once and the per-CPU stats
// account for all of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMachine } from '../../src/index.ts';
import { decodePage, dataEvents } from '../decode.ts';

// test/fixtures/user-thread.ts as a Web Worker, driven one command at a time
class WebUserWorker {
  private readonly worker = new Worker(new URL('../fixtures/user-thread.ts', import.meta.url), { type: 'module' });

  call(cmd: unknown): Promise<{ ok?: unknown; error?: string }> {
    return new Promise((resolve, reject) => {
      this.worker.onmessage = (e) => resolve(e.data);
      this.worker.onerror = (e) => reject(new Error(e.message));
      this.worker.postMessage(cmd);
    });
  }

  terminate(): void {
    this.worker.terminate();
  }
}

const seqOf = (data: Uint8Array) => new DataView(data.buffer, data.byteOffset).getUint32(0, true);

test('deno: Web Workers write and read through the handle; the main thread reads too; stats exact', async () => {
  const m = await createMachine({ cpus: 2, clock: 'counter', bufferSizeKb: 256 });
  const writer = new WebUserWorker();
  const reader = new WebUserWorker();
  try {
    const N = 1500;
    assert.deepEqual(await writer.call({ op: 'attach', handle: m.handle(), cpu: 1 }), { ok: 'attached' });
    assert.deepEqual(await reader.call({ op: 'open-reader', handle: m.handle() }), { ok: 'opened' });
    assert.deepEqual(await writer.call({ op: 'write', from: 0, count: N, batch: true, size: 16 }), { ok: N });
    const here: number[] = [];
    for (let i = 0; i < 100; i++) here.push(seqOf(m.buffer.consume(1)!.data));
    const consumed = (await reader.call({ op: 'consume', cpu: 1, max: 400 })).ok as [number, number][];
    const pages = (await reader.call({ op: 'pages', cpu: 1, full: false })).ok as Uint8Array[];
    const paged = pages.flatMap((p) => dataEvents(decodePage(p)).map((e) => seqOf(e.data)));
    assert.deepEqual([...here, ...consumed.map(([seq]) => seq), ...paged], Array.from({ length: N }, (_, i) => i));
    const st = m.buffer.stats(1);
    assert.equal(st.entries, 0);
    assert.equal(st.overrun, 0);
    assert.equal(st.readEvents, N);
    assert.deepEqual(await writer.call({ op: 'release' }), { ok: 'released' });
  } finally {
    writer.terminate();
    reader.terminate();
    await m.close();
  }
});
