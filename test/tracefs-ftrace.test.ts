// The ftrace files of tracefs (machine.fs): current_tracer, available_tracers, set_ftrace_filter and
// set_ftrace_notrace with ftrace_regex_open/write/release semantics, the function commands, cached :mod:
// entries, enabled/touched_functions, the function profiler files, ENODEV after ftrace_kill(), and
// instances/ (mkdir, rmdir, EEXIST, ENOENT, EBUSY).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Workload, type RingMachine, type MachineOptions } from '../src/index.ts';
import { killFtraceByReload, withMachine, errCode } from './helpers.ts';

const OPTS: MachineOptions = { cpus: 2, bufferSizeKb: 64, clock: 'virtual' };
const ALL = '#### all functions enabled ####\n';
const NONE_DISABLED = '#### no functions disabled ####\n';

// lines of `trace` without the header
function traceLines(m: RingMachine, path = 'trace'): string[] {
  return m.fs.read(path).split('\n').filter((l) => l && !l.startsWith('#'));
}

test('current_tracer and available_tracers', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    assert.equal(fs.read('available_tracers'), 'function_graph function nop\n');
    assert.equal(fs.read('current_tracer'), 'nop\n');
    await fs.write('current_tracer', '  function \t\n');
    assert.equal(fs.read('current_tracer'), 'function\n');
    assert.equal(m.ftrace.currentTracer(), 'function');
    await assert.rejects(fs.write('current_tracer', 'function_graf\n'), errCode('EINVAL', /current_tracer/));
    await assert.rejects(fs.write('current_tracer', '\n'), errCode('EINVAL'));
    assert.equal(fs.read('current_tracer'), 'function\n', 'a failed write changes nothing');
    // the same tracer again keeps the buffer; a new one resets it (tracer_init)
    await m.run(0, new Workload().call('schedule'));
    await fs.write('current_tracer', 'function\n');
    assert.equal(traceLines(m).length, 1);
    await fs.write('current_tracer', 'nop\n');
    assert.equal(traceLines(m).length, 0);
    assert.deepEqual(fs.stat('available_tracers'), { type: 'file', mode: 0o440 });
    assert.deepEqual(fs.stat('current_tracer'), { type: 'file', mode: 0o640 });
  });
});

test('set_ftrace_filter: banner, > versus >>, ! removal, index, read-back in record order', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    assert.equal(fs.read('set_ftrace_filter'), ALL);
    assert.equal(fs.read('set_ftrace_notrace'), NONE_DISABLED);
    await fs.write('set_ftrace_filter', 'vfs_write schedule\n');
    // address order (the records' order), whatever the order written
    const order = m.fs.read('available_filter_functions').split('\n').filter((n) => n === 'schedule' || n === 'vfs_write');
    assert.equal(fs.read('set_ftrace_filter'), order.map((n) => `${n}\n`).join(''));
    await fs.write('set_ftrace_filter', 'vfs_read\n', { append: true });
    assert.equal(fs.read('set_ftrace_filter').split('\n').filter(Boolean).sort().join(' '), 'schedule vfs_read vfs_write');
    await fs.write('set_ftrace_filter', '!vfs_write\n', { append: true });
    assert.equal(fs.read('set_ftrace_filter').split('\n').filter(Boolean).sort().join(' '), 'schedule vfs_read');
    await fs.write('set_ftrace_filter', 'vfs_read\n');
    assert.equal(fs.read('set_ftrace_filter'), 'vfs_read\n');
    // a leading digit is an index into available_filter_functions (1-based)
    const third = fs.read('available_filter_functions').split('\n')[2];
    await fs.write('set_ftrace_filter', '3\n');
    assert.equal(fs.read('set_ftrace_filter'), `${third}\n`);
    assert.deepEqual(m.ftrace.filterOf().ips, [m.ftrace.lookupName(third)[0].ip]);
    // `echo > set_ftrace_filter` empties it
    await fs.write('set_ftrace_filter', '\n');
    assert.equal(fs.read('set_ftrace_filter'), ALL);
    await fs.write('set_ftrace_notrace', '*schedule\n');
    assert.ok(fs.read('set_ftrace_notrace').split('\n').includes('schedule'));
    await fs.write('set_ftrace_notrace', '\n');
    assert.equal(fs.read('set_ftrace_notrace'), NONE_DISABLED);
  });
});

