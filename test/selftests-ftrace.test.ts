// Conformance tests rewritten from the kernel's ftrace selftests, tools/testing/selftests/ftrace/test.d/ftrace/,
// driven through machine.fs (the tracefs files) and workloads whose CPUs call the functions (where the
// selftests `sleep` and let the running system call schedule & co.). Each test names the script it
// follows; substitutions are said where they are made:
//   - do_softirq is not in the emulated kernel text: FUNC2 of func_set_ftrace_file.tc is vfs_read;
//   - _do_fork is kernel_clone since 5.10 (the current selftest uses kernel_clone too);
//   - the trace_printk sample module is not in the catalog: func_mod_trace.tc uses uinput;
//   - there are no trace events: func_traceonoff_triggers.tc makes its trace entries with the function tracer.
// Not rewritten (the feature is not emulated): func-filter-pid.tc, func-filter-notrace-pid.tc
// (set_ftrace_pid), func_cpumask.tc (tracing_cpumask), func_event_triggers.tc (events),
// tracing-error-log.tc. fgraph-*.tc and func_stack_tracer.tc are in fgraph-selftests.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Workload, RingtraceError, type RingMachine, type MachineOptions } from '../src/index.ts';
import { killFtraceByReload, withMachine } from './helpers.ts';

const OPTS: MachineOptions = { cpus: 2, bufferSizeKb: 256, clock: 'virtual' };

// what the running system would call while a selftest sleeps
function busy(): Workload {
  return new Workload()
    .task(100, 'sh')
    .callGraph([
      { fn: 'ksys_read', children: [{ fn: 'vfs_read', children: [{ fn: 'schedule' }, { fn: 'mutex_lock' }] }] },
      { fn: 'vfs_write', count: 2 },
      { fn: 'io_schedule' },
      { fn: 'preempt_schedule' },
      { fn: 'kernel_clone' },
    ]);
}

// `grep -v '^#' trace`
function traceBody(m: RingMachine, dir = ''): string[] {
  return m.fs.read(`${dir}trace`).split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

// `cut -d' ' -f1 available_filter_functions`
function available(m: RingMachine): string[] {
  return m.fs.read('available_filter_functions').split('\n').filter(Boolean).map((l) => l.split(' ')[0]);
}

test('func_set_ftrace_file.tc: reading of set_ftrace_filter with functions and triggers', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    const FUNC1 = 'schedule';
    const FUNC2 = 'vfs_read';
    const ALL = '#### all functions enabled ####';
    // check_set_ftrace_filter: exactly these lines (cat, dd bs=1 and dd bs=100 read the same text here)
    const check = (...want: string[]) => assert.deepEqual(fs.read('set_ftrace_filter').split('\n').filter(Boolean).sort(), [...want].sort());
    check(ALL);
    await fs.write('set_ftrace_filter', `${FUNC1}:traceoff\n`);
    check(ALL, `${FUNC1}:traceoff:unlimited`);
    await fs.write('set_ftrace_filter', `${FUNC1}\n`);
    check(FUNC1, `${FUNC1}:traceoff:unlimited`);
    await fs.write('set_ftrace_filter', `${FUNC2}\n`, { append: true });
    check(FUNC1, FUNC2, `${FUNC1}:traceoff:unlimited`);
    await fs.write('set_ftrace_filter', `${FUNC2}:traceoff\n`, { append: true });
    check(FUNC1, FUNC2, `${FUNC1}:traceoff:unlimited`, `${FUNC2}:traceoff:unlimited`);
    await fs.write('set_ftrace_filter', `${FUNC1}\n`);
    check(FUNC1, `${FUNC1}:traceoff:unlimited`, `${FUNC2}:traceoff:unlimited`);
    await fs.write('set_ftrace_filter', '\n');
    check(ALL, `${FUNC1}:traceoff:unlimited`, `${FUNC2}:traceoff:unlimited`);
    // reset_ftrace_filter (test.d/functions): the probes go with '!func:cmd'
    await fs.write('set_ftrace_filter', `!${FUNC1}:traceoff\n`, { append: true });
    await fs.write('set_ftrace_filter', `!${FUNC2}:traceoff\n`, { append: true });
    check(ALL);
    await fs.write('set_ftrace_filter', `${FUNC1}\n`);
    check(FUNC1);
    await fs.write('set_ftrace_filter', `${FUNC2}\n`, { append: true });
    check(FUNC1, FUNC2);

    // test_actual: the functions named in set_ftrace_filter (before any ' ' or ':'), sorted -u
    const actual = () => [...new Set(fs.read('set_ftrace_filter').split('\n').filter((l) => l && !l.includes('#')).map((l) => l.split(' ')[0].split(':')[0]))].sort();
    let expected = [...new Set(available(m).filter((n) => n.includes('lock')))].sort();
    await fs.write('set_ftrace_filter', '*lock*:traceoff\n');
    assert.deepEqual(actual(), expected);
    expected = expected.filter((n) => !/try.*lock$/.test(n));
    await fs.write('set_ftrace_filter', '!*try*lock:traceoff\n', { append: true });
    assert.deepEqual(actual(), expected);
    expected = expected.filter((n) => !/^m.*lock$/.test(n));
    await fs.write('set_ftrace_filter', '!m*lock:traceoff\n', { append: true });
    assert.deepEqual(actual(), expected);
    expected = expected.filter((n) => !/^c.*unlock/.test(n));
    await fs.write('set_ftrace_filter', '!c*unlock*:traceoff\n', { append: true });
    assert.deepEqual(actual(), expected);
    await fs.write('set_ftrace_filter', '!*:traceoff\n', { append: true });
    assert.deepEqual(actual(), []);
  });
});

