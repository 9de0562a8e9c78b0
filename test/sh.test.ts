// `ringtrace sh` on a real machine: tracefs at both mount points, /sys/devices/system/cpu, /proc/modules,
// the machine commands (modprobe, rmmod, lsmod, dmesg, kcall), instances, and the CLI paths (-c, a
// script file, standard input) with their exit statuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type MachineOptions, type RingMachine } from '../src/index.ts';
import { machineShell, KERNEL_RELEASE } from '../src/shell/machine.ts';
import { runCliCaptured, withMachine } from './helpers.ts';

const OPTS: MachineOptions = { cpus: 2, bufferSizeKb: 64, clock: 'virtual' };

// Run a script on m; a fresh shell each time (cwd /).
async function sh(m: RingMachine, script: string) {
  let out = '';
  let err = '';
  const shell = machineShell(m, { stdout: (t) => (out += t), stderr: (t) => (err += t) });
  const status = await shell.run(script);
  return { status, out, err };
}

test('sh: tracefs at /sys/kernel/tracing and /sys/kernel/debug/tracing, and the directories above', async () => {
  await withMachine(OPTS, async (m) => {
    const a = await sh(m, 'cd /sys/kernel/tracing && pwd && cat tracing_on\ncd /sys/kernel/debug/tracing; pwd; echo 0 > tracing_on; cat /sys/kernel/tracing/tracing_on');
    assert.equal(a.err, '');
    assert.equal(a.status, 0);
    assert.equal(a.out, '/sys/kernel/tracing\n1\n/sys/kernel/debug/tracing\n0\n');
    assert.equal(m.fs.read('tracing_on'), '0\n');
    const b = await sh(m, 'ls; ls /sys; ls /sys/kernel; ls /sys/kernel/debug; cd /sys/kernel/debug/tracing && ls | grep -c tracing_on');
    assert.equal(b.out, 'dev\nproc\nsys\ntmp\ndevices\nkernel\ndebug\ntracing\ntracing\n1\n');
    const c = await sh(m, 'cd /sys/kernel/tracing/nope');
    assert.equal(c.status, 1);
    assert.match(c.err, /^sh: cd: \/sys\/kernel\/tracing\/nope: No such file or directory$/m);
  });
});

test('sh: echo and cat of buffer_size_kb; a failed write says so like bash and gives status 1', async () => {
  await withMachine(OPTS, async (m) => {
    const r = await sh(m, 'cd /sys/kernel/tracing\ncat buffer_size_kb\necho 128 > buffer_size_kb\ncat buffer_size_kb\necho abc > buffer_size_kb');
    assert.equal(r.status, 1);
    // 128 KiB in 4080-byte sub-buffer data pages (ring_buffer_resize rounds up): 33 pages, 131 KiB
    assert.equal(r.out, '67\n131\n'); // 64 KiB is 17 pages of 4080 bytes: 67 KiB
    assert.equal(r.err, 'sh: echo: write error: Invalid argument\n');
    assert.equal(m.fs.read('buffer_size_kb'), '131\n');
    const t = await sh(m, 'echo 2 > /sys/kernel/tracing/tracing_on; echo $?; cat /sys/kernel/tracing/tracing_on');
    assert.equal(t.out, '0\n1\n'); // tracing_on takes any number: non-zero is on (rb_simple_write)
    const bad = await sh(m, 'echo x > /sys/kernel/debug/tracing/tracing_on');
    assert.equal(bad.status, 1);
    assert.equal(bad.err, 'sh: echo: write error: Invalid argument\n');
    const ro = await sh(m, 'echo 1 > /sys/kernel/tracing/buffer_total_size_kb');
    assert.equal(ro.status, 1);
    assert.match(ro.err, /Permission denied/);
  });
});