test('set_ftrace_filter: a failing word fails the write, the words before it stay, the hash is committed at close', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    await fs.write('set_ftrace_filter', 'schedule\n');
    // >>: the first word fails; the filter is as it was
    await assert.rejects(fs.write('set_ftrace_filter', 'no_such_function\n', { append: true }), errCode('EINVAL', /set_ftrace_filter/));
    assert.equal(fs.read('set_ftrace_filter'), 'schedule\n');
    // >>: vfs_read applies, then no_such_function fails, vfs_write is never written
    await assert.rejects(fs.write('set_ftrace_filter', 'vfs_read no_such_function vfs_write\n', { append: true }), errCode('EINVAL'));
    assert.equal(fs.read('set_ftrace_filter').split('\n').filter(Boolean).sort().join(' '), 'schedule vfs_read');
    // >: O_TRUNC emptied the hash at open, the write fails, close commits the empty hash (as the kernel)
    await assert.rejects(fs.write('set_ftrace_filter', 'no_such_function\n'), errCode('EINVAL'));
    assert.equal(fs.read('set_ftrace_filter'), ALL);
    // unknown or not emulated commands
    await assert.rejects(fs.write('set_ftrace_filter', 'schedule:enable_event:sched:no_such_event\n', { append: true }), errCode('EINVAL'));
    await assert.rejects(fs.write('set_ftrace_filter', 'schedule:frobnicate\n', { append: true }), errCode('EINVAL'));
    // probe commands are set_ftrace_filter only
    await assert.rejects(fs.write('set_ftrace_notrace', 'schedule:traceoff\n', { append: true }), errCode('EINVAL'));
    assert.equal(fs.read('set_ftrace_notrace'), NONE_DISABLED);
    assert.deepEqual(m.ftrace.probes(), []);
  });
});

test('set_ftrace_filter: one open file, several write(2) calls, the word left in the parser at close', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    const h = fs.open('set_ftrace_filter', { write: true });
    await h.write('sche');
    await h.write('dule vfs_');
    assert.equal(fs.read('set_ftrace_filter'), ALL, 'nothing is committed before close');
    await h.write('read');
    await h.close();
    assert.equal(fs.read('set_ftrace_filter').split('\n').filter(Boolean).sort().join(' '), 'schedule vfs_read');
    // a last word without whitespace is processed at close, its error ignored
    await fs.write('set_ftrace_filter', 'vfs_write no_such_function', { append: true });
    assert.equal(fs.read('set_ftrace_filter').split('\n').filter(Boolean).sort().join(' '), 'schedule vfs_read vfs_write');
    await assert.rejects(h.write('x\n'), errCode('EINVAL', /closed/));
  });
});

