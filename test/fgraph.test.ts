// The function_graph tracer (kernel/trace/trace_functions_graph.c, fgraph.c): the text output checked
// line by line against what print_graph_* prints for the same events, every funcgraph option, the
// graph filters (set_ftrace_filter, set_graph_function, set_graph_notrace, max_graph_depth) with their
// errors, several graph users at once (instances and the profiler), and the raw event layout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Workload, type RingMachine, type MachineOptions } from '../src/index.ts';
import { withMachine, errCode } from './helpers.ts';
import { abi } from '../src/layout.ts';

const OPTS: MachineOptions = { cpus: 2, bufferSizeKb: 64, clock: 'virtual' };
const HEADER = '# tracer: function_graph\n#\n# CPU  DURATION                  FUNCTION CALLS\n# |     |   |                     |   |   |   |\n';

function body(m: RingMachine, path = 'trace'): string[] {
  return m.fs.read(path).split('\n').filter((l) => l && !l.startsWith('#'));
}

// vfs_read { rw_verify_area; seq_read { kmalloc_trace; mutex_lock x2 } }: on the virtual clock every
// event stamp moves the CPU's time by 1 us, so a function's duration is its own time plus 1 us per
// event its children wrote
const READ = new Workload().task(1234, 'bash').callGraph([
  {
    fn: 'vfs_read',
    durationNs: 100,
    children: [
      { fn: 'rw_verify_area', durationNs: 300 },
      { fn: 'seq_read', durationNs: 200_000, retval: -5, children: [{ fn: 'kmalloc_trace', durationNs: 12_000 }, { fn: 'mutex_lock', count: 2, durationNs: 50 }] },
    ],
  },
]);

test('function_graph: header, nesting, leaves, duration marks, as print_graph_* prints them', async () => {
  await withMachine(OPTS, async (m) => {
    assert.equal(m.fs.read('current_tracer'), 'nop\n');
    await m.fs.write('current_tracer', 'function_graph\n');
    await m.run(0, READ);
    assert.equal(
      m.fs.read('trace'),
      HEADER +
        ' 0)               |  vfs_read() {\n' +
        ' 0)   0.300 us    |    rw_verify_area();\n' +
        ' 0)               |    seq_read() {\n' +
        ' 0) + 12.000 us   |      kmalloc_trace();\n' +
        ' 0)   0.050 us    |      mutex_lock();\n' +
        ' 0)   0.050 us    |      mutex_lock();\n' +
        ' 0) ! 218.100 us  |    }\n' +
        ' 0) ! 222.500 us  |  }\n',
    );
    // trace_pipe prints the same and consumes
    assert.equal(body(m, 'trace_pipe').length, 8);
    assert.equal(body(m).length, 0);
  });
});

test('function_graph: marks at every threshold, the CPU column width and the task switch banner', async () => {
  await withMachine({ ...OPTS, cpus: 12 }, async (m) => {
    await m.fs.write('current_tracer', 'function_graph\n');
    const w = new Workload().task(1, 'init');
    for (const ns of [10_000, 10_001, 100_001, 1_000_001, 10_000_001, 100_000_001, 1_000_000_001]) w.call('schedule', { durationNs: ns });
    w.task(4242, 'kworker/u8:1').call('schedule', { durationNs: 5 });
    await m.run(11, w);
    assert.deepEqual(body(m), [
      ' 11)   10.000 us   |  schedule();',
      ' 11) + 10.001 us   |  schedule();',
      ' 11) ! 100.001 us  |  schedule();',
      ' 11) # 1000.001 us |  schedule();',
      ' 11) * 10000.00 us |  schedule();',
      ' 11) @ 100000.0 us |  schedule();',
      ' 11) $ 1000000 us  |  schedule();',
      ' ------------------------------------------',
      ' 11)     init-1     =>  kworker-4242 ',
      ' ------------------------------------------',
      ' 11)   0.005 us    |  schedule();',
    ]);
  });
});

