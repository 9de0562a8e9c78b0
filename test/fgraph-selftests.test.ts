// The kernel's function_graph and stack tracer selftests (tools/testing/selftests/ftrace/test.d/ftrace:
// fgraph-filter.tc, fgraph-filter-stack.tc, fgraph-multi.tc, fgraph-multi-filter.tc (upstream; not in
// the copied tree), fgraph-profiler.tc, fgraph-retval.tc, func_stack_tracer.tc) rewritten over machine.fs, in the style of
// selftests-ftrace.test.ts: where a script sleeps and lets the running system call functions, a
// workload calls real kernel chains (kernel-text.ts's callTree). Substitutions:
//   - fgraph-retval.tc writes to /proc/interrupts (proc_reg_write returns -EIO): the workload makes
//     that call, vfs_write -> proc_reg_write returning -5;
//   - /proc/sys/kernel/stack_tracer_enabled is machine.ftrace.stack.writeSysctl() (the procfs mount's API);
//   - func_stack_tracer.tc's `( echo forked )` is a kernel_clone call chain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Workload, type RingMachine, type MachineOptions } from '../src/index.ts';
import { callTree } from '../src/ftrace/kernel-text.ts';
import { withMachine } from './helpers.ts';

const OPTS: MachineOptions = { cpus: 2, bufferSizeKb: 256, clock: 'virtual' };

// what the running system calls while a script sleeps: reads, a nanosleep, a timer interrupt, a fork
function busy(): Workload {
  return new Workload()
    .task(100, 'sh')
    .callGraph([callTree('ksys_read'), callTree('hrtimer_nanosleep'), callTree('kernel_clone'), { fn: 'io_schedule' }])
    .context('irq')
    .callGraph(callTree('sysvec_apic_timer_interrupt'))
    .context('normal');
}

// `cat trace | grep -v '^#'`
function body(m: RingMachine, dir = ''): string[] {
  return m.fs.read(`${dir}trace`).split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

// the part of fgraph-filter.tc and fgraph-filter-stack.tc that checks the trace
function onlySchedule(m: RingMachine): void {
  const lines = body(m);
  assert.deepEqual(lines.filter((l) => l.includes('()') && !l.includes('schedule')), [], 'Graph filtering not working by itself?');
  assert.ok(lines.some((l) => l.includes('schedule()')), 'No schedule traces found?');
}

test('fgraph-filter.tc: function graph filters', async () => {
  await withMachine(OPTS, async (m) => {
    assert.ok(m.fs.read('available_tracers').includes('function_graph'));
    await m.fs.write('tracing_on', '0\n');
    await m.fs.write('trace', '');
    await m.fs.write('set_ftrace_filter', 'schedule\n');
    await m.fs.write('current_tracer', 'function_graph\n');
    await m.fs.write('tracing_on', '1\n');
    await m.run(0, busy());
    onlySchedule(m);
  });
});

test('fgraph-filter-stack.tc: function graph filters with stack tracer', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    await fs.write('tracing_on', '0\n');
    await fs.write('trace', '');
    await fs.write('set_ftrace_filter', 'schedule\n');
    await fs.write('current_tracer', 'function_graph\n');
    assert.ok(fs.ls('').includes('stack_trace'));
    await m.ftrace.stack.writeSysctl('1\n');
    await fs.write('tracing_on', '0\n');
    await fs.write('trace', '');
    await fs.write('tracing_on', '1\n');
    await m.run(0, busy());
    onlySchedule(m);
    await m.ftrace.stack.writeSysctl('0\n');
    await fs.write('trace', '');
    await m.run(0, busy());
    onlySchedule(m);
  });
});

