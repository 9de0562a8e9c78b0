// Readers on users' threads: the machine's handle posted to a worker, which consumes, peeks and reads
// whole pages (ring_buffer_consume / ring_buffer_peek / ring_buffer_read_page) while a writer in another
// worker and the main thread's reader work on the same CPU buffer. Every event is read exactly once,
// in order for each reader, and the per-CPU stats account for all of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMachine, openReader, attachWriter, Workload } from '../src/index.ts';
import { UserWorker, withMachine, errCode } from './helpers.ts';
import { decodePage, dataEvents } from './decode.ts';
import { abi } from '../src/layout.ts';

const seqOf = (data: Uint8Array) => new DataView(data.buffer, data.byteOffset).getUint32(0, true);

function increasing(seqs: number[], who: string): void {
  for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] > seqs[i - 1], `${who} reads in order: ${seqs[i - 1]} then ${seqs[i]}`);
}

async function threads(fn: (writer: UserWorker, reader: UserWorker) => Promise<void>): Promise<void> {
  const writer = new UserWorker();
  const reader = new UserWorker();
  try {
    await fn(writer, reader);
  } finally {
    await Promise.all([writer.terminate(), reader.terminate()]);
  }
}

test('a worker writes, a worker and the main thread consume at the same time: each event read once, stats exact', async () => {
  await withMachine({ cpus: 2, clock: 'counter', bufferSizeKb: 256 }, (m) =>
    threads(async (writer, reader) => {
      const N = 3000;
      assert.deepEqual(await writer.call({ op: 'attach', handle: m.handle(), cpu: 1 }), { ok: 'attached' });
      assert.deepEqual(await reader.call({ op: 'open-reader', handle: m.handle() }), { ok: 'opened' });
      const counter = new Int32Array(new SharedArrayBuffer(4));
      const writing = writer.call({ op: 'write', from: 0, count: N, batch: false, size: 16 });
      const draining = reader.call({ op: 'drain', cpu: 1, total: N, counter });
      // the main thread's reader takes its share while both workers run
      const here: number[] = [];
      const deadline = Date.now() + 120_000;
      while (Atomics.load(counter, 0) < N && Date.now() < deadline) {
        const ev = m.buffer.consume(1);
        if (!ev) {
          await new Promise((resolve) => setImmediate(resolve));
          continue;
        }
        here.push(seqOf(ev.data));
        Atomics.add(counter, 0, 1);
      }
      assert.deepEqual(await writing, { ok: N });
      const there = (await draining).ok as number[];
      increasing(here, 'the main thread');
      increasing(there, 'the worker');
      assert.equal(here.length + there.length, N);
      assert.deepEqual([...here, ...there].sort((a, b) => a - b), Array.from({ length: N }, (_, i) => i));
      const st = m.buffer.stats(1);
      assert.equal(st.entries, 0);
      assert.equal(st.overrun, 0);
      assert.equal(st.readEvents, N);
      assert.equal(st.warnings, 0);
      assert.deepEqual(await writer.call({ op: 'release' }), { ok: 'released' });
    }),
  );
});