test('function_graph options: proc, abstime, tail, duration, cpu, overhead, retval and retval-hex', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    assert.equal(fs.read('options/funcgraph-cpu'), '1\n');
    assert.equal(fs.read('options/funcgraph-proc'), '0\n');
    await fs.write('current_tracer', 'function_graph\n');
    await m.run(0, READ);
    await fs.write('options/funcgraph-proc', '1\n');
    await fs.write('options/funcgraph-abstime', '1\n');
    assert.equal(
      fs.read('trace').split('\n').slice(2, 7).join('\n'),
      '#     TIME        CPU  TASK/PID         DURATION                  FUNCTION CALLS\n' +
        '#      |          |     |    |           |   |                     |   |   |   |\n' +
        '    0.000001 |   0)   bash-1234    |               |  vfs_read() {\n' +
        '    0.000002 |   0)   bash-1234    |   0.300 us    |    rw_verify_area();\n' +
        '    0.000004 |   0)   bash-1234    |               |    seq_read() {',
    );
    await fs.write('options/funcgraph-proc', '0\n');
    await fs.write('options/funcgraph-abstime', '0\n');
    await fs.write('options/funcgraph-tail', '1\n');
    assert.deepEqual(body(m).slice(6), [' 0) ! 218.100 us  |    } /* seq_read */', ' 0) ! 222.500 us  |  } /* vfs_read */']);
    await fs.write('options/funcgraph-tail', '0\n');
    await fs.write('options/funcgraph-retval', '1\n');
    assert.deepEqual(body(m).slice(3, 7), [
      ' 0) + 12.000 us   |      kmalloc_trace(); /* = 0x0 */',
      ' 0)   0.050 us    |      mutex_lock(); /* = 0x0 */',
      ' 0)   0.050 us    |      mutex_lock(); /* = 0x0 */',
      ' 0) ! 218.100 us  |    } /* seq_read = -5 */',
    ]);
    await fs.write('options/funcgraph-retval-hex', '1\n');
    assert.equal(body(m)[6], ' 0) ! 218.100 us  |    } /* seq_read = 0xfffffffffffffffb */');
    await fs.write('options/funcgraph-retval', '0\n');
    await fs.write('options/funcgraph-overhead', '0\n');
    assert.equal(body(m)[3], ' 0)   12.000 us   |      kmalloc_trace();');
    await fs.write('options/funcgraph-duration', '0\n');
    assert.deepEqual(body(m).slice(0, 2), [' 0) vfs_read() {', ' 0)   rw_verify_area();']);
    await fs.write('options/funcgraph-cpu', '0\n');
    assert.equal(fs.read('trace').split('\n')[2], '#               FUNCTION CALLS');
    assert.equal(body(m)[0], 'vfs_read() {');
    // trace_options_write(): 0 or 1 only
    await assert.rejects(fs.write('options/funcgraph-cpu', '2\n'), errCode('EINVAL'));
    await assert.rejects(fs.write('options/funcgraph-cpu', 'on\n'), errCode('EINVAL'));
    assert.equal(fs.read('options/funcgraph-cpu'), '0\n');
    // tracer_flags are the tracer's: an instance sees the same values
    await fs.mkdir('instances/foo');
    assert.equal(fs.read('instances/foo/options/funcgraph-cpu'), '0\n');
  });
});

test('function_graph: irq entries get ==========> and <==========; funcgraph-irqs off hides them', async () => {
  await withMachine(OPTS, async (m) => {
    await m.fs.write('current_tracer', 'function_graph\n');
    const irq = new Workload()
      .enter('do_syscall_64')
      .context('irq')
      .enter('sysvec_apic_timer_interrupt')
      .call('hrtimer_interrupt', { durationNs: 2000 })
      .exit()
      .context('normal')
      .exit();
    await m.run(0, irq);
    assert.deepEqual(body(m), [
      ' 0)               |  do_syscall_64() {',
      ' 0)   ==========> |',
      ' 0)               |    sysvec_apic_timer_interrupt() {',
      ' 0)   2.000 us    |      hrtimer_interrupt();',
      ' 0)   4.000 us    |    }',
      ' 0)   <========== |',
      ' 0)   6.000 us    |  }',
    ]);
    // check_irq_entry() hides what was recorded; ftrace_graph_skip_irqs keeps new irq calls out
    await m.fs.write('options/funcgraph-irqs', '0\n');
    assert.deepEqual(body(m), [' 0)               |  do_syscall_64() {', ' 0)   6.000 us    |  }']);
    await m.fs.write('trace', '');
    await m.run(0, irq);
    assert.deepEqual(body(m), [' 0)   2.000 us    |  do_syscall_64();']);
  });
});

