// The reproducer of upstream commit 8c4f3c3fa968 ("ftrace: Check module functions being traced on
// reload"), through the API, with the fix (the default) and without it (withoutFixes).
//   modprobe uinput; echo uinput_release > set_ftrace_filter; echo function > current_tracer
//   rmmod uinput; modprobe uinput (same address); echo nop > current_tracer
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Workload, type RingMachine } from '../src/index.ts';
import { decodeFtraceEvent } from '../src/ftrace/dump.ts';
import { withMachine, errCode } from './helpers.ts';

function events(m: RingMachine): bigint[] {
  const out: bigint[] = [];
  for (let ev = m.buffer.consumeMerged(); ev; ev = m.buffer.consumeMerged()) out.push(decodeFtraceEvent(ev.data).ip!);
  return out;
}

async function reproducer(m: RingMachine): Promise<void> {
  const ft = m.ftrace;
  const first = await ft.loadModule('uinput');
  await ft.setFilter(undefined, ['uinput_release'], { path: 'tracefs' });
  await ft.setTracer(undefined, 'function', { path: 'tracefs' });
  assert.equal(ft.lookupName('uinput_release')[0].count, 1);
  await ft.unloadModule('uinput');
  const again = await ft.loadModule('uinput');
  assert.equal(again.base, first.base, 'uinput is loaded in the same location');
  await ft.setTracer(undefined, 'nop', { path: 'tracefs' });
}

const OPTS = { cpus: 2, bufferSizeKb: 64, clock: 'virtual' as const };

test('with 8c4f3c3fa968: no warning, the hash entry was cleared on unload, ftrace keeps working', async () => {
  await withMachine(OPTS, async (m) => {
    const ft = m.ftrace;
    await reproducer(m);
    assert.equal(ft.disabled, false);
    assert.equal(ft.warningCount, 0);
    assert.ok(!m.dmesg().some((l) => l.includes('WARNING')));
    // clear_mod_from_hashes(): the entry stays counted with ip 0, so the filter traces nothing
    assert.deepEqual(ft.filterOf(), { ips: [], zeroed: 1, count: 1, flags: 0 });
    assert.equal(ft.checkCounts().bad, 0);
    // and ftrace works
    await ft.setFilter(undefined, ['uinput_release']);
    await ft.setTracer(undefined, 'function');
    await m.run(0, new Workload().call('uinput_release', { parent: 'uinput_ioctl' }).call('schedule'));
    assert.deepEqual(events(m), [ft.lookupName('uinput_release')[0].ip]);
    await ft.setTracer(undefined, 'nop');
    assert.equal(ft.enabledFunctions().length, 0);
    assert.equal(ft.checkCounts().bad, 0);
  });
});

test('with 8c4f3c3fa968, referenced_filters(): a reloaded module is traced by the ops whose hashes still hold it', async () => {
  await withMachine(OPTS, async (m) => {
    const ft = m.ftrace;
    await ft.loadModule('uinput');
    // a dynamic ops's hash is not a trace_array's: clear_mod_from_hashes() leaves it alone
    const ops = ft.createOps({ name: 'mine' });
    await ft.setOpsHash(ops, 'filter', ['uinput_release', 'schedule']);
    await ft.registerFtraceFunction(ops);
    // and the function tracer traces everything (ops_traces_mod)
    await ft.setTracer(undefined, 'function');
    assert.equal(ft.lookupName('uinput_release')[0].count, 2);
    await ft.unloadModule('uinput');
    await ft.loadModule('uinput');
    const rel = ft.lookupName('uinput_release')[0];
    assert.equal(rel.count, 2);
    assert.equal(ft.lookupName('uinput_open')[0].count, 1);
    assert.equal(ft.checkCounts().bad, 0);
    await m.run(0, new Workload().call('uinput_release'));
    assert.deepEqual(events(m), [rel.ip, rel.ip]);
    await ft.setTracer(undefined, 'nop');
    await ft.unregisterFtraceFunction(ops);
    assert.equal(ft.enabledFunctions().length, 0);
    assert.equal(ft.warningCount, 0);
  });
});