test('func-filter-glob.tc: function glob filters', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    assert.ok(fs.read('available_tracers').split(' ').map((s) => s.trim()).includes('function'));
    await fs.write('tracing_on', '0\n');
    await fs.write('trace', '\n');
    // ftrace_filter_check: `cut -f1 -d" " set_ftrace_filter` equals the grep of available_filter_functions
    const check = async (glob: string, re: RegExp) => {
      await fs.write('set_ftrace_filter', `${glob}\n`);
      const act = fs.read('set_ftrace_filter').split('\n').filter(Boolean).map((l) => l.split(' ')[0]);
      const exp = available(m).filter((n) => re.test(n));
      assert.ok(exp.length > 0, `${glob} selects something`);
      assert.deepEqual(act, exp, glob);
    };
    await check('*schedule', /^.*schedule$/);
    await check('*schedule*', /^.*schedule.*$/);
    await check('schedule*', /^schedule.*$/);
    await check('*pin*lock', /.*pin.*lock$/);
    await check('mutex*try*', /^mutex.*try.*/);
    // the full-glob part (the kernel's README says "accepts: ... glob-matching-pattern")
    await check('sch*ule', /^sch.*ule$/);
    await check('[Ss]y[Ss]_*', /^[Ss]y[Ss]_.*$/);
    await fs.write('set_ftrace_filter', 'sch?dule\n');
    assert.ok(fs.read('set_ftrace_filter').split('\n').includes('schedule'));
    await fs.write('set_ftrace_filter', '\n');
    await fs.write('tracing_on', '1\n');
  });
});

test('func_mod_trace.tc: function trace on module (uinput for the trace_printk sample)', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    // mod: allows to filter a non exist function
    await fs.write('set_ftrace_filter', 'non_exist_func:mod:non_exist_module\n');
    assert.match(fs.read('set_ftrace_filter'), /non_exist_func/);
    // mod: on exist module
    await fs.write('set_ftrace_filter', '*:mod:uinput\n');
    await m.ftrace.loadModule('uinput');
    // Wildcard should be resolved after loading module
    assert.match(fs.read('set_ftrace_filter'), /^uinput_release \[uinput\]$/m);
    // After removing the filter becomes empty
    await m.ftrace.unloadModule('uinput');
    assert.equal(fs.read('set_ftrace_filter').split('\n').filter(Boolean).length, 0);
  });
});

