// The ftrace core: records in the kernel's order and their lookups, ftrace_hash sizing, filters and
// dispatch into TRACE_FN events (ip, parent_ip, flags, pid), instances with their own ops, notrace,
// the function-command probes, the profiler, user-defined modules, and the errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Workload } from '../src/index.ts';
import type { TraceBuffer } from '../src/ring/trace-buffer.ts';
import { decodeFtraceEvent, type FtraceEntry } from '../src/ftrace/dump.ts';
import { hashBitsForCount } from '../src/ftrace/ftrace.ts';
import { parseModuleFile, KERNEL_TEXT_START, MODULES_VADDR } from '../src/ftrace/kernel-text.ts';
import { abi } from '../src/layout.ts';
import { withMachine, errCode } from './helpers.ts';

// every event of a buffer, oldest first, decoded
function drain(b: TraceBuffer): (FtraceEntry & { cpu: number; ts: number })[] {
  const out: (FtraceEntry & { cpu: number; ts: number })[] = [];
  for (let ev = b.consumeMerged(); ev; ev = b.consumeMerged()) out.push({ ...decodeFtraceEvent(ev.data), cpu: ev.cpu, ts: ev.ts });
  return out;
}

const OPTS = { cpus: 2, bufferSizeKb: 64, clock: 'virtual' as const };

test('records: >= 40,000 core functions sorted by ip, modules after in load order, lookups in Wasm and on the host', async () => {
  await withMachine(OPTS, async (m) => {
    const ft = m.ftrace;
    await ft.loadModule('dummy');
    await ft.loadModule('uinput');
    const recs = [...ft.records()];
    const core = recs.filter((r) => r.module === null);
    assert.ok(core.length >= 40000, `${core.length} core functions`);
    for (let i = 1; i < core.length; i++) assert.ok(core[i - 1].ip < core[i].ip, 'core records sorted by ip');
    assert.ok(core[0].ip >= KERNEL_TEXT_START);
    // the core first, then dummy's group, then uinput's (load order), each sorted
    const mods = recs.slice(core.length).map((r) => r.module);
    const firstUinput = mods.indexOf('uinput');
    assert.ok(mods.slice(0, firstUinput).every((x) => x === 'dummy') && mods.slice(firstUinput).every((x) => x === 'uinput'));
    const uinput = recs.filter((r) => r.module === 'uinput');
    assert.ok(uinput.every((r) => r.ip >= MODULES_VADDR));
    for (const name of ['uinput_release', 'uinput_open', 'uinput_write', 'uinput_read', 'uinput_ioctl']) {
      assert.equal(ft.lookupName(name)[0]?.module, 'uinput', name);
    }
    for (const name of ['schedule', 'do_sys_open', 'vfs_read', 'kfree', '__ftrace_hash_rec_update', 'tcp_sendmsg']) {
      assert.equal(ft.lookupName(name).length, 1, name);
    }
    // dyn_ftrace flags: module records were enabled (DISABLED cleared), nothing counted
    assert.ok(recs.every((r) => r.flags === 0));
    // lookup_rec in Wasm agrees with the host for records, and finds nothing between them
    for (let i = 0; i < recs.length; i += 97) {
      const r = recs[i];
      assert.equal(ft.wasmLookup(r.ip), r.rec);
      assert.equal(ft.lookupIpSearch(r.ip)?.rec, r.rec);
      assert.equal(ft.wasmLookup(r.ip + 1n), 0);
    }
    assert.equal(ft.wasmLookup(0xffffffff80000000n), 0);
    // kallsyms: an address inside a function
    const s = ft.lookupName('schedule')[0];
    assert.equal(ft.symbolize(s.ip + 3n)?.name, 'schedule');
  });
});

test('ftrace_hash sizing: __move_hash uses fls(count / 2) bits, at most FTRACE_HASH_MAX_BITS', () => {
  assert.equal(abi.FTRACE_HASH_DEFAULT_BITS, 10);
  assert.equal(abi.FTRACE_HASH_MAX_BITS, 12);
  const want: [number, number][] = [[0, 0], [1, 0], [2, 1], [3, 1], [4, 2], [7, 2], [8, 3], [1000, 9], [8191, 12], [10000, 12], [40000, 12]];
  for (const [count, bits] of want) assert.equal(hashBitsForCount(count), bits, `count ${count}`);
});

