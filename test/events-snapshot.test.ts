// snapshot (the swap of ring_buffer_swap_cpu), tracing_cpumask, and the selftests snapshot.tc and
// snapshot1.tc as fs calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Workload } from '../src/index.ts';
import { withMachine, errCode } from './helpers.ts';
import { lines } from './event-format.ts';

const OPTS = { cpus: 2, bufferSizeKb: 16, clock: 'virtual' } as const;


test('snapshot: help while freed or empty, swap on 1, clear on 2, free on 0; per-CPU files', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    assert.match(fs.read('snapshot'), /^# tracer: nop\n#\n#\n# \* Snapshot is freed \*\n#\n# Snapshot commands:\n# echo 0 > snapshot : Clears and frees snapshot buffer\n/);
    await fs.write('trace_marker', 'before\n');
    await fs.write('snapshot', '1\n');
    assert.match(fs.read('snapshot'), /tracing_mark_write: before\n$/);
    assert.equal(lines(fs.read('trace')).length, 0, 'the main buffer got the empty one');
    await fs.write('trace_marker', 'after\n');
    assert.match(fs.read('trace'), /tracing_mark_write: after\n$/);
    assert.doesNotMatch(fs.read('snapshot'), /after/);
    await fs.write('snapshot', '2\n');
    assert.match(fs.read('snapshot'), /# \* Snapshot is allocated \*/);
    assert.match(fs.read('per_cpu/cpu1/snapshot'), /# echo 0 > snapshot : Invalid for per_cpu snapshot file\./);
    await assert.rejects(fs.write('per_cpu/cpu0/snapshot', '0\n'), errCode('EINVAL'));
    // per CPU: only that CPU's buffers change places
    await fs.write('trace', '');
    await m.run(1, new Workload().task(5, 'w').event('sched_wakeup', { pid: 1 }));
    await fs.write('events/sched/sched_wakeup/enable', '1\n');
    await m.run(0, new Workload().event('sched_wakeup', { pid: 2 }));
    await m.run(1, new Workload().event('sched_wakeup', { pid: 3 }));
    await fs.write('per_cpu/cpu1/snapshot', '1\n');
    assert.deepEqual(lines(fs.read('trace')).map((l) => /pid=(\d)/.exec(l)![1]), ['2']);
    assert.deepEqual(lines(fs.read('snapshot')).map((l) => /pid=(\d)/.exec(l)![1]), ['3']);
    assert.ok(fs.readBinary('per_cpu/cpu1/snapshot_raw').length > 0);
    await fs.write('snapshot', '0\n');
    assert.match(fs.read('snapshot'), /Snapshot is freed/);
    assert.throws(() => fs.readBinary('per_cpu/cpu1/snapshot_raw'), errCode('ENODEV'));
  });
});

test('snapshot.tc and snapshot1.tc: tracing_on is kept, tracing_cpumask survives a swap', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    await fs.write('tracing_on', '0\n');
    await fs.write('snapshot', '1\n');
    assert.match(fs.read('snapshot'), /Snapshot is allocated/);
    assert.equal(fs.read('tracing_on'), '0\n');
    await fs.write('tracing_on', '1\n');
    await fs.write('snapshot', '1\n');
    assert.equal(fs.read('tracing_on'), '1\n');
    await fs.write('snapshot', '0\n');
    // snapshot1.tc
    const orig = fs.read('tracing_cpumask');
    assert.equal(orig, '3\n');
    await fs.write('tracing_cpumask', '0\n');
    await fs.write('snapshot', '1\n');
    await fs.write('tracing_cpumask', orig);
    await fs.write('tracing_on', '1\n');
    await fs.write('trace_marker', 'test input 1\n');
    assert.match(fs.read('trace'), /test input 1/);
  });
});

test('tracing_cpumask: recording only on the CPUs in the mask; bad masks change nothing', async () => {
  await withMachine({ ...OPTS, cpus: 3 }, async (m) => {
    const fs = m.fs;
    assert.equal(fs.read('tracing_cpumask'), '7\n');
    await fs.write('tracing_cpumask', '2\n');
    await fs.write('events/irq/enable', '1\n');
    for (const cpu of [0, 1, 2]) await m.run(cpu, new Workload().event('irq_handler_entry', { irq: cpu, name: 'x' }));
    assert.deepEqual(lines(fs.read('trace')).map((l) => /\[(\d+)\]/.exec(l)![1]), ['001']);
    await assert.rejects(fs.write('tracing_cpumask', 'zz\n'), errCode('EINVAL'));
    await assert.rejects(fs.write('tracing_cpumask', '8\n'), errCode('EOVERFLOW'));
    assert.equal(fs.read('tracing_cpumask'), '2\n');
    await fs.write('tracing_cpumask', '7\n');
    await m.run(2, new Workload().event('irq_handler_entry', { irq: 2, name: 'x' }));
    assert.equal(lines(fs.read('trace')).length, 2);
  });
});

test('snapshot swaps under a concurrent writer: nothing lost, the accounting exact', async () => {
  await withMachine({ cpus: 2, bufferSizeKb: 1024, clock: 'virtual' }, async (m) => {
    const count = 20_000;
    const writer = m.run(1, new Workload().stress({ seed: 7, maxSize: 48, count }));
    let swaps = 0;
    let done = false;
    void writer.finally(() => (done = true));
    while (!done || swaps < 3) {
      await m.fs.write('snapshot', '1\n');
      swaps++;
    }
    const res = await writer;
    const snap = m.events.snapshots.of(m.buffer)!;
    const main = m.buffer.stats(1);
    const other = snap.stats(1);
    assert.equal(main.overrun + other.overrun, 0);
    assert.equal(main.entries + other.entries + main.readEvents + other.readEvents, res.written);
    assert.equal(res.written + res.failed, count);
    assert.ok(swaps >= 3);
  });
});