test('function commands: probes listed after the functions, counts, ! removal, not cleared by O_TRUNC', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    await fs.write('set_ftrace_filter', 'schedule:traceoff\n');
    assert.equal(fs.read('set_ftrace_filter'), `${ALL}schedule:traceoff:unlimited\n`);
    await fs.write('set_ftrace_filter', 'vfs_read:traceon:5\n', { append: true });
    await fs.write('set_ftrace_filter', 'vfs_write:dump\n', { append: true });
    await fs.write('set_ftrace_filter', 'vfs_write:cpudump\n', { append: true });
    await fs.write('set_ftrace_filter', 'vfs_write:stacktrace:\n', { append: true });
    const lines = fs.read('set_ftrace_filter').split('\n').filter(Boolean);
    assert.equal(lines[0], ALL.trim());
    assert.deepEqual(lines.slice(1).sort(), [
      'schedule:traceoff:unlimited',
      'vfs_read:traceon:count=5',
      'vfs_write:cpudump:unlimited',
      'vfs_write:dump:count=1',
      'vfs_write:stacktrace:count=-1',
    ]);
    // O_TRUNC empties the hash, not the probes
    await fs.write('set_ftrace_filter', 'schedule\n');
    assert.equal(fs.read('set_ftrace_filter').split('\n')[0], 'schedule');
    assert.equal(m.ftrace.probes().length, 5);
    // `!func:cmd` takes the unlimited probe, `!func:cmd:N` the counted one
    await assert.rejects(fs.write('set_ftrace_filter', '!vfs_read:traceon\n', { append: true }), errCode('EINVAL'));
    await fs.write('set_ftrace_filter', '!vfs_read:traceon:0\n', { append: true });
    await fs.write('set_ftrace_filter', '!*:traceoff\n', { append: true });
    assert.deepEqual(m.ftrace.probes().map((p) => `${p.name}:${p.cmd}`).sort(), ['vfs_write:cpudump', 'vfs_write:dump', 'vfs_write:stacktrace']);
    await assert.rejects(fs.write('set_ftrace_filter', 'no_such_function:traceon\n', { append: true }), errCode('EINVAL'));
    await assert.rejects(fs.write('set_ftrace_filter', 'schedule:traceon:abc\n', { append: true }), errCode('EINVAL'));
  });
});

test(':mod: entries: matched when loaded, cached when not, applied at module load, O_TRUNC drops the cache', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    await fs.write('set_ftrace_filter', 'uinput_release:mod:uinput\n');
    // cached: no banner (FTRACE_HASH_FL_MOD), the entry as written
    assert.equal(fs.read('set_ftrace_filter'), 'uinput_release:mod:uinput\n');
    await fs.write('set_ftrace_filter', '*:mod:snd_dummy\n', { append: true });
    assert.equal(fs.read('set_ftrace_filter'), '*:mod:snd_dummy\nuinput_release:mod:uinput\n');
    await m.ftrace.loadModule('uinput');
    assert.equal(fs.read('set_ftrace_filter'), 'uinput_release [uinput]\n*:mod:snd_dummy\n');
    // loaded now: matched, not cached; a loaded module with nothing matching is EINVAL
    await fs.write('set_ftrace_filter', 'uinput_open:mod:uinput\n', { append: true });
    const lines = fs.read('set_ftrace_filter').split('\n').filter(Boolean);
    assert.deepEqual(lines.slice(0, 2).sort(), ['uinput_open [uinput]', 'uinput_release [uinput]']);
    assert.deepEqual(lines.slice(2), ['*:mod:snd_dummy']);
    await assert.rejects(fs.write('set_ftrace_filter', 'no_such:mod:uinput\n', { append: true }), errCode('EINVAL'));
    // '!' removes a cached entry; removing one that is not there is EINVAL
    await fs.write('set_ftrace_filter', '!*:mod:snd_dummy\n', { append: true });
    assert.ok(!fs.read('set_ftrace_filter').includes(':mod:'));
    await fs.write('set_ftrace_filter', 'foo:mod:loop\n', { append: true });
    await fs.write('set_ftrace_filter', 'schedule\n');
    assert.equal(fs.read('set_ftrace_filter'), 'schedule\n', 'O_TRUNC dropped the cached entry');
    await m.ftrace.loadModule('loop');
    assert.equal(fs.read('set_ftrace_filter'), 'schedule\n');
    // set_ftrace_notrace has its own cache
    // (FTRACE_HASH_FL_MOD is only ever set on the filter hash: the notrace banner stays)
    await fs.write('set_ftrace_notrace', '*:mod:snd_dummy\n');
    assert.equal(fs.read('set_ftrace_notrace'), `${NONE_DISABLED}*:mod:snd_dummy\n`);
    await m.ftrace.loadModule('snd_dummy');
    assert.ok(fs.read('set_ftrace_notrace').split('\n').every((l) => l === '' || l.endsWith('[snd_dummy]')));
    assert.ok(m.ftrace.notraceOf().ips.length > 0);
  });
});