test('filter and dispatch: TRACE_FN events with ip, parent_ip, context flags and pid', async () => {
  await withMachine(OPTS, async (m) => {
    const ft = m.ftrace;
    await ft.setFilter(undefined, ['schedule', 'vfs_read']);
    assert.deepEqual(ft.filterOf().ips, ft.lookupName('schedule').concat(ft.lookupName('vfs_read')).map((r) => r.ip).sort((a, b) => (a < b ? -1 : 1)));
    // not registered yet: no record counted
    assert.equal(ft.enabledFunctions().length, 0);
    await ft.setTracer(undefined, 'function');
    assert.equal(ft.currentTracer(), 'function');
    const enabled = ft.enabledFunctions();
    assert.deepEqual(enabled.map((r) => r.name).sort(), ['schedule', 'vfs_read']);
    for (const r of enabled) {
      assert.equal(r.count, 1);
      assert.equal(r.flags >>> 0, ((abi.FTRACE_FL_ENABLED | abi.FTRACE_FL_TOUCHED | 1) >>> 0));
    }
    const w = new Workload()
      .task(4242, 'cat')
      .enter('ksys_read')
      .call('vfs_read', { count: 2 })
      .call('kfree') // not in the filter: no event
      .exit()
      .context('softirq')
      .call('schedule', { parent: 'run_timer_softirq' })
      .context('irq')
      .call('schedule', { parent: 'sysvec_apic_timer_interrupt' })
      .context('nmi')
      .call('schedule', { parent: 'do_int3' })
      .context('normal')
      .irqFlags({ irqsOff: true, preemptCount: 2 })
      .call('schedule', { parent: 0xffffffff81000123n });
    await m.run(1, w);
    const evs = drain(m.buffer);
    assert.equal(evs.length, 6);
    assert.ok(evs.every((e) => e.type === abi.TRACE_FN && e.pid === 4242 && e.cpu === 1));
    const vfsRead = ft.lookupName('vfs_read')[0].ip;
    const schedule = ft.lookupName('schedule')[0].ip;
    assert.deepEqual(evs.map((e) => e.ip), [vfsRead, vfsRead, schedule, schedule, schedule, schedule]);
    // parent_ip: a return address inside the caller
    assert.deepEqual(evs.slice(0, 5).map((e) => ft.symbolize(e.parentIp!)?.name), ['ksys_read', 'ksys_read', 'run_timer_softirq', 'sysvec_apic_timer_interrupt', 'do_int3']);
    assert.equal(evs[5].parentIp, 0xffffffff81000123n);
    // tracing_gen_ctx(): normal, softirq, hardirq (irqs off), NMI, then irqs off with preempt count 2
    assert.deepEqual(evs.map((e) => e.flags), [0, 0, abi.TRACE_FLAG_SOFTIRQ, abi.TRACE_FLAG_HARDIRQ | abi.TRACE_FLAG_IRQS_OFF, abi.TRACE_FLAG_NMI | abi.TRACE_FLAG_HARDIRQ | abi.TRACE_FLAG_IRQS_OFF, abi.TRACE_FLAG_IRQS_OFF]);
    assert.deepEqual(evs.map((e) => e.preemptCount), [0, 0, 0, 0, 0, 2]);
    assert.equal(ft.commOf(4242), 'cat');
    assert.deepEqual(ft.currentTask(1), { pid: 4242, comm: 'cat' });
    // appending and removing ('>>' and '!')
    await ft.setFilter(undefined, ['kfree'], { append: true });
    await ft.setFilter(undefined, ['vfs_read'], { remove: true });
    assert.deepEqual(ft.enabledFunctions().map((r) => r.name).sort(), ['kfree', 'schedule']);
    assert.equal(ft.checkCounts().bad, 0);
    // off: nothing counted, call sites unpatched, TOUCHED stays
    await ft.setTracer(undefined, 'nop');
    assert.equal(ft.enabledFunctions().length, 0);
    assert.deepEqual(ft.touchedFunctions().map((r) => r.name).sort(), ['kfree', 'schedule', 'vfs_read']);
    await m.run(1, new Workload().call('schedule', { count: 10 }));
    assert.equal(drain(m.buffer).length, 0);
  });
});