test('sh: echo 0 > /sys/devices/system/cpu/cpu1/online takes CPU 1 down, and 1 brings it back', async () => {
  await withMachine({ ...OPTS, cpus: 3 }, async (m) => {
    const r = await sh(m, 'cd /sys/devices/system/cpu; cat online; echo 0 > cpu1/online; cat online offline cpu1/online');
    assert.equal(r.err, '');
    assert.equal(r.out, '0-2\n0,2\n1\n0\n');
    assert.deepEqual(m.onlineCpus(), [0, 2]);
    const up = await sh(m, 'echo 1 > /sys/devices/system/cpu/cpu1/online && cat /sys/devices/system/cpu/online');
    assert.equal(up.out, '0-2\n');
    assert.deepEqual(m.onlineCpus(), [0, 1, 2]);
    // cpu0 has no online file (x86); the masks are read-only; bad values are EINVAL
    const bad = await sh(m, 'ls /sys/devices/system/cpu/cpu0; echo 0 > /sys/devices/system/cpu/online; echo maybe > /sys/devices/system/cpu/cpu2/online');
    assert.equal(bad.out, '');
    assert.match(bad.err, /\/sys\/devices\/system\/cpu\/online: Permission denied/);
    assert.match(bad.err, /^sh: echo: write error: Invalid argument$/m);
    assert.deepEqual(m.onlineCpus(), [0, 1, 2]);
  });
});

test('sh: modprobe, rmmod, lsmod and /proc/modules as kmod and the kernel print them', async () => {
  await withMachine(OPTS, async (m) => {
    const r = await sh(m, 'modprobe uinput && modprobe loop && modprobe uinput && cat /proc/modules && lsmod');
    assert.equal(r.err, '');
    assert.equal(r.status, 0);
    const lines = r.out.split('\n');
    // m_show(): newest first, "name size refcount deps state address"
    assert.match(lines[0], /^loop \d+ 0 - Live 0xffffffffc[0-9a-f]{7}$/);
    assert.match(lines[1], /^uinput \d+ 0 - Live 0xffffffffc[0-9a-f]{7}$/);
    assert.equal(lines[2], 'Module                  Size  Used by');
    assert.match(lines[3], /^loop {16}[ \d]{8}  0$/);
    assert.match(lines[4], /^uinput {14}[ \d]{8}  0$/);
    assert.equal(lines[1].split(' ')[1], lines[4].trim().split(/\s+/)[1]);
    assert.deepEqual(m.ftrace.loadedModules().map((x) => x.name), ['uinput', 'loop']);

    const e = await sh(m, 'modprobe nosuchmod; echo $?; rmmod nosuchmod; echo $?; rmmod loop; echo $?; rmmod loop; modprobe -r uinput; lsmod');
    assert.equal(e.out, '1\n1\n0\nModule                  Size  Used by\n');
    assert.equal(
      e.err,
      `modprobe: FATAL: Module nosuchmod not found in directory /lib/modules/${KERNEL_RELEASE}\n` +
        'rmmod: ERROR: Module nosuchmod is not currently loaded\n' +
        'rmmod: ERROR: Module loop is not currently loaded\n',
    );
    assert.equal(e.status, 0);
    // root opens the 0444 file for writing; proc_reg_write() finds no ->proc_write: EIO
    const w = await sh(m, 'echo x > /proc/modules');
    assert.equal(w.status, 1);
    assert.equal(w.err, 'sh: echo: write error: Input/output error\n');
  });
});

test('sh: dmesg prints the machine log', async () => {
  await withMachine(OPTS, async (m) => {
    m.machine.logLine('hello from the test');
    const r = await sh(m, 'dmesg | grep -c hello; dmesg');
    assert.equal(r.status, 0);
    assert.equal(r.out.split('\n')[0], '1');
    assert.deepEqual(r.out.split('\n').slice(1, -1), m.dmesg());
  });
});

test('sh: /proc/self/stat names the shell; /proc/sys/kernel/stack_tracer_enabled is the sysctl', async () => {
  await withMachine(OPTS, async (m) => {
    // what the selftests' func-filter-pid.tc reads
    let r = await sh(m, 'read PID _ < /proc/self/stat; echo $PID; cut -d" " -f2-4 /proc/self/stat');
    assert.deepEqual([r.status, r.out, r.err], [0, '1000\n(sh) R 1\n', '']);
    r = await sh(m, 'cd /proc/sys/kernel; cat stack_tracer_enabled; echo 1 > stack_tracer_enabled; cat stack_tracer_enabled; echo x > stack_tracer_enabled');
    assert.equal(r.out, '0\n1\n');
    assert.equal(r.err, 'sh: echo: write error: Invalid argument\n');
    assert.equal(m.ftrace.stack.readSysctl(), '1\n');
    r = await sh(m, 'echo 1 > /proc/self/stat');
    assert.equal(r.status, 1);
  });
});