test('fgraph-multi.tc: function graph filters in several instances at once', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    for (const i of [1, 2, 3]) await fs.mkdir(`instances/test${i}`);
    assert.ok(fs.read('instances/test1/available_tracers').includes('function_graph'));
    await fs.write('tracing_on', '0\n');
    await fs.write('trace', '');
    // do_test REGEX TEST in DIR: filter, function_graph, run, then every '{' or ';' line has TEST
    const doTest = async (dir: string, regex: string, want: string) => {
      await fs.write(`${dir}set_ftrace_filter`, `${regex}\n`);
      await fs.write(`${dir}trace`, '');
      await fs.write(`${dir}current_tracer`, 'function_graph\n');
      await fs.write(`${dir}tracing_on`, '1\n');
      await m.run(0, busy());
      await fs.write(`${dir}tracing_on`, '0\n');
      const fn = body(m, dir).filter((l) => l.includes('{') || l.includes(';'));
      await fs.write(`${dir}tracing_on`, '1\n');
      assert.deepEqual(fn.filter((l) => !l.includes(want)), [], `Graph filtering not working by itself against ${want}?`);
      assert.ok(fn.length > 0, `No traces found with ${want}?`);
    };
    await doTest('', '*sched*', 'sched');
    await doTest('instances/test1/', '*lock*', 'lock');
    await doTest('instances/test2/', '*rcu*', 'rcu');
    await fs.write('instances/test3/current_tracer', 'function_graph\n');
    await m.run(1, busy());
    assert.ok(body(m, 'instances/test3/').some((l) => l.includes('{') || l.includes(';')), 'No traces found with all tracing?');
    assert.equal(m.ftrace.graph.users, 4);
    for (const dir of ['', 'instances/test1/', 'instances/test2/', 'instances/test3/']) await fs.write(`${dir}current_tracer`, 'nop\n');
    for (const i of [1, 2, 3]) await fs.rmdir(`instances/test${i}`);
    assert.equal(m.ftrace.graph.users, 0);
    assert.deepEqual(m.ftrace.checkCounts(), { bad: 0, first: null });
  });
});

test('fgraph-multi-filter.tc: two graph instances with their own filter and notrace hashes', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    const I1 = 'instances/test1_1/';
    const I2 = 'instances/test2_1/';
    await fs.mkdir(I1.slice(0, -1));
    assert.ok(fs.read(`${I1}available_tracers`).includes('function_graph'));
    await fs.mkdir(I2.slice(0, -1));
    await fs.write('tracing_on', '0\n');
    await fs.write('trace', '');
    // function_count SEARCH VSEARCH: enabled_functions lines with SEARCH, then with VSEARCH too
    const count = (search?: string, vsearch?: string) =>
      fs.read('enabled_functions').split('\n').filter((l) => l && (!search || l.includes(search)) && (!vsearch || l.includes(vsearch))).length;
    const setFgraph = async (dir: string, filter: string, notrace: string) => {
      await fs.write(`${dir}set_ftrace_filter`, `${filter}\n`);
      await fs.write(`${dir}set_ftrace_notrace`, `${notrace}\n`);
      await fs.write(`${dir}current_tracer`, 'function_graph\n');
    };
    const reset = (dir: string) => fs.write(`${dir}current_tracer`, 'nop\n');
    const total = count();
    const timeCnt = count('time');
    const clockCnt = count('clock');
    const locksClock = count('locks', 'clock');
    const clockLocks = count('clock', 'locks');
    await setFgraph(I1, '*sched*', '*time*');
    assert.ok(count('time') <= timeCnt);
    const instance1 = count();
    await setFgraph(I2, '*lock*', '*clock*');
    const instance12 = count();
    await reset(I1);
    assert.ok(count('clock') <= clockCnt);
    const instance2 = count();
    await reset(I2);
    assert.ok(count() <= total);
    await setFgraph(I2, '*lock*', '*clock*');
    assert.equal(count(), instance2);
    assert.ok(count('clock') <= clockCnt);
    await setFgraph(I1, '*sched*', '*time*');
    assert.equal(count(), instance12);
    await reset(I2);
    assert.equal(count(), instance1);
    assert.ok(count('time') <= timeCnt);
    await reset(I1);
    assert.ok(count() <= total);
    await setFgraph(I1, '', '*locks*');
    await setFgraph(I2, '', '*clock*');
    assert.ok(count('locks', 'clock') <= locksClock);
    assert.ok(count('clock', 'locks') <= clockLocks);
    assert.ok(instance1 > 0 && instance12 > instance1 && instance2 > 0);
    await reset(I1);
    await reset(I2);
    await fs.rmdir(I1.slice(0, -1));
    await fs.rmdir(I2.slice(0, -1));
    assert.deepEqual(m.ftrace.checkCounts(), { bad: 0, first: null });
  });
});

