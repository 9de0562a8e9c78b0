// Reliability under concurrency, exhaustion and misuse (issue 13): one test per item. Each of these
// failed (hung, stalled for seconds, half-applied, leaked or corrupted) before the fixes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createMachine, Workload, RingtraceError, type MachineOptions, type RingMachine } from '../src/index.ts';
import { abi } from '../src/layout.ts';
import { errCode, runCliCaptured, runNodeChild, withMachine } from './helpers.ts';

// A generous bound on one call that used to block the host for seconds (tens of microseconds now); the
// point is "not seconds", not a timing.
const NOT_STALLED_MS = 1500;

function timed<T>(fn: () => T): { value: T; ms: number } {
  const t0 = performance.now();
  const value = fn();
  return { value, ms: performance.now() - t0 };
}

test('1: readers of a writing CPU never block the host, also with recording off and during a grace period', { timeout: 60_000 }, async () => {
  await withMachine({ cpus: 2, bufferSizeKb: 16 }, async (m) => {
    const run = m.run(1, new Workload().stress({ seed: 3, maxSize: 64 }));
    await sleep(30);
    await m.fs.write('tracing_on', '0\n');
    const readers: [string, () => unknown][] = [
      ['trace', () => m.fs.read('trace')],
      ['per_cpu/cpu1/trace', () => m.fs.read('per_cpu/cpu1/trace')],
      ['per_cpu/cpu1/stats', () => m.fs.read('per_cpu/cpu1/stats')],
      ['stats(1)', () => m.buffer.stats(1)],
      ['readPage(1)', () => m.buffer.readPage(1)],
      ['trace_pipe', () => m.fs.read('trace_pipe')],
    ];
    for (const [what, read] of readers) {
      const { ms } = timed(read);
      assert.ok(ms < NOT_STALLED_MS, `${what} took ${ms.toFixed(0)} ms with CPU 1 writing and tracing_on 0`);
    }
    await m.fs.write('tracing_on', '1\n');
    // a resize and a clock change not awaited: their grace periods run while the host keeps reading
    const resize = m.buffer.resize(32 * 1024);
    const clock = m.buffer.setClock('global');
    const { ms } = timed(() => m.fs.readBinary('per_cpu/cpu1/trace_pipe_raw'));
    assert.ok(ms < NOT_STALLED_MS, `trace_pipe_raw took ${ms.toFixed(0)} ms during a resize`);
    await Promise.all([resize, clock]);
    assert.equal(m.buffer.nrPages(1), m.buffer.nrPagesFor(32 * 1024));
    // asked to publish, the CPU answers at its next quiescent point; what it reports is then readable
    await m.buffer.publishAsync();
    m.stop(1);
    const r = await run;
    assert.ok(r.written > 0);
    assert.equal(m.buffer.stats(1).warnings, 0, 'no RB_WARN_ON');
  });
});

test('1: a CPU\'s page reader waiting for a writer past the end of its page does not hold up the host\'s readers', { timeout: 60_000 }, async () => {
  await withMachine({ cpus: 2, bufferSizeKb: 16 }, async (m) => {
    await m.run(0, new Workload().write({ size: 24, count: 20 }));
    // the host's peek swaps the written page in as the reader page; then CPU 0's writer is made to look
    // descheduled in the middle of moving its tail off that page (rb_move_tail(): write past the end)
    assert.ok(m.buffer.peek(0));
    const { mem } = m.machine;
    const readerPage = mem.load32(m.buffer.cpuBuffer(0) + abi.CPB_READER_PAGE);
    const write = mem.load32(readerPage + abi.BP_WRITE);
    mem.store32(readerPage + abi.BP_WRITE, m.buffer.subbufSize + 64);
    // CPU 1 reads CPU 0's pages (ring_buffer_read_page): it waits for that writer, up to a second
    // at a time; before, it waited holding the reader lock, and every host reader of CPU 0 with it
    const reader = m.run(1, new Workload().readPages({ cpu: 0 }));
    await sleep(50);
    const { ms } = timed(() => {
      for (let i = 0; i < 20; i++) m.buffer.peek(0);
      return m.fs.read('per_cpu/cpu0/trace');
    });
    mem.store32(readerPage + abi.BP_WRITE, write);
    m.stop(1);
    await reader;
    assert.ok(ms < NOT_STALLED_MS, `20 peeks and a trace read of CPU 0 took ${ms.toFixed(0)} ms while CPU 1 waited for its writer`);
    let n = 0;
    while (m.buffer.consume(0)) n++;
    assert.equal(n, 20, 'nothing was lost');
  });
});

