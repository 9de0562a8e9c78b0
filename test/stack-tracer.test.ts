// The stack tracer (kernel/trace/trace_stack.c): the kernel.stack_tracer_enabled switch, stack_trace's
// table (depth, frame size, location) from the emulated frames, stack_max_size, stack_trace_filter
// (func_stack_tracer.tc's steps), and the record accounting of its ops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Workload, type MachineOptions } from '../src/index.ts';
import { frameSize } from '../src/ftrace/kernel-text.ts';
import { withMachine, errCode } from './helpers.ts';

const OPTS: MachineOptions = { cpus: 2, bufferSizeKb: 64, clock: 'virtual' };
const chain = (leaf: string) =>
  new Workload().callGraph({ fn: 'do_syscall_64', children: [{ fn: 'ksys_read', children: [{ fn: 'vfs_read', children: [{ fn: leaf }] }] }] });

test('stack_trace: disabled banner, then the deepest stack with each frame\'s depth and size', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    const st = m.ftrace.stack;
    assert.match(fs.read('stack_trace'), /^        Depth    Size   Location    \(0 entries\)\n        -----    ----   --------\n#\n#  Stack tracer disabled\n/);
    assert.equal(st.readSysctl(), '0\n');
    await st.writeSysctl('1\n');
    assert.equal(st.readSysctl(), '1\n');
    await m.run(0, chain('_raw_spin_lock'));
    const f = ['do_syscall_64', 'ksys_read', 'vfs_read', '_raw_spin_lock'].map(frameSize);
    const total = 168 + f.reduce((a, b) => a + b, 0);
    assert.equal(fs.read('stack_max_size'), `${total}\n`);
    const rows = fs.read('stack_trace').split('\n');
    assert.equal(rows[0], '        Depth    Size   Location    (4 entries)');
    assert.match(rows[2], new RegExp(`^  0\\) {1,8}${total} {3,8}${f[3]}   _raw_spin_lock\\+0x0/0x[0-9a-f]+$`));
    assert.match(rows[3], new RegExp(`^  1\\) +${total - f[3]} +${f[2]}   vfs_read\\+0x[0-9a-f]+/0x[0-9a-f]+$`));
    assert.match(rows[5], new RegExp(`^  3\\) +${168 + f[0]} +${168 + f[0]}   do_syscall_64\\+`));
    // a shallower stack does not replace the maximum
    await m.run(1, new Workload().call('kfree'));
    assert.equal(fs.read('stack_max_size'), `${total}\n`);
    await st.writeSysctl('0\n');
    assert.deepEqual(m.ftrace.checkCounts(), { bad: 0, first: null });
    assert.equal(m.ftrace.enabledFunctions().length, 0);
  });
});

test('stack_trace_filter and stack_max_size: only filtered functions are measured (func_stack_tracer)', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    const st = m.ftrace.stack;
    assert.equal(fs.read('stack_trace_filter'), '#### all functions enabled ####\n');
    await fs.write('stack_trace_filter', '*lock*\n');
    const lines = fs.read('stack_trace_filter').split('\n').filter(Boolean);
    assert.ok(lines.length > 10);
    assert.equal(lines.filter((l) => l.includes('lock')).length, lines.length);
    await assert.rejects(fs.write('stack_trace_filter', 'no_such_function_at_all\n'), errCode('EINVAL'));
    await fs.write('stack_trace_filter', '*lock*\n');
    await fs.write('stack_max_size', '0\n');
    await st.writeSysctl('1\n');
    await m.run(0, chain('kfree').call('mutex_lock'));
    const first = fs.read('stack_trace').split('\n').find((l) => l.startsWith('  0)'));
    assert.ok(first?.includes('lock'), first);
    await assert.rejects(st.writeSysctl('on\n'), errCode('EINVAL'));
    await assert.rejects(fs.write('stack_max_size', '-1\n'), errCode('EINVAL'));
    await st.writeSysctl('0\n');
    assert.equal(m.ftrace.enabledFunctions().length, 0);
  });
});