test('a filter holding only cached :mod: entries traces nothing until the module loads (ftrace_hash_empty)', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    await fs.write('set_ftrace_filter', ':mod:uinput\n');
    await fs.write('current_tracer', 'function\n');
    await m.run(0, new Workload().call('schedule', { count: 3 }));
    assert.equal(m.buffer.stats(0).entries, 0, 'FTRACE_HASH_FL_MOD: not empty, matches nothing');
    await m.ftrace.loadModule('uinput');
    await m.run(0, new Workload().call('uinput_release').call('schedule'));
    const trace = fs.read('trace');
    assert.match(trace, /uinput_release/);
    assert.doesNotMatch(trace, /: schedule/);
  });
});

test('enabled_functions and touched_functions: name, (count) and the flag columns', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    assert.equal(fs.read('enabled_functions'), '');
    await fs.write('set_ftrace_filter', 'schedule vfs_read\n');
    await fs.write('current_tracer', 'function\n');
    const en = fs.read('enabled_functions').split('\n').filter(Boolean).sort();
    assert.deepEqual(en, ['schedule (1)           ', 'vfs_read (1)           ']);
    // a second ops on schedule: the count goes to 2
    await fs.write('set_ftrace_filter', 'schedule:traceon\n', { append: true });
    assert.ok(fs.read('enabled_functions').split('\n').includes('schedule (2)           '));
    await fs.write('current_tracer', 'nop\n');
    await fs.write('set_ftrace_filter', '!schedule:traceon\n', { append: true });
    assert.equal(fs.read('enabled_functions'), '');
    // touched_functions keeps every record that was ever enabled
    assert.deepEqual(fs.read('touched_functions').split('\n').filter(Boolean).sort(), ['schedule (0)           ', 'vfs_read (0)           ']);
  });
});

test('function_profile_enabled and trace_stat/functionN', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    const header = '  Function                               Hit    Time            Avg             s^2\n  --------                               ---    ----            ---             ---\n';
    assert.equal(fs.read('function_profile_enabled'), '0\n');
    assert.equal(fs.read('trace_stat/function0'), header);
    assert.deepEqual(fs.ls('trace_stat'), ['function0', 'function1']);
    await fs.write('function_profile_enabled', '1\n');
    assert.equal(fs.read('function_profile_enabled'), '1\n');
    await m.run(1, new Workload().call('schedule', { count: 3, durationNs: 2000 }).call('vfs_read', { count: 2, durationNs: 1000 }));
    const stat = fs.read('trace_stat/function1');
    const lines = stat.slice(header.length).split('\n').filter(Boolean);
    // by total time: schedule 6 us (3 hits of 2 us, s^2 0), then vfs_read 2 us
    assert.equal(lines[0], `  ${'schedule'.padEnd(30)}  ${'3'.padStart(10)}    6.000 us        2.000 us        0.000 us    `);
    assert.equal(lines[1], `  ${'vfs_read'.padEnd(30)}  ${'2'.padStart(10)}    2.000 us        1.000 us        0.000 us    `);
    assert.equal(fs.read('trace_stat/function0'), header);
    await assert.rejects(fs.write('function_profile_enabled', 'x\n'), errCode('EINVAL'));
    await fs.write('function_profile_enabled', '0\n');
    assert.equal(fs.read('function_profile_enabled'), '0\n');
    // instances have no profiler files
    await fs.mkdir('instances/foo');
    assert.equal(fs.exists('instances/foo/function_profile_enabled'), false);
    assert.equal(fs.exists('instances/foo/available_filter_functions'), false);
  });
});