// A machine whose CPU 0 holds 20 events and whose reader lock is held, as if a reader on a CPU had
// taken it and its thread had then been descheduled; `release` gives it back.
async function withHeldReaderLock(fn: (m: RingMachine, release: () => void) => Promise<void>): Promise<void> {
  await withMachine({ cpus: 2, bufferSizeKb: 16 }, async (m) => {
    await m.run(0, new Workload().write({ size: 24, count: 20 }));
    const lock = m.buffer.cpuBuffer(0) + abi.CPB_READER_LOCK;
    m.machine.mem.store32(lock, 1);
    await fn(m, () => m.machine.mem.store32(lock, 0));
  });
}

test('1: the host does not sleep on a reader lock a descheduled CPU holds; its read finds nothing this time', { timeout: 60_000 }, async () => {
  await withHeldReaderLock(async (m, release) => {
    assert.equal(m.buffer.consume(0), null);
    assert.equal(m.buffer.peek(0), null);
    assert.equal(m.buffer.readPage(0), null);
    assert.deepEqual([...m.buffer.iterate(0)], []);
    assert.equal(m.fs.read('per_cpu/cpu0/trace_pipe'), '');
    assert.equal(m.buffer.stats(0).entries, 20, 'counters need no lock');
    release();
    assert.equal([...m.buffer.iterate(0)].length, 20);
    let n = 0;
    while (m.buffer.consume(0)) n++;
    assert.equal(n, 20, 'nothing was lost');
  });
});

test('2: a sub-buffer size change that runs out of memory leaves the buffer exactly as it was', { timeout: 60_000 }, async () => {
  // 700 MB per CPU in 512 KB sub-buffers: the first change fits beside the old pages, the second does not
  await withMachine({ cpus: 1, bufferSizeKb: 700_000, subbufSize: 524288 }, async (m) => {
    await m.run(0, new Workload().write({ size: 40, count: 1000 }));
    await m.fs.write('buffer_subbuf_size_kb', '256\n');
    await m.run(0, new Workload().write({ size: 40, count: 500 }));
    const size = m.fs.read('buffer_size_kb');
    const inUse = m.machine.arena.bytesInUse;
    await assert.rejects(m.fs.write('buffer_subbuf_size_kb', '128\n'), errCode('ENOMEM', /2048 MiB/));
    assert.equal(m.fs.read('buffer_subbuf_size_kb'), '256\n');
    assert.equal(m.fs.read('buffer_size_kb'), size);
    assert.equal(m.machine.arena.bytesInUse, inUse, 'nothing taken is kept');
    assert.equal(m.buffer.stats(0).entries, 500);
    let n = 0;
    while (m.buffer.consume(0)) n++;
    assert.equal(n, 500);
    await m.fs.write('current_tracer', 'function\n');
    await m.fs.write('current_tracer', 'nop\n');
    // a resize past the memory: ENOMEM, nothing changed either
    await assert.rejects(m.fs.write('buffer_size_kb', '2000000\n'), errCode('ENOMEM'));
    assert.equal(m.fs.read('buffer_size_kb'), size);
    assert.equal(m.machine.arena.bytesInUse, inUse);
  });
});

test('2: shrinking a buffer up to its head page keeps the HEAD flag (rb_remove_pages)', { timeout: 60_000 }, async () => {
  await withMachine({ cpus: 1, bufferSizeKb: 64, overwrite: false }, async (m) => {
    // 17 pages: the data on the first three (head p0 .. tail p2), 14 empty pages up to the head again
    await m.run(0, new Workload().write({ size: 40, count: 200 }));
    assert.equal(m.buffer.nrPages(0), 17);
    await m.buffer.resize(12_000);
    assert.equal(m.buffer.nrPages(0), 3);
    let n = 0;
    while (m.buffer.consume(0)) n++;
    assert.equal(n, 200);
    assert.equal(m.buffer.stats(0).warnings, 0, 'no RB_WARN_ON');
    await m.run(0, new Workload().write({ size: 40, count: 10 }));
    assert.equal(m.buffer.stats(0).entries, 10);
  });
});