test('set_ftrace_filter with function_graph: only the filtered functions, at depth 0 (fgraph-filter)', async () => {
  await withMachine(OPTS, async (m) => {
    await m.fs.write('set_ftrace_filter', 'schedule\n');
    await m.fs.write('current_tracer', 'function_graph\n');
    await m.run(1, new Workload().callGraph({ fn: 'do_nanosleep', children: [{ fn: 'schedule', children: [{ fn: '__schedule', durationNs: 5000 }] }] }));
    const lines = body(m);
    assert.deepEqual(lines, [' 1)   5.000 us    |  schedule();']);
    assert.equal(lines.filter((l) => l.includes('()') && !l.includes('schedule')).length, 0);
  });
});

test('set_graph_function, set_graph_notrace and max_graph_depth, with their errors', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    assert.equal(fs.read('set_graph_function'), '#### all functions enabled ####\n');
    assert.equal(fs.read('set_graph_notrace'), '#### no functions disabled ####\n');
    assert.equal(fs.read('max_graph_depth'), '0\n');
    await fs.write('set_graph_function', 'seq_read\n');
    assert.equal(fs.read('set_graph_function'), 'seq_read\n');
    // ftrace_graph_set_hash(): a glob that matches nothing is EINVAL, and the file is committed at close
    await assert.rejects(fs.write('set_graph_function', 'no_such_function_here\n', { append: true }), errCode('EINVAL'));
    assert.equal(fs.read('set_graph_function'), 'seq_read\n');
    await fs.write('current_tracer', 'function_graph\n');
    await m.run(0, READ);
    assert.deepEqual(body(m), [
      ' 0)               |  seq_read() {',
      ' 0) + 12.000 us   |    kmalloc_trace();',
      ' 0)   0.050 us    |    mutex_lock();',
      ' 0)   0.050 us    |    mutex_lock();',
      ' 0) ! 218.100 us  |  }',
    ]);
    await fs.write('set_graph_function', '');
    await fs.write('set_graph_notrace', 'seq_read\n');
    assert.equal(fs.read('set_graph_notrace'), 'seq_read\n');
    await fs.write('trace', '');
    await m.run(0, READ);
    assert.deepEqual(body(m), [' 0)               |  vfs_read() {', ' 0)   0.300 us    |    rw_verify_area();', ' 0) ! 214.500 us  |  }']);
    await fs.write('set_graph_notrace', '!seq_read\n', { append: true });
    assert.equal(fs.read('set_graph_notrace'), '#### no functions disabled ####\n');
    await fs.write('max_graph_depth', '1\n');
    assert.equal(fs.read('max_graph_depth'), '1\n');
    await fs.write('trace', '');
    await m.run(0, READ);
    assert.deepEqual(body(m), [' 0) ! 212.500 us  |  vfs_read();']);
    await assert.rejects(fs.write('max_graph_depth', '-1\n'), errCode('EINVAL'));
    await assert.rejects(fs.write('max_graph_depth', 'two\n'), errCode('EINVAL'));
    assert.equal(fs.read('max_graph_depth'), '1\n');
    assert.equal(fs.ls('instances').length, 0);
  });
});

test('several graph users at once: instances with their own filters and the profiler (fgraph-multi, fgraph-profiler)', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    await fs.mkdir('instances/a');
    await fs.write('set_ftrace_filter', '*sched*\n');
    await fs.write('current_tracer', 'function_graph\n');
    await fs.write('instances/a/set_ftrace_filter', '*lock*\n');
    await fs.write('instances/a/current_tracer', 'function_graph\n');
    await fs.write('function_profile_enabled', '1\n');
    await m.run(0, new Workload().callGraph({ fn: 'schedule', children: [{ fn: 'mutex_lock', durationNs: 700 }, { fn: 'resched_curr', durationNs: 100 }] }));
    // the instances' trace clock is local: only the top level's events move the virtual time
    assert.deepEqual(body(m), [' 0)               |  schedule() {', ' 0)   0.100 us    |    resched_curr();', ' 0)   2.800 us    |  }']);
    // the instance's graph sees mutex_lock at the depth every graph user shares
    assert.deepEqual(body(m, 'instances/a/trace'), [' 0)   0.700 us    |    mutex_lock();']);
    const stat = fs.read('trace_stat/function0').split('\n');
    assert.ok(stat.some((l) => /^  schedule\s+1\s+2\.800 us/.test(l)), stat.join('\n'));
    await fs.write('instances/a/current_tracer', 'nop\n');
    await fs.rmdir('instances/a');
    await fs.write('current_tracer', 'nop\n');
    await fs.write('function_profile_enabled', '0\n');
    assert.equal(m.ftrace.graph.users, 0);
    assert.deepEqual(m.ftrace.checkCounts(), { bad: 0, first: null });
  });
});