test('an empty filter traces everything; notrace takes functions out', async () => {
  await withMachine(OPTS, async (m) => {
    const ft = m.ftrace;
    await ft.setNotrace(undefined, ['schedule']);
    await ft.setTracer(undefined, 'function');
    assert.equal(ft.enabledFunctions().length, ft.recordCount - 1);
    assert.equal(ft.lookupName('schedule')[0].count, 0);
    await m.run(0, new Workload().call('schedule').call('vfs_write', { parent: 'ksys_write' }));
    const evs = drain(m.buffer);
    assert.deepEqual(evs.map((e) => ft.symbolize(e.ip!)?.name), ['vfs_write']);
    // changing notrace while the ops is live: __ftrace_hash_rec_update on the notrace hash
    await ft.setNotrace(undefined, ['vfs_write']);
    assert.equal(ft.lookupName('schedule')[0].count, 1);
    assert.equal(ft.lookupName('vfs_write')[0].count, 0);
    assert.equal(ft.checkCounts().bad, 0);
    await ft.setNotrace(undefined, []);
    assert.equal(ft.enabledFunctions().length, ft.recordCount);
    await ft.setTracer(undefined, 'nop');
    assert.equal(ft.enabledFunctions().length, 0);
    assert.equal(ft.checkCounts().bad, 0);
  });
});

test('instances have their own ops: set_ftrace_filter of one affects only it; events go to its buffer', async () => {
  await withMachine(OPTS, async (m) => {
    const ft = m.ftrace;
    const foo = await m.createInstance('foo', { bufferSizeKb: 16, clock: 'virtual' });
    await ft.setFilter(foo, ['vfs_read']);
    await ft.setFilter(undefined, ['schedule']);
    await ft.setTracer(foo, 'function');
    await ft.setTracer(undefined, 'function');
    assert.equal(ft.lookupName('vfs_read')[0].count, 1);
    assert.equal(ft.lookupName('schedule')[0].count, 1);
    await m.run(0, new Workload().call('vfs_read').call('schedule').call('vfs_read'));
    assert.deepEqual(drain(foo).map((e) => ft.symbolize(e.ip!)?.name), ['vfs_read', 'vfs_read']);
    assert.deepEqual(drain(m.buffer).map((e) => ft.symbolize(e.ip!)?.name), ['schedule']);
    // both on one function: count 2, one event in each
    await ft.setFilter(foo, ['schedule'], { append: true });
    assert.equal(ft.lookupName('schedule')[0].count, 2);
    await m.run(0, new Workload().call('schedule'));
    assert.equal(drain(foo).length, 1);
    assert.equal(drain(m.buffer).length, 1);
    assert.equal(ft.checkCounts().bad, 0);
    // removing the instance unregisters its tracer
    await m.removeInstance('foo');
    assert.equal(ft.lookupName('schedule')[0].count, 1);
    assert.equal(ft.lookupName('vfs_read')[0].count, 0);
    assert.equal(ft.checkCounts().bad, 0);
  });
});

test('register_ftrace_function: a dynamic ops with its own hashes, newest first on the list', async () => {
  await withMachine(OPTS, async (m) => {
    const ft = m.ftrace;
    const a = ft.createOps({ name: 'a' });
    const b = ft.createOps({ name: 'b', funcStackTrace: true });
    await ft.setOpsHash(a, 'filter', ['kfree']);
    await ft.setOpsHash(b, 'filter', ['kfree', 'kmalloc_trace']);
    await ft.registerFtraceFunction(a);
    await ft.registerFtraceFunction(b);
    assert.deepEqual(ft.opsList().map((o) => o.name), ['b', 'a']);
    assert.equal(ft.lookupName('kfree')[0].count, 2);
    await assert.rejects(ft.registerFtraceFunction(a), errCode('EBUSY'));
    await m.run(0, new Workload().enter('do_exit').call('kfree').exit());
    const evs = drain(m.buffer);
    // b first (newest): its function event and its stack (func_stack_trace), then a's function event
    assert.deepEqual(evs.map((e) => e.type), [abi.TRACE_FN, abi.TRACE_STACK, abi.TRACE_FN]);
    assert.deepEqual(evs[1].callers!.map((ip) => ft.symbolize(ip)?.name), ['kfree', 'do_exit']);
    await ft.unregisterFtraceFunction(b);
    assert.equal(ft.lookupName('kfree')[0].count, 1);
    assert.equal(ft.lookupName('kmalloc_trace')[0].count, 0);
    await ft.unregisterFtraceFunction(a);
    assert.equal(ft.enabledFunctions().length, 0);
  });
});