test('sh: sleep takes what coreutils sleep takes (.1, 1e-2, suffixes, several operands) and refuses the rest', async () => {
  await withMachine(OPTS, async (m) => {
    let r = await sh(m, 'sleep .1 && sleep 1e-2 0.01s && sleep 0m && echo slept');
    assert.deepEqual([r.status, r.out, r.err], [0, 'slept\n', '']);
    r = await sh(m, 'sleep .x');
    assert.equal(r.status, 1);
    assert.match(r.err, /^sleep: invalid time interval '\.x'/);
    r = await sh(m, 'sleep');
    assert.equal(r.status, 1);
    assert.match(r.err, /^sleep: missing operand/);
  });
});

test('sh: kcall makes a CPU call a function; with the function tracer, trace shows it', async () => {
  await withMachine(OPTS, async (m) => {
    const r = await sh(
      m,
      'cd /sys/kernel/tracing\necho schedule > set_ftrace_filter\necho function > current_tracer\n' +
        'kcall -n 3 schedule\nkcall -c 1 schedule do_nanosleep\nkcall vfs_read\ncat trace\necho nop > current_tracer',
    );
    assert.equal(r.err, '');
    assert.equal(r.status, 0);
    const calls = r.out.split('\n').filter((l) => !l.startsWith('#') && l.trim());
    // "%16s-%-7d [%03d] FLAGS %5lu.%06lu: func <-parent"; vfs_read is not in the filter
    assert.equal(calls.length, 4, r.out);
    assert.equal(calls.filter((l) => /^ *\S+-\d+ +\[000\] \S+ +\d+\.\d{6}: schedule <-schedule_timeout$/.test(l)).length, 3, r.out);
    assert.equal(calls.filter((l) => /^ *\S+-\d+ +\[001\] \S+ +\d+\.\d{6}: schedule <-do_nanosleep$/.test(l)).length, 1, r.out);
  });
});

test('sh: kcall errors: an unknown function, an offline or missing CPU, bad options', async () => {
  await withMachine({ ...OPTS, cpus: 3, online: [0, 1] }, async (m) => {
    const r = await sh(m, 'kcall nosuch_function_here; echo $?; kcall -c 2 schedule; echo $?; kcall -c 7 schedule; echo $?; kcall schedule nosuch_parent; echo $?; kcall -n x schedule; echo $?; kcall; echo $?');
    assert.equal(r.out, '1\n1\n1\n1\n2\n2\n');
    const errs = r.err.split('\n');
    assert.equal(errs[0], 'kcall: nosuch_function_here: no such function');
    assert.equal(errs[1], 'kcall: CPU 2 is offline');
    assert.match(errs[2], /^kcall: CPU 7 does not exist/);
    assert.equal(errs[3], 'kcall: nosuch_parent: no such function');
    assert.equal(errs[4], "kcall: invalid count 'x'");
    assert.match(errs[5], /^usage: kcall \[-c CPU\] \[-n COUNT\] FUNC \[PARENT\]$/);
    // a module's function exists only while the module is loaded
    const mod = await sh(m, 'kcall uinput_release; modprobe uinput; kcall -n 2 uinput_release');
    assert.equal(mod.status, 0);
    assert.equal(mod.err, 'kcall: uinput_release: no such function\n');
  });
});

test('sh: mkdir and rmdir of instances; elsewhere not permitted', async () => {
  await withMachine(OPTS, async (m) => {
    const r = await sh(m, 'cd /sys/kernel/tracing/instances && mkdir foo && ls && cat foo/tracing_on && echo 0 > foo/tracing_on && cat foo/tracing_on; cat /sys/kernel/tracing/tracing_on');
    assert.equal(r.err, '');
    assert.equal(r.out, 'foo\n1\n0\n1\n');
    assert.ok(m.instances.has('foo'));
    const again = await sh(m, 'mkdir /sys/kernel/debug/tracing/instances/foo');
    assert.equal(again.status, 1);
    assert.equal(again.err, "mkdir: cannot create directory '/sys/kernel/debug/tracing/instances/foo': File exists\n");
    const rm = await sh(m, 'rmdir /sys/kernel/tracing/instances/foo && ls /sys/kernel/tracing/instances | wc -l; rmdir /sys/kernel/tracing/instances/foo');
    assert.equal(rm.out, '0\n');
    assert.equal(rm.err, "rmdir: failed to remove '/sys/kernel/tracing/instances/foo': No such file or directory\n");
    assert.ok(!m.instances.has('foo'));
  });
});