test('the profiler with graph-time off takes the children out of a function\'s time', async () => {
  await withMachine(OPTS, async (m) => {
    await m.fs.write('function_profile_enabled', '1\n');
    await m.fs.write('options/graph-time', '0\n');
    await m.run(0, new Workload().callGraph({ fn: 'schedule', durationNs: 1000, children: [{ fn: 'mutex_lock', durationNs: 3000 }] }));
    const stat = m.ftrace.profileStats(0).map((s) => [s.name, s.hits, s.timeNs]);
    assert.deepEqual(stat, [['mutex_lock', 1, 3000], ['schedule', 1, 1000]]);
  });
});

test('funcgraph_entry / funcgraph_exit events: the kernel ids and struct layouts in the raw buffer', async () => {
  await withMachine(OPTS, async (m) => {
    await m.fs.write('current_tracer', 'function_graph\n');
    await m.run(0, new Workload().task(7, 'x').enter('vfs_write').exit({ retval: -22 }));
    const evs = [...m.buffer.iterate(0)];
    assert.equal(evs.length, 2);
    const ent = new DataView(evs[0].data.buffer, evs[0].data.byteOffset, evs[0].data.byteLength);
    const ret = new DataView(evs[1].data.buffer, evs[1].data.byteOffset, evs[1].data.byteLength);
    const ip = m.ftrace.lookupName('vfs_write')[0].ip;
    assert.equal(abi.TRACE_GRAPH_ENT, 11);
    assert.equal(abi.TRACE_GRAPH_RET, 10);
    assert.equal(evs[0].data.byteLength, 20);
    assert.equal(ent.getUint16(0, true), 11);
    assert.equal(ent.getInt32(4, true), 7);
    assert.equal(ent.getBigUint64(8, true), ip);
    assert.equal(ent.getUint32(16, true), 0);
    assert.equal(evs[1].data.byteLength, 48);
    assert.equal(ret.getUint16(0, true), 10);
    assert.equal(ret.getBigUint64(8, true), ip);
    assert.equal(ret.getBigInt64(16, true), -22n);
    assert.equal(ret.getUint32(24, true), 0);
    assert.ok(ret.getBigUint64(40, true) >= ret.getBigUint64(32, true));
  });
});

test('events/ftrace/funcgraph_entry/format and funcgraph_exit/format, as f_show() prints them', async () => {
  await withMachine(OPTS, async (m) => {
    const common =
      '\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n' +
      '\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n' +
      '\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n' +
      '\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n';
    assert.equal(
      m.fs.read('events/ftrace/funcgraph_entry/format'),
      'name: funcgraph_entry\nID: 11\nformat:\n' + common +
        '\tfield:unsigned long func;\toffset:8;\tsize:8;\tsigned:0;\n' +
        '\tfield:int depth;\toffset:16;\tsize:4;\tsigned:1;\n\n' +
        'print fmt: "--> %ps (%d)", (void *)REC->func, REC->depth\n',
    );
    const exit = m.fs.read('events/ftrace/funcgraph_exit/format').split('\n');
    assert.deepEqual(exit.slice(0, 3), ['name: funcgraph_exit', 'ID: 10', 'format:']);
    assert.deepEqual(exit.slice(8, 14), [
      '\tfield:unsigned long func;\toffset:8;\tsize:8;\tsigned:0;',
      '\tfield:unsigned long retval;\toffset:16;\tsize:8;\tsigned:0;',
      '\tfield:int depth;\toffset:24;\tsize:4;\tsigned:1;',
      '\tfield:unsigned int overrun;\toffset:28;\tsize:4;\tsigned:0;',
      '\tfield:unsigned long long calltime;\toffset:32;\tsize:8;\tsigned:0;',
      '\tfield:unsigned long long rettime;\toffset:40;\tsize:8;\tsigned:0;',
    ]);
  });
});