test('after ftrace_kill() the ftrace files fail with ENODEV and trace shows the banner', async () => {
  await withMachine({ ...OPTS, withoutFixes: ['8c4f3c3fa968'] }, async (m) => {
    const fs = m.fs;
    await killFtraceByReload(m);
    assert.equal(m.ftrace.disabled, true);
    assert.ok(m.dmesg().some((l) => l.includes('WARNING:')), m.dmesg().join('\n'));
    for (const f of ['set_ftrace_filter', 'set_ftrace_notrace', 'available_filter_functions', 'enabled_functions', 'touched_functions']) {
      assert.throws(() => fs.read(f), errCode('ENODEV'), f);
    }
    await assert.rejects(fs.write('set_ftrace_filter', 'schedule\n'), errCode('ENODEV'));
    await assert.rejects(fs.write('set_ftrace_notrace', 'schedule\n', { append: true }), errCode('ENODEV'));
    assert.match(fs.read('trace'), /^# tracer: nop\n#\n# WARNING: FUNCTION TRACING IS CORRUPTED\n#          MAY BE MISSING FUNCTION EVENTS\n# entries-in-buffer/);
  });
});

test('instances: mkdir, ls, their own files, EEXIST, ENOENT, EBUSY while open, EPERM elsewhere', async () => {
  await withMachine(OPTS, async (m) => {
    const fs = m.fs;
    assert.deepEqual(fs.ls('instances'), []);
    await fs.mkdir('instances/foo');
    await fs.mkdir('/sys/kernel/debug/tracing/instances/bar');
    assert.deepEqual(fs.ls('instances'), ['bar', 'foo']);
    assert.ok(m.instances.has('foo'));
    await assert.rejects(fs.mkdir('instances/foo'), errCode('EEXIST'));
    await assert.rejects(fs.mkdir('per_cpu/cpu9'), errCode('EPERM'));
    await assert.rejects(fs.mkdir('trace'), errCode('EEXIST'));
    await assert.rejects(fs.rmdir('instances/nope'), errCode('ENOENT'));
    await assert.rejects(fs.rmdir('per_cpu/cpu0'), errCode('EPERM'));
    const files = fs.ls('instances/foo');
    for (const f of ['current_tracer', 'available_tracers', 'set_ftrace_filter', 'set_ftrace_notrace', 'trace', 'trace_pipe', 'tracing_on', 'buffer_size_kb', 'per_cpu', 'events']) {
      assert.ok(files.includes(f), f);
    }
    // the instance's own filter, tracer and buffer
    await fs.write('instances/foo/set_ftrace_filter', 'vfs_read\n');
    await fs.write('instances/foo/current_tracer', 'function\n');
    assert.equal(fs.read('set_ftrace_filter'), ALL);
    assert.equal(fs.read('current_tracer'), 'nop\n');
    assert.equal(fs.read('instances/foo/set_ftrace_filter'), 'vfs_read\n');
    await m.run(0, new Workload().call('vfs_read').call('schedule'));
    assert.equal(traceLines(m, 'instances/foo/trace').length, 1);
    assert.equal(traceLines(m).length, 0);
    await fs.write('instances/foo/tracing_on', '0\n');
    assert.equal(fs.read('tracing_on'), '1\n');
    // an open trace_pipe keeps the instance busy
    const h = fs.open('instances/foo/trace_pipe');
    await assert.rejects(fs.rmdir('instances/foo'), errCode('EBUSY'));
    assert.match(h.read(), /vfs_read/);
    await h.close();
    await fs.rmdir('instances/foo');
    assert.deepEqual(fs.ls('instances'), ['bar']);
    assert.equal(fs.exists('instances/foo/trace'), false);
    await fs.rmdir('instances/bar');
    assert.deepEqual(fs.ls('instances'), []);
  });
});