test('read_page from a worker: whole sub-buffers in the kernel format, after a partial consume by the main thread', async () => {
  await withMachine({ cpus: 2, clock: 'counter', bufferSizeKb: 256 }, (m) =>
    threads(async (writer, reader) => {
      const N = 2000;
      assert.deepEqual(await writer.call({ op: 'attach', handle: m.handle(), cpu: 0 }), { ok: 'attached' });
      assert.deepEqual(await writer.call({ op: 'write', from: 0, count: N, batch: true, size: 24 }), { ok: N });
      assert.deepEqual(await reader.call({ op: 'open-reader', handle: m.handle() }), { ok: 'opened' });
      for (let seq = 0; seq < 10; seq++) assert.equal(seqOf(m.buffer.consume(0)!.data), seq);
      assert.deepEqual(await reader.call({ op: 'peek', cpu: 0 }), { ok: 10 });
      // with `full`, a partly read page and the page the writer is on are not handed out
      const full = (await reader.call({ op: 'pages', cpu: 0, full: true })).ok as Uint8Array[];
      const rest = (await reader.call({ op: 'pages', cpu: 0, full: false })).ok as Uint8Array[];
      const pages = [...full, ...rest];
      assert.ok(pages.length > 10, `${pages.length} pages`);
      const seqs: number[] = [];
      for (const page of pages) {
        assert.equal(page.length, m.buffer.subbufSize);
        const decoded = decodePage(page);
        assert.equal(decoded.missedEvents, false);
        for (const e of dataEvents(decoded)) {
          assert.equal(e.data.length, 24);
          seqs.push(seqOf(e.data));
        }
      }
      assert.deepEqual(seqs, Array.from({ length: N - 10 }, (_, i) => 10 + i));
      const st = m.buffer.stats(0);
      assert.equal(st.entries, 0);
      assert.equal(st.readEvents, N);
      assert.equal(st.overrun, 0);
      assert.deepEqual(await reader.call({ op: 'peek', cpu: 0 }), { ok: null });
      assert.deepEqual(await writer.call({ op: 'release' }), { ok: 'released' });
    }),
  );
});

test('an overwritten buffer read from a worker: read + overrun = written, the loss reported with the first event', async () => {
  await withMachine({ cpus: 2, clock: 'counter', bufferSizeKb: 8 }, (m) =>
    threads(async (writer, reader) => {
      const N = 2000;
      assert.deepEqual(await writer.call({ op: 'attach', handle: m.handle(), cpu: 1 }), { ok: 'attached' });
      assert.deepEqual(await writer.call({ op: 'write', from: 0, count: N, batch: true, size: 16 }), { ok: N });
      const before = m.buffer.stats(1);
      assert.ok(before.overrun > 0);
      assert.equal(before.entries + before.overrun, N);
      assert.deepEqual(await reader.call({ op: 'open-reader', handle: m.handle() }), { ok: 'opened' });
      const got = (await reader.call({ op: 'consume', cpu: 1, max: N })).ok as [number, number][];
      assert.equal(got.length, before.entries);
      assert.deepEqual(got.map(([seq]) => seq), Array.from({ length: got.length }, (_, i) => N - got.length + i));
      assert.equal(got[0][1], before.overrun);
      assert.equal(got.slice(1).reduce((n, [, lost]) => n + lost, 0), 0);
      const after = m.buffer.stats(1);
      assert.equal(after.entries, 0);
      assert.equal(after.overrun, before.overrun);
      assert.equal(after.readEvents, got.length);
      assert.deepEqual(await writer.call({ op: 'release' }), { ok: 'released' });
    }),
  );
});

