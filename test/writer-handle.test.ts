// Writers attached from JavaScript threads: the machine's handle posted to a user's own worker, one
// writer per CPU buffer (EBUSY), a writer whose thread ended without release(), writers after close(),
// and what write() accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMachine, attachWriter, Workload, RingtraceError, type RingMachine } from '../src/index.ts';
import { UserWorker } from './helpers.ts';

const errCode = (code: string) => (err: unknown) => err instanceof RingtraceError && err.code === code;

function seqOf(data: Uint8Array): number {
  return new DataView(data.buffer, data.byteOffset).getUint32(0, true);
}

// Retries while the CPU is EBUSY, for at most ~20 s (the lease is WRITER_LEASE_MS + WRITER_WATCH_MS).
async function untilNotBusy<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!errCode('EBUSY')(err) || i === 100) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

async function withMachine(fn: (m: RingMachine) => Promise<void>): Promise<void> {
  const m = await createMachine({ cpus: 2, clock: 'counter', bufferSizeKb: 256 });
  try {
    await fn(m);
  } finally {
    await m.close();
  }
}

test("a user's worker writes as CPU 1 (single and batched); the main thread reads every event back in order, stats exact", async () => {
  await withMachine(async (m) => {
    const w = new UserWorker();
    try {
      assert.deepEqual(await w.call({ op: 'attach', handle: m.handle(), cpu: 1 }), { ok: 'attached' });
      assert.deepEqual(await w.call({ op: 'write', from: 0, count: 500, batch: false, size: 16 }), { ok: 500 });
      assert.deepEqual(await w.call({ op: 'write', from: 500, count: 700, batch: true, size: 24 }), { ok: 700 });
      // events larger than the batch area and the in-place path
      assert.deepEqual(await w.call({ op: 'write', from: 1200, count: 3, batch: true, size: 3000 }), { ok: 3 });
      // published at every call: the main thread sees everything while the writer stays attached
      const st = m.buffer.stats(1);
      assert.equal(st.entries, 1203);
      assert.equal(st.overrun, 0);
      assert.equal(m.buffer.stats(0).entries, 0, 'nothing on CPU 0');
      for (let seq = 0; seq < 1203; seq++) {
        const ev = m.buffer.consume(1);
        assert.ok(ev, `event ${seq}`);
        assert.equal(seqOf(ev.data), seq);
        assert.equal(ev.data.length, seq < 500 ? 16 : seq < 1200 ? 24 : 3000);
      }
      assert.equal(m.buffer.consume(1), null);
      const after = m.buffer.stats(1);
      assert.equal(after.entries, 0);
      assert.equal(after.readEvents, 1203);
      assert.equal(after.warnings, 0);
      assert.deepEqual(await w.call({ op: 'release' }), { ok: 'released' });
    } finally {
      await w.terminate();
    }
  });
});