for (const instance of [false, true]) {
  test(`func_traceonoff_triggers.tc: function traceon/off triggers${instance ? ' (flags: instance)' : ''}`, async () => {
    await withMachine(OPTS, async (m) => {
      const fs = m.fs;
      let dir = '';
      if (instance) {
        await fs.mkdir('instances/ftracetest');
        dir = 'instances/ftracetest/';
      }
      const run = () => m.run(0, busy());
      const tracingOn = () => fs.read(`${dir}tracing_on`).trim();
      // DISABLE TRACING, clear_trace
      await fs.write(`${dir}tracing_on`, '0\n');
      await fs.write(`${dir}trace`, '\n');
      assert.equal(traceBody(m, dir).length, 0, 'Found junk in trace');
      // ENABLE EVENTS (here: the function tracer), ENABLE TRACING
      await fs.write(`${dir}current_tracer`, 'function\n');
      await fs.write(`${dir}tracing_on`, '1\n');
      await run();
      assert.ok(traceBody(m, dir).length > 0, 'Nothing found in trace');
      // SET TRACEOFF
      await fs.write(`${dir}set_ftrace_filter`, 'schedule:traceoff\n');
      if (instance) assert.notEqual(fs.read(`${dir}set_ftrace_filter`), fs.read('set_ftrace_filter'), 'per instance filter');
      assert.equal(fs.read(`${dir}set_ftrace_filter`).split('\n').filter((l) => l.includes('schedule')).length, 1);
      await run();
      const cnt = traceBody(m, dir).length;
      await run();
      assert.equal(traceBody(m, dir).length, cnt, 'Tracing is not stopped');
      assert.equal(tracingOn(), '0', 'Tracing is not off');
      const csum = fs.read(`${dir}trace`);
      await run();
      assert.equal(fs.read(`${dir}trace`), csum, 'Tracing file is still changing');
      await fs.write(`${dir}trace`, '\n');
      assert.equal(traceBody(m, dir).length, 0, 'Tracing is still happening');
      await fs.write(`${dir}set_ftrace_filter`, '!schedule:traceoff\n', { append: true });
      assert.equal(fs.read(`${dir}set_ftrace_filter`).split('\n').filter((l) => l.includes('schedule')).length, 0);
      assert.equal(tracingOn(), '0', 'Tracing is started again');
      await fs.write(`${dir}set_ftrace_filter`, 'schedule:traceon\n');
      assert.equal(fs.read(`${dir}set_ftrace_filter`).split('\n').filter((l) => l.includes('schedule')).length, 1);
      await run();
      assert.ok(traceBody(m, dir).length > 0, 'Tracing did not start');
      assert.equal(tracingOn(), '1', 'Tracing was not enabled');
      await fs.write(`${dir}set_ftrace_filter`, '!schedule:traceon\n', { append: true });
      assert.equal(fs.read(`${dir}set_ftrace_filter`).split('\n').filter((l) => l.includes('schedule')).length, 0);
      // check_sleep: traceoff:3 turns tracing off three times, then no more
      await fs.write(`${dir}set_ftrace_filter`, 'schedule:traceoff:3\n');
      for (const want of ['0', '0', '0', '1']) {
        await run();
        assert.equal(tracingOn(), want, `Expected tracing_on to be ${want}`);
        await fs.write(`${dir}tracing_on`, '1\n');
      }
      await fs.write(`${dir}set_ftrace_filter`, '!schedule:traceoff:0\n');
      assert.ok(!/traceo(n|ff)/.test(fs.read(`${dir}set_ftrace_filter`)), 'Tracing on and off triggers still exist');
    });
  });
}

