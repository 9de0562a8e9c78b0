// trace.dat: what ringtrace records decodes, event by event, to what its own `trace` / `trace_pipe`
// printed — with the real `trace-cmd report` (Debian's trace-cmd, installed by .ci/run) and with
// `ringtrace report` — and ringtrace report reads the files trace-cmd rewrites (convert to v7 with zstd,
// split). Every machine runs on the virtual clock, so two machines given the same work record the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Workload, type RingMachine } from '../src/index.ts';
import { readTraceDat } from '../src/tracedat/reader.ts';
import { writeTraceDat } from '../src/tracedat/writer.ts';
import { report } from '../src/tracedat/report.ts';
import { decodeCpuData } from '../src/tracedat/kbuffer.ts';
import { withMachine, runCliCaptured, errCode } from './helpers.ts';
import { graphTrace, schedTrace } from './raw-records.ts';

const traceCmd = spawnSync('trace-cmd', ['--help'], { encoding: 'utf8' });
const TRACE_CMD = traceCmd.error ? `trace-cmd is not installed here (${(traceCmd.error as NodeJS.ErrnoException).code}); .ci/run installs it` : '';

const dir = mkdtempSync(join(tmpdir(), 'ringtrace-tracedat-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const tmp = (name: string) => join(dir, name);

function tc(...args: string[]): string {
  return execFileSync('trace-cmd', args, { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'pipe'] });
}

// trace-cmd 3.1.6 was seen printing the same file's -l time stamps sometimes as seconds.microseconds
// and sometimes as raw nanoseconds (its TRACECMD_FL_IN_USECS, not the file, differed): compare the
// stamps of -l lines in microseconds, every other column as printed. Nanoseconds are rounded to the
// microsecond, as libtraceevent rounds when it prints seconds.microseconds.
function latencyStampsInUsecs(text: string): string {
  return text.replace(/^(.*?-\d+\s+\d+\S{5})\s+(?:(\d+)\.(\d{6})|(\d{7,})):/gm, (_, head: string, sec?: string, us?: string, ns?: string) =>
    `${head} ${ns !== undefined ? Math.floor((Number(ns) + 500) / 1000) : Number(sec) * 1e6 + Number(us)}:`);
}

interface Ev {
  comm: string;
  pid: number;
  cpu: number;
  flags: string; // libtraceevent's five latency columns
  us: number; // time stamp in microseconds (rounded like both printers)
  func: string;
  parent: string;
}

// The kernel's lat columns (trace_print_lat_fmt) as libtraceevent's data_latency_format shows the same
// bits: it has no 'b'/'D' (BH off is its IRQS_NOSUPPORT 'X'), only 'N' for need-resched, no NMI.
function libtraceeventFlags(kernel: string): string {
  const [irq, resched, hardsoft, depth, migrate] = kernel;
  const i = irq === 'd' || irq === 'D' ? 'd' : irq === 'b' ? 'X' : '.';
  const r = resched === 'N' || resched === 'n' ? 'N' : '.';
  const h = hardsoft === 'Z' ? 'h' : hardsoft === 'z' ? '.' : hardsoft;
  return i + r + h + depth + migrate;
}

// `cat trace` / `cat trace_pipe` lines; lost-event markers as { lost }
function parseKernel(text: string): (Ev | { lost: number; cpu: number })[] {
  const out: (Ev | { lost: number; cpu: number })[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const lost = /^CPU:(\d+) \[LOST (\d+) EVENTS\]$/.exec(line);
    if (lost) {
      out.push({ cpu: Number(lost[1]), lost: Number(lost[2]) });
      continue;
    }
    const m = /^\s*(.+)-(\d+)\s+\[(\d+)\] (\S{5})\s+(\d+)\.(\d{6}): (\S+) <-(\S+)$/.exec(line);
    assert.ok(m, `unexpected trace line: ${line}`);
    out.push({ comm: m[1], pid: Number(m[2]), cpu: Number(m[3]), flags: libtraceeventFlags(m[4]), us: Number(m[5]) * 1e6 + Number(m[6]), func: m[7], parent: m[8] });
  }
  return out;
}

// `trace-cmd report -l -t -O parent` (and ringtrace report with the same options) lines
function parseReport(text: string, usecs: boolean): (Ev | { lost: number; cpu: number })[] {
  const out: (Ev | { lost: number; cpu: number })[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('cpus=')) continue;
    const lost = /^CPU:(\d+) \[(\d+) EVENTS DROPPED\]$/.exec(line);
    if (lost) {
      out.push({ cpu: Number(lost[1]), lost: Number(lost[2]) });
      continue;
    }
    const m = /^(.{8})-(\d+)\s+(\d+)(\S{5})\s+(\d+)(?:\.(\d+))?: function:\s+(\S+) <-- (\S+)$/.exec(line);
    assert.ok(m, `unexpected report line: ${JSON.stringify(line)}`);
    // seconds.microseconds for the ns clocks, else the raw stamp in ns
    const us = usecs ? Number(m[5]) * 1e6 + Number(m[6]) : Number((BigInt(m[5]) + 500n) / 1000n);
    out.push({ comm: m[1].trim(), pid: Number(m[2]), cpu: Number(m[3]), flags: m[4], us, func: m[7], parent: m[8] });
  }
  return out;
}