test('fgraph-profiler.tc: function profiler with function graph tracing', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    await fs.write('current_tracer', 'function_graph\n');
    await fs.write('function_profile_enabled', '1\n');
    await m.run(0, busy());
    assert.ok(body(m).length > 0);
    assert.ok(fs.read('trace_stat/function0').includes('schedule'));
    await fs.write('function_profile_enabled', '0\n');
    await fs.write('current_tracer', 'nop\n');
    assert.deepEqual(m.ftrace.checkCounts(), { bad: 0, first: null });
  });
});

test('fgraph-retval.tc: function graph print function return value', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    assert.ok(fs.ls('options').includes('funcgraph-retval') && fs.ls('options').includes('funcgraph-retval-hex'));
    await fs.write('tracing_on', '0\n');
    await fs.write('trace', '');
    await fs.write('set_ftrace_filter', 'proc_reg_write\n');
    await fs.write('current_tracer', 'function_graph\n');
    await fs.write('options/funcgraph-retval', '1\n');
    await fs.write('tracing_on', '1\n');
    // echo > /proc/interrupts
    await m.run(0, new Workload().task(300, 'sh').enter('ksys_write').enter('vfs_write').enter('proc_reg_write').exit({ retval: -5 }).exit({ retval: -5 }).exit({ retval: -5 }));
    await fs.write('tracing_on', '0\n');
    await fs.write('options/funcgraph-retval-hex', '0\n');
    assert.ok(body(m).filter((l) => l.includes('proc_reg_write') && l.includes('= -5')).length > 0, 'Return value can not be printed in signed decimal format');
    await fs.write('options/funcgraph-retval-hex', '1\n');
    assert.ok(body(m).filter((l) => l.includes('proc_reg_write') && l.includes('fffffffb')).length > 0, 'Return value can not be printed in hexadecimal format');
  });
});

test('func_stack_tracer.tc: max-stack usage tracing', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    const st = m.ftrace.stack;
    assert.ok(fs.ls('').includes('stack_trace'));
    await fs.write('stack_trace_filter', '');
    await fs.write('stack_max_size', '0\n');
    await st.writeSysctl('1\n');
    const fork = () => m.run(0, new Workload().task(400, 'sh').callGraph([callTree('do_syscall_64'), callTree('kernel_clone')]));
    // Fork and wait for the first entry to become !lock
    let first = '';
    for (let timeout = 10; timeout > 0; timeout--) {
      await fork();
      first = fs.read('stack_trace').split('\n').find((l) => l.includes(' 0)')) ?? '';
      if (!first.includes('lock')) break;
    }
    // the kernel's test only waits here: a fork's deepest stack may well end in a lock
    assert.ok(first, 'a deepest stack was recorded');
    await st.writeSysctl('0\n');
    await fs.write('stack_trace_filter', '*lock*\n');
    const filter = fs.read('stack_trace_filter').split('\n').filter(Boolean);
    assert.equal(filter.length, filter.filter((l) => l.includes('lock')).length);
    await fs.write('stack_max_size', '0\n');
    await st.writeSysctl('1\n');
    // Fork and always the first entry including lock
    for (let timeout = 10; timeout > 0; timeout--) {
      await fork();
      first = fs.read('stack_trace').split('\n').find((l) => l.includes(' 0)')) ?? '';
      assert.ok(first.includes('lock'), first);
    }
    await st.writeSysctl('0\n');
  });
});
