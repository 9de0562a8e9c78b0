// Bad input (issue 2, "Bad input"): every bad request gets a typed RingtraceError with the errno the
// kernel would give (EINVAL for a bad value, as ring_buffer_lock_reserve()'s caller, tracing_entries_write
// and buffer_subbuf_size_kb's writer do), and nothing already recorded is lost or corrupted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMachine, Workload, RingtraceError, type RingMachine, type TraceEvent } from '../src/index.ts';
import { checkItem } from './decode.ts';
import { errCode } from './helpers.ts';

type Snapshot = { cpu: number; ts: number; data: Uint8Array }[];

function snapshot(m: RingMachine): Snapshot {
  return [...m.buffer.iterateMerged()].map((e) => ({ cpu: e.cpu, ts: e.ts, data: e.data }));
}

// Everything recorded before is still there, unchanged, and the counters agree.
function assertIntact(m: RingMachine, before: Snapshot, what: string): void {
  const now = snapshot(m);
  assert.equal(now.length, before.length, `${what}: ${now.length} events readable, expected ${before.length}`);
  for (let i = 0; i < before.length; i++) {
    assert.equal(now[i].cpu, before[i].cpu, `${what}: event ${i} CPU`);
    assert.equal(now[i].ts, before[i].ts, `${what}: event ${i} stamp`);
    assert.deepEqual(now[i].data, before[i].data, `${what}: event ${i} payload`);
  }
  for (const cpu of [0, 1]) {
    assert.equal(m.buffer.stats(cpu).entries, before.filter((e) => e.cpu === cpu).length, `${what}: CPU ${cpu} entries`);
  }
}

async function withRecorded(fn: (m: RingMachine, before: Snapshot) => Promise<void>): Promise<void> {
  const m = await createMachine({ cpus: 2, clock: 'virtual', bufferSizeKb: 32 });
  try {
    await m.run(0, new Workload().write({ size: 24, count: 50 }).write({ size: 200, count: 5 }));
    await m.run(1, new Workload().write({ size: 16, count: 30 }));
    const before = snapshot(m);
    assert.equal(before.length, 85);
    await fn(m, before);
    // finally consume it all: still every event, every payload intact
    const consumed: TraceEvent[] = [];
    for (let e = m.buffer.consumeMerged(); e; e = m.buffer.consumeMerged()) consumed.push(e);
    assert.equal(consumed.length, before.length);
    for (const e of consumed) assert.equal(typeof checkItem(e.data, e.cpu), 'object');
  } finally {
    await m.close();
  }
}

test('event size 0 or larger than the sub-buffer allows: EINVAL, nothing lost', async () => {
  await withRecorded(async (m, before) => {
    const max = m.buffer.maxDataSize;
    assert.equal(max, 4096 - 16 - 8, 'BUF_MAX_DATA_SIZE: a 4 KiB sub-buffer less its header and 8 bytes');
    // workloads are checked when built (size 0) and when bound to a buffer (too large)
    assert.throws(() => new Workload().write({ size: 0, count: 1 }), errCode('EINVAL', /size/));
    assert.throws(() => new Workload().write({ size: -4, count: 1 }), errCode('EINVAL'));
    assert.throws(() => new Workload().write({ size: 1.5, count: 1 }), errCode('EINVAL'));
    assert.throws(() => new Workload().stress({ seed: 1, maxSize: 0 }), errCode('EINVAL'));
    assert.throws(() => new Workload().begin({ size: 0 }), errCode('EINVAL'));
    await assert.rejects(m.run(0, new Workload().write({ size: max + 1, count: 1 })), errCode('EINVAL', new RegExp(String(max))));
    await assert.rejects(m.run(1, new Workload().stress({ seed: 1, maxSize: 100_000, count: 10 })), errCode('EINVAL'));
    await assert.rejects(m.run(0, new Workload().begin({ size: max + 1 }).end()), errCode('EINVAL'));
    assertIntact(m, before, 'after bad workload sizes');
    // the CPU still takes work afterwards
    const ok = await m.run(0, new Workload().write({ size: max, count: 1 }));
    assert.equal(ok.written, 1, 'an event of exactly max_data_size is recorded');
    const last = [...m.buffer.iterate(0)].at(-1)!;
    assert.equal(last.data.byteLength, max);
    assert.equal(typeof checkItem(last.data, 0), 'object');
    // the host writer (ring_buffer_write from JavaScript) checks the same bounds
    const w = m.attachWriter(1);
    try {
      assert.throws(() => w.write(new Uint8Array(0)), errCode('EINVAL'));
      assert.throws(() => w.write(new Uint8Array(max + 1)), errCode('EINVAL'));
      assert.throws(() => w.writeBatch([new Uint8Array(8), new Uint8Array(0)]), errCode('EINVAL'));
    } finally {
      w.release();
    }
    // nothing of the refused batch went in (it was rejected before anything was written); the one
    // good event is there
    before.push({ cpu: 0, ts: last.ts, data: last.data });
    before.sort((a, b) => a.ts - b.ts || a.cpu - b.cpu);
    assertIntact(m, before, 'after bad host writes');
  });
});