test('without 8c4f3c3fa968: the WARNING of the report is in dmesg and ftrace is dead', async () => {
  await withMachine({ ...OPTS, withoutFixes: ['8c4f3c3fa968'] }, async (m) => {
    const ft = m.ftrace;
    await reproducer(m);
    assert.equal(ft.disabled, true);
    assert.equal(ft.currentTracer(), 'nop');
    const log = m.dmesg();
    const at = log.findIndex((l) => /WARNING: at kernel\/trace\/ftrace\.c:\d+ __ftrace_hash_rec_update\+0x[0-9a-f]+\/0x[0-9a-f]+\(\)/.test(l));
    assert.ok(at >= 0, log.join('\n'));
    assert.match(log[at - 1], /------------\[ cut here \]------------/);
    assert.match(log[at + 1], /Pid: \d+, comm: bash/);
    assert.match(log[at + 2], /Call Trace:/);
    const trace = log.slice(at + 3, log.findIndex((l) => l.includes('---[ end trace')));
    assert.deepEqual(trace.slice(0, 4).map((l) => / ([_a-z0-9.]+)\+0x/.exec(l.replace(/^\[[ .0-9]+\] /, ' '))?.[1]), ['warn_slowpath_common', 'warn_slowpath_null', '__ftrace_hash_rec_update', 'ftrace_shutdown']);
    assert.ok(trace.every((l) => /\[<ffffffff8[0-9a-f]{7}>\] /.test(l)), trace.join('\n'));
    assert.ok(log.some((l) => /---\[ end trace [0-9a-f]{16} \]---/.test(l)));
    assert.deepEqual(ft.lastWarning && [ft.lastWarning.name, ft.lastWarning.module, ft.lastWarning.underflow], ['uinput_release', 'uinput', true]);
    // dead: filter changes, tracers and probes fail with ENODEV; nothing is traced any more
    await assert.rejects(ft.setFilter(undefined, ['schedule']), errCode('ENODEV'));
    await assert.rejects(ft.setNotrace(undefined, ['schedule']), errCode('ENODEV'));
    await assert.rejects(ft.setTracer(undefined, 'function'), errCode('ENODEV'));
    await assert.rejects(ft.registerProbe(undefined, 'traceoff', ['schedule']), errCode('ENODEV'));
    await assert.rejects(ft.setProfiling(true), errCode('ENODEV'));
    const ops = ft.createOps();
    await assert.rejects(ft.registerFtraceFunction(ops), errCode('ENODEV'));
    await m.run(0, new Workload().call('schedule', { count: 100 }).call('uinput_release'));
    assert.deepEqual(events(m), []);
    // a module loaded now gets no records (ftrace_module_init returns at once)
    await ft.loadModule('dummy');
    assert.equal(ft.lookupName('dummy_xmit').length, 0);
  });
});

test('without 8c4f3c3fa968, a reload somewhere else or a filter elsewhere does not warn', async () => {
  await withMachine({ ...OPTS, withoutFixes: ['8c4f3c3fa968'] }, async (m) => {
    const ft = m.ftrace;
    await ft.loadModule('uinput');
    await ft.setFilter(undefined, ['schedule']);
    await ft.setTracer(undefined, 'function');
    await ft.unloadModule('uinput');
    await ft.loadModule('uinput');
    await ft.setTracer(undefined, 'nop');
    assert.equal(ft.disabled, false);
    // the hash entry survives the unload (no clear_mod_from_hashes) but points to another address
    await ft.setFilter(undefined, ['uinput_release']);
    await ft.setTracer(undefined, 'function');
    await ft.unloadModule('uinput');
    await ft.loadModule('dummy'); // takes uinput's old place
    await ft.loadModule('uinput'); // so uinput goes elsewhere
    assert.equal(ft.lookupName('uinput_release')[0].count, 0);
    await ft.setTracer(undefined, 'nop');
    assert.equal(ft.disabled, false);
    assert.equal(ft.warningCount, 0);
    assert.equal(ft.filterOf().count, 1);
  });
});