test('sh: mkdir and rmdir outside instances/ fail like tracefs, sysfs and procfs', async () => {
  await withMachine(OPTS, async (m) => {
    const r = await sh(m, 'mkdir /sys/kernel/tracing/foo; mkdir /sys/devices/system/cpu/x; mkdir /proc/x; mkdir /nope/x; rmdir /sys/kernel/tracing; rmdir /sys/kernel/tracing/per_cpu; rmdir /proc/modules');
    assert.equal(r.status, 1);
    assert.deepEqual(r.err.split('\n').slice(0, -1), [
      "mkdir: cannot create directory '/sys/kernel/tracing/foo': Operation not permitted",
      "mkdir: cannot create directory '/sys/devices/system/cpu/x': Operation not permitted",
      "mkdir: cannot create directory '/proc/x': Operation not permitted",
      "mkdir: cannot create directory '/nope/x': No such file or directory",
      "rmdir: failed to remove '/sys/kernel/tracing': Device or resource busy",
      "rmdir: failed to remove '/sys/kernel/tracing/per_cpu': Operation not permitted",
      "rmdir: failed to remove '/proc/modules': Not a directory",
    ]);
  });
});

// ---- the CLI

test('cli: ringtrace sh -c, with machine options; the exit status is that of the last command', async () => {
  const a = await runCliCaptured(['sh', '--cpus', '4', '--online', '0-1,3', '--buffer-size-kb', '8', '-c', 'cat /sys/devices/system/cpu/online /sys/kernel/tracing/buffer_size_kb; echo -n $1; false', 'name', 'arg1']);
  assert.equal(a.stderr, '');
  assert.equal(a.stdout, '0-1,3\n11\narg1'); // 8 KiB: 3 data pages of 4080 bytes
  assert.equal(a.code, 1);
  const b = await runCliCaptured(['sh', '-c', 'echo abc > /sys/kernel/tracing/tracing_on; true']);
  assert.equal(b.code, 0);
  assert.equal(b.stderr, 'sh: echo: write error: Invalid argument\n');
  const c = await runCliCaptured(['sh', '-c', 'exit 7']);
  assert.equal(c.code, 7);
  const d = await runCliCaptured(['sh', '--memory-model', 'weak', '--clock', 'counter', '--without-fix', '8c4f3c3', '--without-fix', '20ad8b0888be', '-c', 'cat /sys/kernel/tracing/trace_clock']);
  assert.equal(d.code, 0);
  assert.match(d.stdout, /\[counter\]/);
});

