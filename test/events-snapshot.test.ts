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

const pids = (text: string): string[] => lines(text).map((l) => /pid=(\d+)/.exec(l)?.[1] ?? l);

test('snapshot trigger: armed at registration, counts down, a filter picks the record, removal with !', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    const trig = 'events/sched/sched_wakeup/trigger';
    assert.equal(fs.read(trig), '# Available triggers:\n# traceon traceoff snapshot stacktrace\n');
    // the selftest's semantic errors
    await assert.rejects(fs.write(trig, 'snapshot+1\n'), errCode('EINVAL'));
    await fs.write(trig, 'snapshot:1\n');
    await assert.rejects(fs.write(trig, 'snapshot\n'), errCode('EEXIST'));
    assert.equal(fs.read(trig), 'snapshot:count=1\n');
    assert.match(fs.read('snapshot'), /Snapshot is allocated/, 'register_snapshot_trigger() allocates');
    await fs.write('events/sched/sched_wakeup/enable', '1\n');
    await m.run(0, new Workload().event('sched_wakeup', { pid: 1 }).event('sched_wakeup', { pid: 2 }));
    // one workload asked once: the swap at its end takes both records along
    assert.deepEqual(pids(fs.read('snapshot')), ['1', '2']);
    assert.deepEqual(pids(fs.read('trace')), []);
    assert.equal(fs.read(trig), 'snapshot:count=0\n');
    await m.run(1, new Workload().event('sched_wakeup', { pid: 3 }));
    assert.deepEqual(pids(fs.read('trace')), ['3'], 'a used-up count takes no snapshot');
    await fs.write(trig, '!snapshot\n');
    assert.match(fs.read(trig), /^# Available triggers/);
    await fs.write(trig, 'snapshot if pid == 5\n');
    assert.equal(fs.read(trig), 'snapshot:unlimited if pid == 5\n');
    await m.run(0, new Workload().event('sched_wakeup', { pid: 4 }));
    assert.deepEqual(pids(fs.read('trace')), ['3', '4']);
    await m.run(0, new Workload().event('sched_wakeup', { pid: 5 }));
    assert.deepEqual(pids(fs.read('snapshot')).sort(), ['3', '4', '5']);
    assert.deepEqual(pids(fs.read('trace')), ['1', '2'], 'the old snapshot is the main buffer now');
    await fs.write(trig, '!snapshot\n');
    assert.equal(fs.read('events/sched/sched_wakeup/enable'), '1\n');
  });
});

test('snapshot trigger on ftrace/print: trace_marker writes alternate between the buffers', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    assert.deepEqual(fs.ls('events/ftrace/print').sort(), ['format', 'id', 'trigger']);
    await fs.write('events/ftrace/print/trigger', 'snapshot\n');
    for (let i = 1; i <= 6; i++) await fs.write('trace_marker', `hello >${i}<\n`);
    // each write is reserved in one buffer, swapped out, then committed: odd ones end in the main buffer
    const marks = (text: string) => lines(text).map((l) => />(\d)</.exec(l)![1]);
    assert.deepEqual(marks(fs.read('trace')), ['1', '3', '5']);
    assert.deepEqual(marks(fs.read('snapshot')), ['2', '4', '6']);
    // the triggers see the text without the newline tracing_mark_write adds after them
    await fs.write('events/ftrace/print/trigger', '!snapshot\n');
    await fs.write('events/ftrace/print/trigger', 'traceoff if buf == "stop"\n');
    await fs.write('trace_marker', 'go on');
    assert.equal(fs.read('tracing_on'), '1\n');
    await fs.write('trace_marker', 'stop');
    assert.equal(fs.read('tracing_on'), '0\n');
    assert.match(fs.read('trace'), /tracing_mark_write: stop\n$/);
  });
});

test('a snapshot asked for after the snapshot was freed stops tracing and says so', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    await fs.write('events/sched/sched_wakeup/trigger', 'snapshot\n');
    await fs.write('snapshot', '0\n');
    await m.run(0, new Workload().event('sched_wakeup', { pid: 1 }));
    assert.equal(fs.read('tracing_on'), '0\n');
    assert.deepEqual(lines(fs.read('trace')).map((l) => l.replace(/^.*: \*/, '*')), ['*** SNAPSHOT NOT ALLOCATED ***', '*** stopping trace here!   ***']);
  });
});

test('snapshot function command: counted and unlimited probes, listed in set_ftrace_filter, removed with !', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    await assert.rejects(fs.write('set_ftrace_notrace', 'vfs_read:snapshot\n'), errCode('EINVAL'));
    assert.match(fs.read('snapshot'), /Snapshot is freed/);
    await fs.write('set_ftrace_filter', 'vfs_read:snapshot:2\n');
    assert.match(fs.read('snapshot'), /Snapshot is allocated/, 'ftrace_trace_snapshot_callback() arms first');
    assert.equal(fs.read('set_ftrace_filter'), '#### all functions enabled ####\nvfs_read:snapshot:count=2\n');
    await fs.write('trace_marker', 'one\n');
    await m.run(0, new Workload().call('vfs_read'));
    assert.match(fs.read('snapshot'), /tracing_mark_write: one\n$/);
    assert.equal(lines(fs.read('trace')).length, 0);
    assert.equal(fs.read('set_ftrace_filter'), '#### all functions enabled ####\nvfs_read:snapshot:count=1\n');
    await m.run(0, new Workload().call('vfs_read'));
    assert.match(fs.read('trace'), /tracing_mark_write: one\n$/, 'the second swap brings it back');
    await fs.write('trace_marker', 'two\n');
    await m.run(0, new Workload().call('vfs_read'));
    assert.match(fs.read('trace'), /tracing_mark_write: one\n.*tracing_mark_write: two\n$/s, 'a used-up count takes no snapshot');
    assert.equal(fs.read('set_ftrace_filter'), '#### all functions enabled ####\nvfs_read:snapshot:count=0\n');
    await fs.write('set_ftrace_filter', '!vfs_read:snapshot:0\n', { append: true });
    await fs.write('set_ftrace_filter', 'vfs_write:snapshot\n', { append: true });
    assert.equal(fs.read('set_ftrace_filter'), '#### all functions enabled ####\nvfs_write:snapshot:unlimited\n');
    await m.run(1, new Workload().call('vfs_write'));
    assert.match(fs.read('snapshot'), /tracing_mark_write: two\n$/);
    assert.equal(lines(fs.read('trace')).length, 0);
    await fs.write('set_ftrace_filter', '!vfs_write:snapshot\n', { append: true });
    assert.equal(fs.read('set_ftrace_filter'), '#### all functions enabled ####\n');
  });
});