test('instances, sub-buffer changes and resizes under a worker reader; errors are RingtraceErrors', async () => {
  await withMachine({ cpus: 2, clock: 'counter', bufferSizeKb: 64 }, (m) =>
    threads(async (writer, reader) => {
      await m.fs.mkdir('instances/foo');
      await m.fs.write('instances/foo/buffer_subbuf_size_kb', '8');
      assert.deepEqual(await writer.call({ op: 'attach', handle: m.handle(), cpu: 1 }), { ok: 'attached' });
      assert.deepEqual(await reader.call({ op: 'open-reader', handle: m.handle(), instance: 'foo' }), { ok: 'opened' });
      assert.deepEqual(await reader.call({ op: 'pages', cpu: 1, full: false }), { ok: [] });
      assert.deepEqual(await writer.call({ op: 'release' }), { ok: 'released' });
      const inFoo = await attachWriter(m.handle(), { cpu: 1, instance: 'foo' });
      for (let seq = 0; seq < 5; seq++) {
        const data = new Uint8Array(16);
        new DataView(data.buffer).setUint32(0, seq, true);
        assert.equal(inFoo.write(data), true);
      }
      inFoo.release();
      const pages = (await reader.call({ op: 'pages', cpu: 1, full: false })).ok as Uint8Array[];
      assert.equal(pages.length, 1);
      assert.equal(pages[0].length, 8192);
      assert.deepEqual(dataEvents(decodePage(pages[0])).map((e) => seqOf(e.data)), [0, 1, 2, 3, 4]);
      // the readers' spare page follows the sub-buffer size; resizes take the same reader lock
      await m.fs.write('instances/foo/buffer_subbuf_size_kb', '4');
      await m.fs.write('instances/foo/buffer_size_kb', '32');
      await m.fs.write('instances/foo/buffer_size_kb', '16');
      await m.run(1, new Workload().write({ size: 16, count: 3 }));
      assert.deepEqual(await reader.call({ op: 'consume', cpu: 1, max: 10 }), { ok: [] }, 'the workload writes the top-level buffer');

      // errors from the worker and here
      assert.deepEqual(await reader.call({ op: 'consume', cpu: 7, max: 1 }), { error: 'EINVAL' });
      assert.deepEqual(await reader.call({ op: 'open-reader', handle: m.handle(), instance: 'nope' }), { error: 'ENOENT' });
      assert.throws(() => openReader({} as never), errCode('EINVAL'));
      const r = openReader(m.handle());
      assert.equal(r.consume(1)?.data.length, 16);
      r.close();
      assert.throws(() => r.consume(1), errCode('EINVAL'));
      await m.fs.rmdir('instances/foo');
      assert.deepEqual(await reader.call({ op: 'consume', cpu: 1, max: 1 }), { error: 'ENOENT' });
    }),
  );
});

test('a reader thread terminated between reads leaves nothing held; readers end with the machine', async () => {
  const m = await createMachine({ cpus: 2, clock: 'counter', bufferSizeKb: 64 });
  try {
    const reader = new UserWorker();
    const handle = m.handle();
    try {
      await m.run(0, new Workload().write({ size: 16, count: 400 }));
      assert.deepEqual(await reader.call({ op: 'open-reader', handle }), { ok: 'opened' });
      assert.equal(((await reader.call({ op: 'consume', cpu: 0, max: 100 })).ok as unknown[]).length, 100);
      assert.ok(((await reader.call({ op: 'pages', cpu: 0, full: false })).ok as unknown[]).length > 0);
    } finally {
      await reader.terminate();
    }
    // the lock is free: the main thread reads, resizes (which takes the reader lock) and reads again
    await m.run(0, new Workload().write({ size: 16, count: 10 }));
    await m.fs.write('buffer_size_kb', '128');
    assert.equal(m.buffer.consume(0)?.data.length, 16);
    assert.ok(m.buffer.readPage(0));
    const r = openReader(handle);
    await m.close();
    assert.throws(() => r.consume(0), errCode('ENODEV', /closed/));
  } finally {
    await m.close();
  }
});

test("a read that traps on a corrupted ring is EFAULT in the worker, and gives the CPU buffer's reader lock back", async () => {
  await withMachine({ cpus: 2, clock: 'counter', bufferSizeKb: 64 }, async (m) => {
    const reader = new UserWorker();
    try {
      await m.run(1, new Workload().write({ size: 16, count: 50 }));
      assert.deepEqual(await reader.call({ op: 'open-reader', handle: m.handle() }), { ok: 'opened' });
      const mem = m.machine.mem;
      const at = m.buffer.cpuBuffer(1) + abi.CPB_READER_PAGE;
      const readerPage = mem.load32(at);
      mem.store32(at, 0x7ffffff0); // beyond the memory: the next read traps
      assert.deepEqual(await reader.call({ op: 'consume', cpu: 1, max: 1 }), { error: 'EFAULT' });
      mem.store32(at, readerPage);
      // the lock was given back: both threads read on
      assert.equal((await reader.call({ op: 'consume', cpu: 1, max: 10 })).ok instanceof Array, true);
      assert.ok(m.buffer.consume(1));
    } finally {
      await reader.terminate();
    }
  });
});