// The writer's read side spans its thread's turn (assembly/writer.ts): a grace period asks it for a
// quiescent state, which its next call passes, so a reset completes while the thread is still inside
// one synchronous loop of writes; what the writer records after it is consistent.
test('a grace period does not wait for the end of a writer thread\'s turn: reset() during one long synchronous loop of writes', async () => {
  await withMachine(async (m) => {
    const w = new UserWorker();
    const flag = new Int32Array(new SharedArrayBuffer(4));
    try {
      assert.deepEqual(await w.call({ op: 'attach', handle: m.handle(), cpu: 1 }), { ok: 'attached' });
      const spin = w.call({ op: 'spin', flag, size: 16 });
      while (m.buffer.stats(1).entries === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      for (let i = 0; i < 3; i++) await m.buffer.reset(1);
      await m.buffer.setClock('local');
      Atomics.store(flag, 0, 1);
      const written = (await spin).ok as number;
      assert.ok(written > 0);
      const st = m.buffer.stats(1);
      assert.equal(st.warnings, 0);
      assert.ok(st.entries + st.overrun <= written, `${st.entries} + ${st.overrun} events after the resets, of ${written} written`);
      let last = -1;
      let n = 0;
      for (let ev = m.buffer.consume(1); ev; ev = m.buffer.consume(1), n++) {
        assert.ok(seqOf(ev.data) > last, `event ${seqOf(ev.data)} after ${last}`);
        last = seqOf(ev.data);
      }
      assert.equal(n, st.entries);
      assert.deepEqual(await w.call({ op: 'release' }), { ok: 'released' });
    } finally {
      Atomics.store(flag, 0, 1);
      await w.terminate();
    }
  });
});

test('one writer per CPU buffer: a second writer or a workload on a held CPU is EBUSY, from any thread', async () => {
  await withMachine(async (m) => {
    const w = new UserWorker();
    try {
      assert.deepEqual(await w.call({ op: 'attach', handle: m.handle(), cpu: 1 }), { ok: 'attached' });
      assert.throws(() => m.attachWriter(1), errCode('EBUSY'));
      await assert.rejects(attachWriter(m.handle(), { cpu: 1 }), errCode('EBUSY'));
      await assert.rejects(m.run(1, new Workload().write({ size: 16, count: 1 })), errCode('EBUSY'));
      await assert.rejects(m.cpuDown(1), errCode('EBUSY'));
      // other CPUs are free
      const mine = m.attachWriter(0);
      assert.deepEqual(await w.call({ op: 'attach', handle: m.handle(), cpu: 0 }), { error: 'EBUSY' });
      mine.release();
      assert.deepEqual(await w.call({ op: 'release' }), { ok: 'released' });
      // released: the CPU writes again, and the worker can take CPU 0
      assert.equal((await m.run(1, new Workload().write({ size: 16, count: 5 }))).written, 5);
      assert.deepEqual(await w.call({ op: 'attach', handle: m.handle(), cpu: 0 }), { ok: 'attached' });
      assert.deepEqual(await w.call({ op: 'write', from: 0, count: 3, batch: false, size: 8 }), { ok: 3 });
      assert.equal(m.buffer.stats(0).entries, 3);
      assert.equal(m.buffer.stats(1).entries, 5);
    } finally {
      await w.terminate();
    }
  });
});

test('a writer whose thread was terminated without release() does not wedge its CPU', async () => {
  await withMachine(async (m) => {
    const w = new UserWorker();
    assert.deepEqual(await w.call({ op: 'attach', handle: m.handle(), cpu: 1 }), { ok: 'attached' });
    assert.deepEqual(await w.call({ op: 'write', from: 0, count: 10, batch: false, size: 16 }), { ok: 10 });
    await w.terminate();
    // EBUSY while its lease lasts (its thread might only be busy); then the next claimant (a workload
    // here) takes the CPU over
    const r = await untilNotBusy(() => m.run(1, new Workload().write({ size: 16, count: 20 })));
    assert.equal(r.written, 20);
    assert.equal(m.buffer.stats(1).entries, 30);
    const again = await attachWriter(m.handle(), { cpu: 1 });
    assert.equal(again.write(new Uint8Array(4)), true);
    again.release();
    assert.equal(m.buffer.stats(1).entries, 31);
  });
});

test('no writer outlives close(): later calls fail clearly, and the thread can write into the next machine', async () => {
  const m1 = await createMachine({ cpus: 2, clock: 'counter', bufferSizeKb: 64 });
  const here = m1.attachWriter(1);
  const w = new UserWorker();
  try {
    assert.deepEqual(await w.call({ op: 'attach', handle: m1.handle(), cpu: 0 }), { ok: 'attached' });
    assert.equal(here.write(new Uint8Array(8)), true);
    await m1.close();
    assert.throws(() => here.write(new Uint8Array(8)), errCode('ENODEV'));
    assert.deepEqual(await w.call({ op: 'write', from: 0, count: 1, batch: false, size: 8 }), { error: 'ENODEV' });
    assert.throws(() => m1.attachWriter(1), errCode('ENODEV'));
    assert.throws(() => m1.handle(), errCode('ENODEV'));
    const m2 = await createMachine({ cpus: 2, clock: 'counter', bufferSizeKb: 64 });
    try {
      const next = m2.attachWriter(1);
      assert.equal(next.write(new Uint8Array(8)), true);
      next.release();
      assert.equal(m2.buffer.stats(1).entries, 1);
    } finally {
      await m2.close();
    }
  } finally {
    await w.terminate();
  }
});

test('write() takes bytes only: numbers, strings, plain arrays and null are EINVAL and record nothing', async () => {
  await withMachine(async (m) => {
    const w = m.attachWriter(1);
    try {
      for (const bad of [123, 'hello', [1, 2, 300], null, undefined, new Uint16Array(4)]) {
        assert.throws(() => w.write(bad as unknown as Uint8Array), errCode('EINVAL'), `write(${JSON.stringify(bad)})`);
        assert.throws(() => w.writeBatch([new Uint8Array(4), bad as unknown as Uint8Array]), errCode('EINVAL'));
      }
      assert.throws(() => w.writeBatch('abc' as unknown as Uint8Array[]), errCode('EINVAL'));
      assert.equal(m.buffer.stats(1).entries, 0, 'nothing recorded');
      assert.equal(w.write(Buffer.from('ok')), true, 'a Node Buffer is a Uint8Array');
      assert.equal(m.buffer.stats(1).entries, 1);
    } finally {
      w.release();
    }
    await assert.rejects(attachWriter({} as never, { cpu: 0 }), errCode('EINVAL'));
    await assert.rejects(attachWriter(m.handle(), { cpu: 7 }), errCode('EINVAL'));
    await assert.rejects(attachWriter(m.handle(), { cpu: 0, instance: 'nope' }), errCode('ENOENT'));
  });
});