test('unknown or offline CPU: EINVAL for a CPU that does not exist, ENODEV for one that is offline', async () => {
  await withRecorded(async (m, before) => {
    await assert.rejects(m.run(5, new Workload().write({ size: 16, count: 1 })), errCode('EINVAL', /CPU 5/));
    await assert.rejects(m.run(-1, new Workload().write({ size: 16, count: 1 })), errCode('EINVAL'));
    await assert.rejects(m.run(1.5, new Workload().write({ size: 16, count: 1 })), errCode('EINVAL'));
    assert.throws(() => m.buffer.consume(5), errCode('EINVAL', /CPU 5/));
    assert.throws(() => m.buffer.peek(2), errCode('EINVAL'));
    assert.throws(() => m.buffer.readPage(5), errCode('EINVAL'));
    assert.throws(() => m.buffer.stats(5), errCode('EINVAL'));
    assert.throws(() => [...m.buffer.iterate(5)], errCode('EINVAL'));
    assert.throws(() => m.attachWriter(5), errCode('ENODEV'));
    await assert.rejects(m.buffer.reset(5), errCode('EINVAL'));
    await assert.rejects(m.buffer.resize(8192, 5), errCode('EINVAL'));
    await assert.rejects(m.cpuUp(5), errCode('EINVAL'));
    assertIntact(m, before, 'after unknown CPUs');
  });
  // a possible CPU that is offline: no worker to run on
  const m = await createMachine({ cpus: 3, online: 2, clock: 'virtual', bufferSizeKb: 16 });
  try {
    await m.run(0, new Workload().write({ size: 16, count: 10 }));
    await assert.rejects(m.run(2, new Workload().write({ size: 16, count: 1 })), errCode('ENODEV', /offline/));
    assert.throws(() => m.attachWriter(2), errCode('ENODEV'));
    // never online: no per-CPU buffer (trace_rb_cpu_prepare never ran for it)
    assert.throws(() => m.buffer.consume(2), errCode('ENODEV'));
    assert.equal([...m.buffer.iterate(0)].length, 10);
  } finally {
    await m.close();
  }
});

test('buffer size: non-numeric, non-integer or zero bufferSizeKb and resize to 0 are EINVAL, nothing lost', async () => {
  for (const bad of [0, -8, 1.5, Number.NaN, Infinity, '64' as unknown as number, 'lots' as unknown as number]) {
    await assert.rejects(createMachine({ cpus: 2, bufferSizeKb: bad }), errCode('EINVAL'), `bufferSizeKb ${String(bad)}`);
  }
  await withRecorded(async (m, before) => {
    const pages = m.buffer.nrPages(0);
    await assert.rejects(m.buffer.resize(0), errCode('EINVAL'));
    await assert.rejects(m.buffer.resize(0, 1), errCode('EINVAL'));
    await assert.rejects(m.buffer.resize(-4096), errCode('EINVAL'));
    await assert.rejects(m.buffer.resize(1000.5), errCode('EINVAL'));
    await assert.rejects(m.buffer.resize(Number.NaN), errCode('EINVAL'));
    await assert.rejects(m.buffer.resize('big' as unknown as number), errCode('EINVAL'));
    assert.equal(m.buffer.nrPages(0), pages, 'the size did not change');
    assertIntact(m, before, 'after bad resizes');
    // and recording still works
    const r = await m.run(1, new Workload().write({ size: 16, count: 1 }));
    assert.equal(r.written, 1);
    const extra = [...m.buffer.iterate(1)].at(-1)!;
    before.push({ cpu: 1, ts: extra.ts, data: extra.data });
  });
});

test('sub-buffer size not a power of two or out of range: EINVAL, nothing lost', async () => {
  for (const bad of [0, 2048, 5000, 4096 * 3, 4096 << 8, 1 << 20, -4096, 4096.5]) {
    await assert.rejects(createMachine({ cpus: 2, subbufSize: bad }), errCode('EINVAL'), `subbufSize ${bad}`);
  }
  // the largest and smallest supported sizes work
  for (const good of [4096, 4096 << 7]) {
    const m = await createMachine({ cpus: 1, subbufSize: good, bufferSizeKb: 1024, clock: 'virtual' });
    try {
      assert.equal(m.buffer.subbufSize, good);
      assert.equal((await m.run(0, new Workload().write({ size: good - 24, count: 2 }))).written, 2);
    } finally {
      await m.close();
    }
  }
  await withRecorded(async (m, before) => {
    for (const bad of [3000, 2048, 4096 << 8, 0]) {
      await assert.rejects(m.buffer.setSubbufSize(bad), errCode('EINVAL'), `setSubbufSize ${bad}`);
    }
    assert.equal(m.buffer.subbufSize, 4096);
    assertIntact(m, before, 'after bad sub-buffer sizes');
  });
});

test('other bad machine options: cpus, online, clock, virtualStepNs', async () => {
  await assert.rejects(createMachine({ cpus: 0 }), errCode('EINVAL'));
  await assert.rejects(createMachine({ cpus: 1.5 }), errCode('EINVAL'));
  await assert.rejects(createMachine({ cpus: 2, online: 3 }), errCode('EINVAL'));
  await assert.rejects(createMachine({ cpus: 2, online: [0, 4] }), errCode('EINVAL'));
  await assert.rejects(createMachine({ cpus: 2, online: [] }), errCode('EINVAL'));
  await assert.rejects(createMachine({ cpus: 2, clock: 'sundial' as 'local' }), errCode('EINVAL', /sundial/));
  await assert.rejects(createMachine({ cpus: 2, virtualStepNs: 0 }), errCode('EINVAL'));
});

test('a refused workload leaves no shared memory behind (state intact)', async () => {
  await withRecorded(async (m, before) => {
    const used = m.machine.arena.bytesInUse;
    for (let i = 0; i < 3; i++) {
      await assert.rejects(m.run(0, new Workload().write({ size: m.buffer.maxDataSize + 1, count: 1 })), errCode('EINVAL'));
      await assert.rejects(m.run(5, new Workload().write({ size: 16, count: 1 })), errCode('EINVAL'));
    }
    assert.equal(m.machine.arena.bytesInUse, used, 'the arena holds what it held before the refused requests');
    assertIntact(m, before, 'after refused workloads');
  });
});