test('probes: traceoff/traceon with counts, stacktrace with the call chain, dump into dmesg', async () => {
  await withMachine(OPTS, async (m) => {
    const ft = m.ftrace;
    await ft.setFilter(undefined, ['vfs_read', 'vfs_write']);
    await ft.setTracer(undefined, 'function');
    // traceoff:1 on vfs_write: tracing stops once, the counter goes to 0
    assert.equal(await ft.registerProbe(undefined, 'traceoff', ['vfs_write'], 1), 1);
    assert.equal(ft.lookupName('vfs_write')[0].count, 2); // the probe's ops counts too
    await m.run(0, new Workload().call('vfs_read').call('vfs_write').call('vfs_read'));
    assert.equal(m.buffer.recordIsSetOn, false);
    assert.deepEqual(ft.probes(), [{ ip: ft.lookupName('vfs_write')[0].ip, name: 'vfs_write', module: null, cmd: 'traceoff', count: 0n }]);
    // the probe's ops is newer, so it runs before the function tracer's: vfs_write's own event is
    // already refused, like the kernel's ftrace_ops_list_func order
    assert.deepEqual(drain(m.buffer).map((e) => ft.symbolize(e.ip!)?.name), ['vfs_read']);
    // unlimited traceon on vfs_read turns it back on
    await ft.registerProbe(undefined, 'traceon', ['vfs_read']);
    await m.run(0, new Workload().call('vfs_write').call('vfs_read'));
    assert.equal(m.buffer.recordIsSetOn, true);
    assert.equal(ft.probes().find((p) => p.cmd === 'traceon')?.count, null);
    assert.equal(await ft.unregisterProbe(undefined, 'traceon'), 1);
    assert.equal(await ft.unregisterProbe(undefined, 'traceoff', { counted: true }), 1);
    await assert.rejects(ft.unregisterProbe(undefined, 'traceoff'), errCode('EINVAL'));
    drain(m.buffer);
    // stacktrace:2 on kfree: two stack events with the workload's chain, into the top-level buffer
    await ft.registerProbe(undefined, 'stacktrace', ['kfree'], 2);
    await m.run(0, new Workload().enter('do_syscall_64').enter('ksys_read').call('kfree', { count: 3 }).exit().exit());
    const stacks = drain(m.buffer).filter((e) => e.type === abi.TRACE_STACK);
    assert.equal(stacks.length, 2);
    assert.deepEqual(stacks[0].callers!.map((ip) => ft.symbolize(ip)?.name), ['kfree', 'ksys_read', 'do_syscall_64']);
    // dump: tracing goes off and the buffer is printed into dmesg
    await ft.registerProbe(undefined, 'dump', ['vfs_write']);
    await m.run(0, new Workload().task(77, 'dd').call('vfs_read').call('vfs_write'));
    const log = m.dmesg().join('\n');
    assert.match(log, /Dumping ftrace buffer:/);
    // the default trace format; no parent was given, so no " <-parent" (print_fn_trace)
    assert.match(log, /dd-77 +\[000\] \.\.\.\.\. +\d+\.\d{6}: vfs_read$/m);
    assert.equal(m.buffer.recordIsSetOn, false);
    assert.equal(ft.probes().find((p) => p.cmd === 'dump')?.count, 0n);
    assert.equal(ft.checkCounts().bad, 0);
  });
});