test('a shadow stack that is full: the deeper calls are not graphed, their count shows with funcgraph-overrun', async () => {
  await withMachine(OPTS, async (m) => {
    await m.fs.write('current_tracer', 'function_graph\n');
    const w = new Workload();
    for (let i = 0; i < abi.FTC_STACK_MAX + 2; i++) w.enter('mutex_lock');
    w.call('kfree');
    for (let i = 0; i < abi.FTC_STACK_MAX + 2; i++) w.exit();
    await m.run(0, w);
    const lines = body(m);
    // the innermost frame's entry and return are next to each other: a leaf
    assert.equal(lines.filter((l) => l.endsWith('mutex_lock() {')).length, abi.FTC_STACK_MAX - 1);
    assert.equal(lines.filter((l) => l.endsWith('mutex_lock();')).length, 1);
    assert.equal(lines.filter((l) => l.endsWith('}')).length, abi.FTC_STACK_MAX - 1);
    assert.equal(lines.filter((l) => l.includes('kfree')).length, 0);
    await m.fs.write('options/funcgraph-overrun', '1\n');
    assert.equal(body(m).filter((l) => l === ' (Overruns: 3)').length, abi.FTC_STACK_MAX - 1);
  });
});

test('fgraph_array holds 16 graph users: the 17th current_tracer write fails with ENOSPC and changes nothing', async () => {
  await withMachine({ ...OPTS, bufferSizeKb: 8 }, async (m) => {
    for (let i = 0; i < 16; i++) {
      await m.fs.mkdir(`instances/g${i}`);
      await m.fs.write(`instances/g${i}/current_tracer`, 'function_graph\n');
    }
    await assert.rejects(m.fs.write('current_tracer', 'function_graph\n'), errCode('ENOSPC'));
    assert.equal(m.fs.read('current_tracer'), 'nop\n');
    await m.fs.write('instances/g3/current_tracer', 'nop\n');
    await m.fs.write('current_tracer', 'function_graph\n');
    assert.equal(m.ftrace.graph.users, 16);
    assert.deepEqual(m.ftrace.checkCounts(), { bad: 0, first: null });
  });
});

// fgraph.c keeps a shadow stack per task: a task switched out inside a call chain returns through its
// own frames when it comes back, whoever ran meanwhile; with sleep-time off,
// ftrace_graph_probe_sched_switch() moves its calltimes on by the time it was off the CPU.
test('function_graph: each task returns through its own shadow stack; sleep-time off leaves out the time switched out', async () => {
  await withMachine(OPTS, async (m) => {
    await m.fs.write('current_tracer', 'function_graph\n');
    await m.fs.write('options/funcgraph-tail', '1\n');
    await m.fs.write('function_profile_enabled', '1\n');
    const w = () =>
      new Workload().task(10, 'a').enter('vfs_read').enter('schedule').task(20, 'b').callGraph({ fn: 'vfs_write', durationNs: 50_000 }).task(10, 'a').delay(300).exit().exit({ retval: 3 });
    const banner = (from: string, to: string) => [' ------------------------------------------', ` 0)${from}=>${to}`, ' ------------------------------------------'];
    const round = (schedule: string, read: string) => [
      ' 0)               |  vfs_read() {',
      ' 0)               |    schedule() {',
      ...banner('      a-10      ', '      b-20     '),
      // b's call is at its own depth 0, not inside a's schedule()
      ' 0) + 50.000 us   |  vfs_write();',
      ...banner('      b-20      ', '      a-10     '),
      ` 0) ${schedule} |    } /* schedule */`,
      ` 0) ${read} |  } /* vfs_read */`,
    ];
    await m.run(0, w());
    const schedNs = () => m.ftrace.profileStats(0).find((s) => s.name === 'schedule')!.timeNs;
    assert.equal(schedNs(), 52_300);
    await m.fs.write('options/sleep-time', '0\n');
    await m.run(0, w());
    assert.deepEqual(body(m), [...round('+ 52.300 us  ', '+ 54.300 us  '), ...round('  0.300 us   ', '  2.300 us   ')]);
    // the profiler reads the same calltimes
    assert.equal(schedNs(), 52_300 + 300);
  });
});