test('6: ENOMEM comes at once, gives back what it took, and names the real limit', { timeout: 60_000 }, async () => {
  await withMachine({ cpus: 2, bufferSizeKb: 64 }, async (m) => {
    await m.run(0, new Workload().write({ size: 24, count: 100 }));
    const inUse = m.machine.arena.bytesInUse;
    const { ms } = timed(() => m.buffer.resize(1e12).catch((e: unknown) => e));
    const err = await m.buffer.resize(1e12).catch((e: unknown) => e);
    assert.ok(ms < NOT_STALLED_MS);
    assert.ok(err instanceof RingtraceError && err.code === 'ENOMEM', String(err));
    assert.match(err.message, /of the 2048 MiB are free/);
    assert.equal(m.machine.arena.bytesInUse, inUse, 'the failed resize kept nothing');
    // memory is not stuck: instances, resizes and readers work afterwards
    const a = await m.createInstance('a');
    await a.resize(128 * 1024);
    assert.ok(m.buffer.readPage(0));
    assert.equal(m.buffer.stats(0).entries + m.buffer.stats(0).readEvents, 100);
  });
  const err = await createMachine({ cpus: 2, bufferSizeKb: 2_000_000 }).then(
    async (m) => (await m.close(), null),
    (e: unknown) => e,
  );
  assert.ok(err instanceof RingtraceError && err.code === 'ENOMEM', String(err));
  assert.doesNotMatch(err.message, /-2048/);
  assert.match(err.message, /2048 MiB/);
});

test('3: an instance cannot be removed while a CPU writes into it; removed and foreign handles are refused', { timeout: 60_000 }, async () => {
  await withMachine({ cpus: 2, bufferSizeKb: 16 }, async (m) => {
    const a = await m.createInstance('a');
    const run = m.run(1, new Workload().stress({ seed: 1, maxSize: 48, buffer: a }));
    await sleep(20);
    await assert.rejects(m.fs.rmdir('instances/a'), errCode('EBUSY'));
    m.stop(1);
    await run;
    await m.fs.rmdir('instances/a');
    await assert.rejects(m.run(0, new Workload().write({ size: 16, count: 1, buffer: a })), errCode('ENODEV', /removed/));
    assert.throws(() => a.stats(0), errCode('ENODEV'));
    assert.throws(() => a.consume(0), errCode('ENODEV'));
    // a new instance in the freed memory shows nothing nobody wrote
    const b = await m.createInstance('b');
    for (const cpu of [0, 1]) assert.deepEqual([b.stats(cpu).entries, b.stats(cpu).overrun], [0, 0]);
    await withMachine({ cpus: 1 }, async (other) => {
      await assert.rejects(m.run(0, new Workload().write({ size: 16, count: 1, buffer: other.buffer })), errCode('EINVAL', /another machine/));
    });
  });
});

test('5: calls after close() fail and start nothing; close() leaves no thread behind', { timeout: 60_000 }, async () => {
  const m = await createMachine({ cpus: 2, online: 1 });
  await m.close();
  await assert.rejects(m.cpuUp(1), errCode('ENODEV', /closed/));
  await assert.rejects(m.run(0, new Workload().write({ size: 16, count: 1 })), errCode('ENODEV', /closed/));
  await assert.rejects(m.fs.write('buffer_size_kb', '8\n'), errCode('ENODEV'));
  await assert.rejects(m.createInstance('x'), errCode('ENODEV'));
  assert.equal(m.machine.onlineCpus().length, 0);
});

test('5: a createMachine() that runs out of memory after its workers started leaves nothing; the process exits by itself', { timeout: 300_000 }, async () => {
  const { code, out, hung } = await runNodeChild(fileURLToPath(new URL('./fixtures/enomem-after-start.ts', import.meta.url)), {
    flags: ['--expose-gc'],
    done: /^done: /m,
    exitMs: 30_000, // a hang guard: an exit takes milliseconds
    timeoutMs: 240_000,
  });
  assert.ok(!hung, `the process did not end by itself:\n${out}`);
  assert.equal(code, 0, out);
  assert.match(out, /^done: /m);
});