for (const instance of [false, true]) {
  // ftrace_stacktrace() -> trace_stack(tr) writes into the probe's trace_array; the ftrace core writes
  // into the top-level buffer (trace_dump_stack), so the instance run is a known gap of the core
  test(`func-filter-stacktrace.tc: stacktrace filter command${instance ? ' (flags: instance)' : ''}`, async () => {
    await withMachine(OPTS, async (m) => {
      const fs = m.fs;
      let dir = '';
      if (instance) {
        await fs.mkdir('instances/ftracetest');
        dir = 'instances/ftracetest/';
      }
      await fs.write(`${dir}set_ftrace_filter`, 'kernel_clone:stacktrace\n', { append: true });
      assert.match(fs.read(`${dir}set_ftrace_filter`), /kernel_clone:stacktrace:unlimited/);
      // (echo "forked"; sleep 1): a fork
      await m.run(1, new Workload().task(200, 'sh').call('kernel_clone', { parent: 'do_syscall_64' }));
      assert.match(fs.read(`${dir}trace`), /<stack trace>/);
      if (instance) assert.doesNotMatch(fs.read('trace'), /<stack trace>/);
    });
  });
}

test('func_profiler.tc: function profiler with function tracing', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    // the script's requirement: grep -q function_graph available_tracers
    assert.ok(fs.read('available_tracers').includes('function_graph'));
    await fs.write('current_tracer', 'function\n');
    await fs.write('function_profile_enabled', '1\n');
    await m.run(0, busy());
    // Now filter on just schedule
    await fs.write('set_ftrace_filter', '*schedule\n');
    await fs.write('trace', '\n');
    await fs.write('function_profile_enabled', '0\n');
    await m.run(0, busy());
    const body = traceBody(m);
    assert.deepEqual(body.filter((l) => !l.includes('schedule')), [], 'more than schedule was found');
    assert.ok(body.some((l) => l.includes('schedule')), 'can not find schedule in trace');
    await fs.write('set_ftrace_filter', '\n');
    await fs.write('trace', '\n');
    await m.run(0, busy());
    assert.ok(traceBody(m).some((l) => !l.includes('schedule')), 'no other functions besides schedule was found');
  });
});

test('func_profile_stat.tc: function profiling', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    await fs.write('function_profile_enabled', '1\n');
    // Profile must be updated
    let before = fs.read('trace_stat/function0');
    await m.run(0, busy());
    assert.notEqual(fs.read('trace_stat/function0'), before);
    await fs.write('function_profile_enabled', '0\n');
    // Profile must NOT be updated
    before = fs.read('trace_stat/function0');
    await m.run(0, busy());
    assert.equal(fs.read('trace_stat/function0'), before);
  });
});

test('func_hotplug.tc: function trace across cpu hotplug', async () => {
  await withMachine({ ...OPTS, cpus: 3 }, async (m) => {
    const fs = m.fs;
    await fs.write('tracing_on', '0\n');
    await fs.write('trace', '\n');
    await fs.write('current_tracer', 'function\n');
    await fs.write('tracing_on', '1\n');
    await m.cpuDown(1);
    await m.run(0, busy());
    await m.cpuUp(1);
    await m.run(1, busy());
    await fs.write('tracing_on', '0\n');
    await fs.write('current_tracer', 'nop\n');
    assert.match(fs.read('trace'), /#P:3/);
    // the trace was reset by the tracer change; the machine is sound
    assert.equal(m.dmesg().filter((l) => l.includes('WARNING') || l.includes('BUG')).length, 0);
  });
});

test('func_set_ftrace_file.tc / ftrace_regex_open: the filter files fail with ENODEV once ftrace is dead', async () => {
  await withMachine({ ...OPTS, withoutFixes: ['8c4f3c3fa968'] }, async (m) => {
    const fs = m.fs;
    await killFtraceByReload(m);
    await assert.rejects(fs.write('set_ftrace_filter', 'schedule\n'), (e: unknown) => e instanceof RingtraceError && e.code === 'ENODEV');
  });
});