test('function profiler: hits and time per function per CPU, sharing the top-level filter', async () => {
  await withMachine(OPTS, async (m) => {
    const ft = m.ftrace;
    await ft.setFilter(undefined, ['vfs_read', 'ksys_read']);
    await ft.setProfiling(true);
    assert.equal(ft.lookupName('vfs_read')[0].count, 1);
    await m.run(1, new Workload().enter('ksys_read').call('vfs_read', { count: 3, durationNs: 100 }).delay(50).exit().call('kfree', { durationNs: 10 }));
    const stats = ft.profileStats(1);
    assert.deepEqual(stats.map((s) => [s.name, s.hits, s.timeNs, s.timeSqNs]), [
      ['ksys_read', 1, 350, 350 * 350],
      ['vfs_read', 3, 300, 3 * 100 * 100],
    ]);
    assert.deepEqual(ft.profileStats(0), []);
    // the filter of the top level changes what the profiler counts too
    await ft.setFilter(undefined, ['kfree']);
    assert.equal(ft.lookupName('kfree')[0].count, 1);
    assert.equal(ft.lookupName('vfs_read')[0].count, 0);
    await ft.setProfiling(false);
    assert.equal(ft.enabledFunctions().length, 0);
    assert.equal(ft.profileStats(1).length, 2); // stats stay readable
    await ft.setProfiling(true); // and are reset when it starts again
    assert.equal(ft.profileStats(1).length, 0);
    assert.equal(ft.checkCounts().bad, 0);
  });
});

test('modules: the catalog, user-defined modules and their file format, same address on reload, errors', async () => {
  await withMachine(OPTS, async (m) => {
    const ft = m.ftrace;
    await assert.rejects(ft.loadModule('nosuchmod'), errCode('ENOENT'));
    await assert.rejects(ft.unloadModule('uinput'), errCode('ENOENT'));
    const a = await ft.loadModule('uinput');
    await assert.rejects(ft.loadModule('uinput'), errCode('EEXIST'));
    const d = await ft.loadModule('snd-dummy');
    assert.equal(d.name, 'snd_dummy');
    await ft.unloadModule('uinput');
    const b = await ft.loadModule('uinput');
    assert.equal(b.base, a.base, 'reloaded in the same place');
    const def = parseModuleFile('# a test module\nmodule mydrv\nmydrv_open 0x80\nmydrv_release\n');
    assert.deepEqual(def.functions.map((f) => f.name), ['mydrv_open', 'mydrv_release']);
    assert.equal(def.functions[0].size, 0x80);
    assert.throws(() => parseModuleFile('mydrv_open\n'), errCode('EINVAL'));
    ft.defineModuleFile('module mydrv\nmydrv_open 0x80\nmydrv_release\n');
    ft.defineModule('other', ['other_probe', 'other_remove']);
    assert.throws(() => ft.defineModule('bad name', ['x']), errCode('EINVAL'));
    await ft.loadModule('mydrv');
    const recs = ft.lookupName('mydrv_release');
    assert.equal(recs[0].module, 'mydrv');
    await ft.setFilter(undefined, ['mydrv_release']);
    await ft.setTracer(undefined, 'function');
    await m.run(0, new Workload().call('mydrv_open').call('mydrv_release', { parent: 'mydrv_open' }));
    assert.deepEqual(drain(m.buffer).map((e) => [ft.symbolize(e.ip!)?.name, ft.symbolize(e.parentIp!)?.name]), [['mydrv_release', 'mydrv_open']]);
    // a call to a function of an unloaded module is refused when the workload is encoded
    await ft.setTracer(undefined, 'nop');
    await ft.unloadModule('mydrv');
    await assert.rejects(m.run(0, new Workload().call('mydrv_open')), errCode('ENOENT'));
  });
});

test('bad input: unknown functions and tracers, bad counts', async () => {
  await withMachine(OPTS, async (m) => {
    const ft = m.ftrace;
    await assert.rejects(ft.setFilter(undefined, ['no_such_function_anywhere']), errCode('EINVAL'));
    await assert.rejects(ft.setFilter(undefined, [0xffffffff81000001n]), errCode('ENOENT'));
    await assert.rejects(ft.setTracer(undefined, 'function_graph_xyz'), errCode('EINVAL'));
    assert.throws(() => new Workload().call('schedule', { count: -1 }), errCode('EINVAL'));
    assert.throws(() => new Workload().exit(), errCode('EINVAL'));
    // nothing changed
    assert.equal(ft.filterOf().count, 0);
    assert.equal(ft.currentTracer(), 'nop');
  });
});