test('cli: ringtrace sh SCRIPT ARGS and sh - (standard input)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ringtrace-sh-'));
  try {
    const file = join(dir, 'script.sh');
    writeFileSync(file, 'cd /sys/kernel/debug/tracing\necho $1 > tracing_on\ncat tracing_on\nmodprobe $2\n');
    const ok = await runCliCaptured(['sh', file, '0', 'uinput']);
    assert.equal(ok.stderr, '');
    assert.equal(ok.stdout, '0\n');
    assert.equal(ok.code, 0);
    const bad = await runCliCaptured(['sh', file, '0', 'nosuchmod']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^modprobe: FATAL: Module nosuchmod not found in directory \/lib\/modules\//);
    const stdin = await runCliCaptured(['sh', '-', 'x'], 'echo $1; pwd\nexit 4\n');
    assert.equal(stdin.stdout, 'x\n/\n');
    assert.equal(stdin.code, 4);
    const missing = await runCliCaptured(['sh', join(dir, 'nope.sh')]);
    assert.equal(missing.code, 127);
    assert.match(missing.stderr, /nope\.sh: No such file or directory/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cli: sh usage errors exit 2: an unknown fix, bad machine options, no script', async () => {
  const cases: [string[], RegExp][] = [
    [['sh', '--without-fix', 'deadbeef00', '-c', 'true'], /--without-fix': commit deadbeef00 is not a modelled fix/],
    [['sh', '--without-fix', 'xyz', '-c', 'true'], /not a commit id/],
    [['sh', '--memory-model', 'arm', '-c', 'true'], /--memory-model' must be tso or weak/],
    [['sh', '--clock', 'sundial', '-c', 'true'], /unknown trace clock "sundial"/],
    [['sh', '--cpus', '2', '--online', '0-3', '-c', 'true'], /CPU 2 does not exist/],
    [['sh', '--online', '1-0', '-c', 'true'], /goes backwards/],
    [['sh', '--buffer-size-kb', '0', '-c', 'true'], /--buffer-size-kb' must be at least 1/],
    [['sh'], /SCRIPT/],
  ];
  for (const [argv, re] of cases) {
    const r = await runCliCaptured(argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.match(r.stderr, re, argv.join(' '));
  }
  const syntax = await runCliCaptured(['sh', '-c', "echo 'open"]);
  assert.equal(syntax.code, 2);
  assert.match(syntax.stderr, /unexpected EOF while looking for matching/);
});

test('cli: the ringtrace process: sh -c and a script from a pipe, exit statuses', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const main = join(root, 'src/cli/main.ts');
  const run = (args: string[], input?: string) => spawnSync(process.execPath, ['--import', 'tsx', main, ...args], { cwd: root, input, encoding: 'utf8', timeout: 120_000 });
  const a = run(['sh', '-c', 'modprobe uinput; lsmod; rmmod uinput; rmmod uinput']);
  assert.equal(a.status, 1, a.stderr);
  assert.match(a.stdout, /^Module {18}Size  Used by\nuinput /);
  assert.equal(a.stderr, 'rmmod: ERROR: Module uinput is not currently loaded\n');
  const b = run(['sh', '-'], 'cd /sys/kernel/tracing\ncat tracing_on\n');
  assert.equal(b.status, 0, b.stderr);
  assert.equal(b.stdout, '1\n');
});

test('cli: the living kernel: sleep, a subshell and a tracefs read run through their kernel paths; --no-activity keeps only the script', async () => {
  const script = 'cd /sys/kernel/tracing; echo function > current_tracer; (sleep 0.05); cat tracing_on > /dev/null; echo 0 > tracing_on; cat trace';
  const r = await runCliCaptured(['sh', '--cpus', '2', '-c', script]);
  assert.equal(r.code, 0, r.stderr);
  const has = (re: RegExp) => r.stdout.split('\n').some((l) => re.test(l));
  // the shell (1000) forks the subshell (1001), which forks and execs sleep (1002) and reaps it
  assert.ok(has(/^ +sh-1000 +\[000\] .{5} +[\d.]+: kernel_clone <-__do_sys_clone$/), 'fork of the subshell');
  assert.ok(has(/^ +sh-1001 +\[000\] .{5} +[\d.]+: kernel_clone <-__do_sys_clone$/), 'the subshell forks sleep');
  assert.ok(has(/^ +sleep-1002 +\[000\] .{5} +[\d.]+: do_execveat_common <-do_execve$/), 'sleep is exec\'d');
  assert.ok(has(/^ +sleep-1002 +\[000\] .{5} +[\d.]+: do_nanosleep <-hrtimer_nanosleep$/), 'sleep');
  assert.ok(has(/^ +sleep-1002 +\[000\] .{5} +[\d.]+: do_exit <-do_group_exit$/), 'sleep exits');
  assert.ok(has(/^ +sh-1001 +\[000\] .{5} +[\d.]+: kernel_wait4 <-__do_sys_wait4$/), 'the subshell reaps sleep');
  assert.ok(has(/^ +sh-1000 +\[000\] .{5} +[\d.]+: kernel_wait4 <-__do_sys_wait4$/), 'the shell reaps the subshell');
  assert.ok(has(/^ +cat-1003 +\[000\] .{5} +[\d.]+: seq_read <-vfs_read$/), 'a tracefs read by cat');
  for (const cpu of ['000', '001']) assert.ok(has(new RegExp(`^ +<idle>-0 +\\[${cpu}\\] d\\.h\\.\\. +[\\d.]+: scheduler_tick <-update_process_times$`)), `ticks on CPU ${cpu}`);
  const quiet = await runCliCaptured(['sh', '--no-activity', '-c', script]);
  assert.equal(quiet.stdout.split('\n').filter((l) => l && !l.startsWith('#')).length, 0, quiet.stdout);
});