test('7: a trap in a CPU\'s work is an oops, not a dead worker; a bad readPages slot is refused', { timeout: 60_000 }, async () => {
  await withMachine({ cpus: 2 }, async (m) => {
    await assert.rejects(m.run(1, new Workload().readPages({ cpu: 0, slot: 2 ** 31 - 64 })), errCode('EINVAL', /slot/));
    // a program the encoder would never produce: a write into a trace_buffer outside the memory
    const mm = m.machine;
    const prog = mm.arena.alloc(64);
    const res = mm.arena.alloc(abi.RES_SIZE);
    mm.mem.i32.set([abi.OP_WRITE, 2 ** 31 - 256, 16, 10, res, abi.OP_END], prog >> 2);
    const ret = await mm.runProgram(1, prog);
    assert.equal(ret, abi.EFAULT_RET);
    assert.ok(mm.cpuCrashed(1));
    assert.ok(m.dmesg().some((l) => l.includes('BUG: unable to handle page fault')));
    await assert.rejects(m.run(1, new Workload().write({ size: 16, count: 1 })), errCode('EFAULT', /crashed/));
    // the crashed CPU still takes part in grace periods: control operations complete
    await m.fs.write('buffer_size_kb', '64\n');
    await m.run(0, new Workload().write({ size: 16, count: 10 }));
    assert.equal(m.buffer.stats(0).entries, 10);
  });
});

test('8: counted workloads stop on stop() and durationMs; bad counts and unbalanced begin()/end() are refused', { timeout: 60_000 }, async () => {
  await withMachine({ cpus: 2, bufferSizeKb: 16 }, async (m) => {
    const r = await m.run(1, new Workload().stress({ seed: 1, maxSize: 32, count: 2 ** 31 }), { durationMs: 200 });
    assert.ok(r.written < 2 ** 31);
    const w = m.run(0, new Workload().write({ size: 16, count: 2 ** 32 - 1 }));
    await sleep(50);
    m.stop(0);
    assert.ok((await w).written < 2 ** 32 - 1);
    for (const count of [-1, NaN, 1.5, 2 ** 32]) {
      assert.throws(() => new Workload().stress({ seed: 1, maxSize: 32, count }), errCode('EINVAL'), `stress count ${count}`);
      assert.throws(() => new Workload().write({ size: 16, count }), errCode('EINVAL'), `write count ${count}`);
    }
    await assert.rejects(m.run(0, new Workload().begin({ size: 16 }).write({ size: 16, count: 2 })), errCode('EINVAL', /never ended/));
    await assert.rejects(m.run(0, new Workload().end()), errCode('EINVAL', /without an open begin/));
    // nothing was left open: later events of CPU 0 are readable
    await m.fs.write('trace', '\n');
    await m.run(0, new Workload().write({ size: 16, count: 3 }));
    assert.equal(m.buffer.stats(0).entries, 3);
  });
});

test('9: garbage options are refused with a RingtraceError naming them', { timeout: 60_000 }, async () => {
  const bad: unknown[] = [
    null,
    'x',
    { withoutFixes: 'abc' },
    { overwrite: 'no' },
    { cpus: 2, bogus: 1 },
    { virtualStepNs: 2 ** 32 },
    { online: '0-1' },
    { clock: 3 },
  ];
  for (const opts of bad) {
    await assert.rejects(createMachine(opts as MachineOptions), errCode('EINVAL'), JSON.stringify(opts));
  }
  await withMachine({ cpus: 1 }, async (m) => {
    await assert.rejects(m.run(0, {} as Workload), errCode('EINVAL'));
    await assert.rejects(m.run(0, new Workload().write({ size: 16, count: 1 }), null as never), errCode('EINVAL'));
    assert.throws(() => new Workload().write(null as never), errCode('EINVAL'));
    await assert.rejects(m.createInstance('x'.repeat(100_000)), errCode('ENAMETOOLONG'));
    await assert.rejects(m.createInstance('a\0b'), errCode('EINVAL'));
    assert.equal(m.instances.size, 0);
  });
});

test('10: sh --online with a huge range is a usage error at once', { timeout: 60_000 }, async () => {
  const t0 = performance.now();
  const r = await runCliCaptured(['sh', '--online', '0-99999999999', '-c', 'true']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--online': CPU 2 does not exist/);
  assert.ok(performance.now() - t0 < 5000);
});

test('10: sh --timeout stops a script that would sleep for weeks: exit 124, like timeout(1)', { timeout: 60_000 }, async () => {
  const r = await runCliCaptured(['sh', '--timeout', '0.5', '-c', 'sleep 2000000; echo never']);
  assert.equal(r.code, 124);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /ran out of time \(--timeout 0\.5\)/);
});