// -l cuts comm to 8 characters
function cut(evs: (Ev | { lost: number; cpu: number })[]) {
  return evs.map((e) => ('comm' in e ? { ...e, comm: e.comm.slice(0, 8) } : e));
}

// A workload that exercises what a line shows: tasks, irqs-off, need-resched, preempt depth, hardirq,
// softirq, nested calls, two CPUs.
async function work(m: RingMachine): Promise<void> {
  await m.fs.write('current_tracer', 'function\n');
  await m.run(0, new Workload().task(1234, 'bash').call('vfs_read', { parent: 'ksys_read', count: 3 }).irqFlags({ irqsOff: true, preemptCount: 2 }).call('schedule', { parent: 'schedule_timeout' }));
  await m.run(1, new Workload().task(77, 'kworker/1:0').irqFlags({ needResched: true }).context('softirq').call('run_timer_softirq', { parent: '__do_softirq' }).context('irq').call('hrtimer_interrupt', { parent: 'sysvec_apic_timer_interrupt' }));
  await m.run(0, new Workload().task(1234, 'bash').irqFlags({ preemptCount: 0x11 }).call('vfs_write', { parent: 'ksys_write', count: 2 }));
}

test('tracedat: saveTraceDat after the fact; trace-cmd report prints what cat trace printed', { skip: TRACE_CMD || false }, async () => {
  await withMachine({ cpus: 2, clock: 'local' }, async (m) => {
    await work(m);
    const expected = parseKernel(m.fs.read('trace'));
    assert.equal(expected.length, 3 + 1 + 1 + 1 + 2);
    const file = tmp('after.dat');
    const dat = await m.saveTraceDat(file);
    assert.equal(dat.version, 6);
    const got = parseReport(tc('report', '-l', '-O', 'parent', file), true);
    assert.deepEqual(got, cut(expected));
    // ns time stamps: trace-cmd's -t against the decoded records
    const full = tc('report', '-t', file).split('\n').filter((l) => l.includes('function:'));
    const ours = decodeCpuData(dat.buffers[0].cpus[0].data, 0, dat.pageSize);
    const cpu0 = full.filter((l) => l.includes('[000]')).map((l) => /(\d+\.\d{9}):/.exec(l)![1].replace('.', '').replace(/^0+/, ''));
    assert.deepEqual(cpu0, ours.map((r) => String(r.ts)));
    // and ringtrace report prints exactly what trace-cmd report prints
    const filters = [['-F', 'function: common_pid == 1234'], ['-F', 'ftrace/function: COMM =~ "^kw"'], ['-v', '-F', 'function: common_flags & 1'], ['-F', 'func.*: ip > 0 && CPU == 1']];
    for (const opts of [[], ['-l'], ['-t'], ['-l', '-O', 'parent'], ['--stat'], ['--cpu', '1'], ...filters]) {
      const r = await runCliCaptured(['report', ...opts, file]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(latencyStampsInUsecs(r.stdout), latencyStampsInUsecs(tc('report', ...opts, file)), `report ${opts.join(' ')}`);
    }
  });
});

// Two machines doing the same: one prints trace / trace_pipe, the other records.
const SCRIPT = 'cd /sys/kernel/tracing; echo function > current_tracer; kcall -n 5 schedule schedule_timeout; kcall -c 1 -n 3 vfs_read ksys_read; kcall -n 2 vfs_write ksys_write';

test('tracedat: ringtrace record -p function -c … while it runs; trace-cmd and ringtrace report print what cat trace printed', { skip: TRACE_CMD || false }, async () => {
  const sh = await runCliCaptured(['sh', '--no-activity', '--clock', 'virtual', '-c', `${SCRIPT}; cat trace`]);
  assert.equal(sh.code, 0, sh.stderr);
  const expected = parseKernel(sh.stdout);
  assert.equal(expected.length, 10);
  const file = tmp('live.dat');
  const rec = await runCliCaptured(['record', '-p', 'function', '-o', file, '--no-activity', '--clock', 'virtual', '-c', SCRIPT.replace('echo function > current_tracer; ', '')]);
  assert.equal(rec.code, 0, rec.stderr);
  assert.match(rec.stderr, /trace\.dat version 6/);
  // virtual is not one of trace-cmd's ns clocks: it prints raw stamps
  assert.deepEqual(parseReport(tc('report', '-l', '-O', 'parent', file), false), cut(expected));
  const ours = await runCliCaptured(['report', '-l', '-O', 'parent', file]);
  assert.equal(latencyStampsInUsecs(ours.stdout), latencyStampsInUsecs(tc('report', '-l', '-O', 'parent', file)));
});

test('tracedat: lost events — trace-cmd shows "[N EVENTS DROPPED]" where trace_pipe shows "[LOST N EVENTS]"', { skip: TRACE_CMD || false }, async () => {
  // a small buffer in overwrite mode: the consuming reader finds the overrun pages
  const opts = { cpus: 1, clock: 'virtual' as const, bufferSizeKb: 8 };
  const heavy = async (m: RingMachine) => {
    await m.fs.write('current_tracer', 'function\n');
    await m.run(0, new Workload().call('schedule', { parent: 'schedule_timeout', count: 2000 }));
  };
  let expected: ReturnType<typeof parseKernel> = [];
  await withMachine(opts, async (m) => {
    await heavy(m);
    expected = parseKernel(m.fs.read('trace_pipe'));
  });
  const lost = expected.filter((e) => 'lost' in e);
  assert.ok(lost.length >= 1, 'the reader saw lost events');
  const file = tmp('lost.dat');
  await withMachine(opts, async (m) => {
    await heavy(m);
    await m.saveTraceDat(file);
  });
  assert.deepEqual(parseReport(tc('report', '-l', '-O', 'parent', file), false), cut(expected));
});

test('tracedat: ringtrace report reads what trace-cmd rewrote: convert (v7, zstd and none), split', { skip: TRACE_CMD || false }, async () => {
  const file = tmp('src.dat');
  await withMachine({ cpus: 2, clock: 'local' }, async (m) => {
    await work(m);
    await m.saveTraceDat(file);
  });
  const want = tc('report', file);
  for (const [name, args] of [['v7zstd.dat', []], ['v7none.dat', ['--compression', 'none']]] as const) {
    const out = tmp(name);
    tc('convert', '-i', file, '-o', out, ...args);
    const dat = await readTraceDat(readFileSync(out), out);
    assert.equal(dat.version, 7);
    assert.equal(dat.compression, name === 'v7zstd.dat' ? 'zstd' : 'none');
    const r = await runCliCaptured(['report', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, want, name);
    assert.equal(r.stdout, tc('report', out));
    assert.equal((await runCliCaptured(['report', '--stat', out])).stdout, tc('report', '--stat', out), `${name} --stat`);
    // and back to a version 6 file of ours
    const v6 = tmp(`${name}.v6.dat`);
    assert.equal((await runCliCaptured(['convert', '--file-version', '6', out, v6])).code, 0);
    assert.equal(tc('report', v6), want);
  }
  const split = tmp('split.dat');
  tc('split', '-i', file, '-o', split, '-e', '3', '-r');
  const parts = readdirSync(dir).filter((f) => f.startsWith('split.dat'));
  assert.ok(parts.length >= 2, `split wrote ${parts.join(', ')}`);
  for (const p of parts) {
    const r = await runCliCaptured(['report', join(dir, p)]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, tc('report', join(dir, p)), p);
  }
  // our version 7 opens in trace-cmd too
  const v7 = tmp('ours7.dat');
  const back = await runCliCaptured(['convert', '--file-version', '7', file, v7]);
  assert.equal(back.code, 0, back.stderr);
  assert.equal(tc('report', v7), want);
});

test('tracedat: function_graph records and trace_marker prints: ringtrace report prints what trace-cmd report prints', { skip: TRACE_CMD || false }, async () => {
  const file = tmp('graph.dat');
  await withMachine({ cpus: 2, clock: 'local' }, async (m) => {
    writeFileSync(file, writeTraceDat(await graphTrace(m)));
  });
  for (const opts of [[], ['-l'], ['--cpu', '0'], ['-N']]) {
    const want = tc('report', ...opts, file);
    assert.match(want, /funcgraph_entry/);
    const r = await runCliCaptured(['report', ...opts, file]);
    assert.equal(r.stdout, want, `report ${opts.join(' ')}`);
  }
  const text = tc('report', file);
  assert.match(text, /\+ 10\.500 us {2}\| {4}rw_verify_area\(\);/, 'a leaf with its duration');
  assert.match(text, /! 249\.000 us \|  }/, 'the return of vfs_read');
});

test('tracedat: the function_graph tracer recorded live: trace-cmd and ringtrace report print the same graph', { skip: TRACE_CMD || false }, async () => {
  const file = tmp('fgraph.dat');
  await withMachine({ cpus: 2, clock: 'virtual' }, async (m) => {
    await m.fs.write('current_tracer', 'function_graph\n');
    const rec = m.record({ pollMs: 1 });
    await m.run(0, new Workload().task(1234, 'bash').callGraph({ fn: 'vfs_read', durationNs: 150_000, children: [{ fn: 'rw_verify_area', durationNs: 300 }, { fn: 'schedule', children: [{ fn: '__schedule', durationNs: 20_000 }] }] }));
    await m.run(1, new Workload().callGraph({ fn: 'vfs_write', count: 2, durationNs: 2_000_000 }));
    writeFileSync(file, writeTraceDat(rec.stop()));
  });
  const want = tc('report', file);
  assert.match(want, /\|    rw_verify_area\(\);/);
  assert.match(want, /# 2000\.000 us \|  }/);
  for (const opts of [[], ['-l'], ['-N'], ['-F', 'funcgraph_exit']]) {
    assert.equal(latencyStampsInUsecs((await runCliCaptured(['report', ...opts, file])).stdout), latencyStampsInUsecs(tc('report', ...opts, file)), opts.join(' '));
  }
});

test('tracedat: sched_switch, sched_wakeup and stack traces print as libtraceevent\'s plugins print them', { skip: TRACE_CMD || false }, async () => {
  const file = tmp('sched.dat');
  await withMachine({ cpus: 1, clock: 'local' }, async (m) => {
    writeFileSync(file, writeTraceDat(await schedTrace(m)));
  });
  const want = tc('report', file);
  assert.match(want, /sched_switch: +bash:1234 \[120\] S ==> kworker\/0:1:4321 \[120\]/);
  assert.match(want, /<stack trace >/);
  assert.equal((await runCliCaptured(['report', file])).stdout, want);
  // -N: every event by its print fmt (sched_switch's __print_flags and ?:, kernel_stack's array)
  const raw = tc('report', '-N', file);
  assert.match(raw, /prev_comm=bash prev_pid=1234 prev_prio=120 prev_state=S ==> next_comm=kworker\/0:1 next_pid=4321 next_prio=120/);
  assert.equal((await runCliCaptured(['report', '-N', file])).stdout, raw);
  // a stack trace follows the event it belongs to through the filters
  for (const f of [['-F', 'sched/sched_switch: prev_state > 0'], ['-F', 'function'], ['-F', 'sched_wakeup'], ['-v', '-F', 'kernel_stack'], ['-F', 'sched_switch: next_comm == "bash"']]) {
    assert.equal(latencyStampsInUsecs((await runCliCaptured(['report', '-l', ...f, file])).stdout), latencyStampsInUsecs(tc('report', '-l', ...f, file)), f.join(' '));
  }
});

test('tracedat: instances — record -B NAME, and the top buffer with an instance, as trace-cmd report merges them', { skip: TRACE_CMD || false }, async () => {
  const b = tmp('instance.dat');
  const rec = await runCliCaptured(['record', '-B', 'foo', '-p', 'function', '--no-activity', '-o', b, '-c', 'kcall -n 2 schedule schedule_timeout; kcall -c 1 vfs_read ksys_read']);
  assert.equal(rec.code, 0, rec.stderr);
  const want = tc('report', b);
  assert.equal(want.split('\n').filter((l) => l.startsWith('foo: ')).length, 3);
  assert.equal((await runCliCaptured(['report', b])).stdout, want);
  const only = await runCliCaptured(['report', '-B', 'foo', b]);
  assert.equal(only.stdout.split('\n').filter((l) => l.includes('function:') && !l.startsWith('foo')).length, 3);
  for (const version of [6, 7] as const) {
    const both = tmp(`both${version}.dat`);
    await withMachine({ cpus: 2, clock: 'local' }, async (m) => {
      await m.fs.mkdir('instances/foo');
      await m.fs.write('instances/foo/current_tracer', 'function\n');
      await m.fs.write('current_tracer', 'function\n');
      const r = m.record({ instances: ['', 'foo'], version });
      await m.run(0, new Workload().call('schedule', { parent: 'schedule_timeout', count: 2 }));
      await m.run(1, new Workload().call('vfs_read', { parent: 'ksys_read' }));
      writeFileSync(both, writeTraceDat(r.stop()));
    });
    const text = tc('report', both);
    assert.equal(text.split('\n').filter((l) => l.startsWith('foo: ')).length, 3);
    assert.equal(text.split('\n').filter((l) => l.startsWith('     ')).length, 3);
    assert.equal((await runCliCaptured(['report', both])).stdout, text, `version ${version}`);
  }
});

test('tracedat: write -> read round trip keeps every part; report --cpu, -F, -v', async () => {
  await withMachine({ cpus: 2, clock: 'virtual' }, async (m) => {
    await work(m);
    const rec = m.record({ pollMs: 1 });
    await m.run(1, new Workload().task(5, 'sh').call('vfs_read', { parent: 'ksys_read' }));
    const dat = rec.stop();
    assert.throws(() => rec.stop(), errCode('EINVAL'));
    for (const version of [6, 7] as const) {
      const back = await readTraceDat(writeTraceDat({ ...dat, version }), 'mem');
      assert.equal(back.version, version);
      for (const k of ['headerPage', 'headerEvent', 'ftraceFormats', 'eventSystems', 'kallsyms', 'printk', 'cmdlines', 'cpuStats', 'cpuCount'] as const) {
        assert.deepEqual(back[k], dat[k], k);
      }
      assert.match(back.traceClock, /\[virtual\]/);
      assert.deepEqual(back.buffers.map((b) => b.cpus.map((c) => [...c.data])), dat.buffers.map((b) => b.cpus.map((c) => [...c.data])));
    }
    const all = report(dat).split('\n').filter((l) => l.includes('function:'));
    assert.equal(all.length, 9);
    assert.match(report(dat), /^cpus=2\n/);
    const cpu1 = report(dat, { cpus: [1] }).split('\n').filter((l) => l.includes('function:'));
    assert.equal(cpu1.length, 3);
    assert.ok(cpu1.every((l) => l.includes('[001]')));
    const bash = report(dat, { filters: [{ spec: 'function: common_pid == 1234', negate: false }] }).split('\n').filter((l) => l.includes('function:'));
    assert.equal(bash.length, 6);
    assert.ok(bash.every((l) => l.includes('bash-1234')));
    const notBash = report(dat, { filters: [{ spec: 'ftrace/function: COMM == "bash"', negate: true }] }).split('\n').filter((l) => l.includes('function:'));
    assert.equal(notBash.length, 3);
    assert.throws(() => report(dat, { filters: [{ spec: 'no_such_event', negate: false }] }), errCode('EINVAL', /Failed to create event filter: no_such_event/));
    const noField = report(dat, { filters: [{ spec: 'function: nosuch == 1', negate: false }] });
    assert.equal(noField, 'cpus=2\n');
    assert.throws(() => report(dat, { filters: [{ spec: 'function: ip ==', negate: false }] }), errCode('EINVAL', /needs a value/));
  });
});

test('tracedat: CLI usage errors and bad files', async () => {
  const junk = tmp('junk.dat');
  writeFileSync(junk, 'not a trace');
  const r = await runCliCaptured(['report', junk]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /not a trace\.dat file/);
  assert.equal((await runCliCaptured(['report', tmp('missing.dat')])).code, 1);
  assert.equal((await runCliCaptured(['report', '--cpu', 'x', junk])).code, 2);
  assert.equal((await runCliCaptured(['record', '-o', tmp('x.dat')])).code, 2);
  const badEvent = await runCliCaptured(['record', '-e', 'nosuch:event', '-o', tmp('x.dat'), '-c', 'true']);
  assert.equal(badEvent.code, 2);
  assert.match(badEvent.stderr, /no event 'nosuch:event'/);
  assert.equal((await runCliCaptured(['record', '--file-version', '5', '-o', tmp('x.dat'), '-c', 'true'])).code, 2);
  assert.equal((await runCliCaptured(['convert', junk])).code, 2);
  // a truncated file names what is missing
  const good = tmp('good.dat');
  await withMachine({ cpus: 1, clock: 'virtual' }, async (m) => {
    await m.fs.write('current_tracer', 'function\n');
    await m.run(0, new Workload().call('schedule', { parent: 'schedule_timeout' }));
    await m.saveTraceDat(good);
  });
  const bytes = readFileSync(good);
  await assert.rejects(readTraceDat(bytes.subarray(0, bytes.length - 100), 'cut.dat'), errCode('EINVAL', /truncated/));
});
