// CPU hotplug, IPIs, instances and the weak memory model (issue: hotplug with IPI orchestration), with
// the race of 20ad8b0888be reproduced and fixed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Workload, RingtraceError, KernelOopsError } from '../src/index.ts';
import { reproCpumaskRace } from '../src/repro/cpumask-race.ts';
import { abi } from '../src/layout.ts';
import { withMachine, errCode } from './helpers.ts';

test('cpuUp prepares every trace_buffer for a CPU seen the first time; cpuDown keeps its data', async () => {
  await withMachine({ cpus: 4, online: [0, 1], bufferSizeKb: 16, clock: 'virtual' }, async (m) => {
    const inst = await m.createInstance('foo', { bufferSizeKb: 8 });
    assert.deepEqual(m.onlineCpus(), [0, 1]);
    assert.deepEqual(m.buffer.bufferCpus(), [0, 1]);
    await m.cpuUp(2);
    assert.deepEqual(m.onlineCpus(), [0, 1, 2]);
    // trace_rb_cpu_prepare: the new CPU's buffer gets the size the others share
    assert.deepEqual(m.buffer.bufferCpus(), [0, 1, 2]);
    assert.equal(m.buffer.nrPages(2), m.buffer.nrPages(0));
    assert.deepEqual(inst.bufferCpus(), [0, 1, 2]);
    assert.equal(inst.nrPages(2), inst.nrPages(0));
    const r = await m.run(2, new Workload().write({ size: 16, count: 10 }));
    assert.equal(r.written, 10);
    await m.cpuDown(2);
    assert.deepEqual(m.onlineCpus(), [0, 1]);
    // never freed: still readable, counters intact
    assert.equal(m.buffer.stats(2).entries, 10);
    await assert.rejects(m.run(2, new Workload().write({ size: 16, count: 1 })), errCode('ENODEV'));
    // when all CPUs do not share one size, a new CPU gets the minimum of two pages
    await m.buffer.resize(64 * 1024, 1);
    await m.cpuUp(3);
    assert.equal(m.buffer.nrPages(3), 2);
    // back up: the parked worker resumes, the buffer and its data are the same
    await m.cpuUp(2);
    assert.equal(m.buffer.stats(2).entries, 10);
    const r2 = await m.run(2, new Workload().write({ size: 16, count: 5 }));
    assert.equal(r2.written, 5);
    assert.equal(m.buffer.stats(2).entries, 15);
  });
});

test('hotplug errors: unknown CPUs, the boot CPU, the last online CPU; repeats are no-ops', async () => {
  await withMachine({ cpus: 2, bufferSizeKb: 8 }, async (m) => {
    await assert.rejects(m.cpuUp(2), errCode('EINVAL'));
    await assert.rejects(m.cpuDown(-1), errCode('EINVAL'));
    await assert.rejects(m.cpuDown(0), errCode('EPERM'));
    await m.cpuUp(1);
    await m.cpuDown(1);
    await m.cpuDown(1);
    assert.deepEqual(m.onlineCpus(), [0]);
    await m.cpuUp(1);
    assert.deepEqual(m.onlineCpus(), [0, 1]);
  });
  await withMachine({ cpus: 3, online: [0, 2], bufferSizeKb: 8 }, async (m) => {
    await m.cpuDown(2);
    // cpu0 is the last one online: the kernel refuses with EBUSY, but cpu0 is not hotpluggable anyway
    await assert.rejects(m.cpuDown(0), errCode('EPERM'));
    await m.cpuUp(1);
    await m.cpuDown(1);
    assert.deepEqual(m.onlineCpus(), [0]);
  });
});

test('IPIs reach every online CPU, also one busy in a long workload, and only online ones', async () => {
  await withMachine({ cpus: 3, bufferSizeKb: 64, clock: 'counter' }, async (m) => {
    const busy = m.run(1, new Workload().bench({ size: 16 }));
    for (let i = 0; i < 20; i++) await m.machine.onEachCpu(abi.IPI_SYNC);
    await m.machine.synchronizeRcu();
    await m.machine.smpCallFunctionSingle(2, abi.IPI_SYNC);
    m.stop(1);
    assert.ok((await busy).written > 0);
    await m.cpuDown(2);
    await assert.rejects(m.machine.smpCallFunctionSingle(2, abi.IPI_SYNC), errCode('ENODEV'));
    // an offline CPU is not waited for
    await m.machine.onEachCpu(abi.IPI_SYNC);
  });
});

test('cpuDown of a CPU running a workload stops it; its events stay readable', async () => {
  await withMachine({ cpus: 2, bufferSizeKb: 64, clock: 'counter' }, async (m) => {
    const run = m.run(1, new Workload().stress({ seed: 7, maxSize: 64 }));
    await new Promise((r) => setTimeout(r, 50));
    await m.cpuDown(1);
    const r = await run;
    const s = m.buffer.stats(1);
    assert.ok(r.written > 0);
    assert.equal(r.written, s.entries + s.overrun);
  });
});

test('instances: mkdir/rmdir semantics, their own buffers, EBUSY while read', async () => {
  await withMachine({ cpus: 2, bufferSizeKb: 8, clock: 'virtual' }, async (m) => {
    const a = await m.createInstance('a', { bufferSizeKb: 4 });
    await assert.rejects(m.createInstance('a'), errCode('EEXIST'));
    await assert.rejects(m.createInstance('x/y'), errCode('EINVAL'));
    await assert.rejects(m.removeInstance('nope'), errCode('ENOENT'));
    await m.run(0, new Workload().write({ size: 8, count: 3, buffer: a }));
    assert.equal(a.stats(0).entries, 3);
    assert.equal(m.buffer.stats(0).entries, 0);
    const it = a.iterate(0);
    it.next();
    await assert.rejects(m.removeInstance('a'), errCode('EBUSY'));
    it.return(undefined);
    await m.removeInstance('a');
    assert.equal(m.instances.size, 0);
    await m.createInstance('a');
  });
});

test('20ad8b0888be off, weak memory: a reader sees the cpumask bit with a NULL buffer and oopses', async () => {
  const r = await reproCpumaskRace({ fix: false, memoryModel: 'weak', maxPrepares: 10000 });
  assert.equal(r.oops, true, `no oops in ${r.prepares} prepare events`);
  assert.ok(r.dmesg.some((l) => l.includes('BUG: kernel NULL pointer dereference')));
  assert.ok(r.dmesg.some((l) => /RIP: 0010:ring_buffer_entries/.test(l)));
});

test('20ad8b0888be on, weak memory: no oops in 10,000 prepare events; tso: none either way', async () => {
  const on = await reproCpumaskRace({ fix: true, memoryModel: 'weak', maxPrepares: 10000 });
  assert.equal(on.oops, false);
  assert.ok(on.prepares >= 10000);
  for (const fix of [true, false]) {
    const tso = await reproCpumaskRace({ fix, memoryModel: 'tso', maxPrepares: 3000 });
    assert.equal(tso.oops, false);
  }
});

test('an oops marks only that CPU crashed; other CPUs and all recorded data stay', async () => {
  await withMachine({ cpus: 3, online: [0, 1], bufferSizeKb: 8, memoryModel: 'weak', withoutFixes: ['20ad8b0888be'], clock: 'virtual' }, async (m) => {
    await m.run(0, new Workload().write({ size: 16, count: 4 }));
    const reader = m.run(1, new Workload().walk({ barrierEvery: 0 }));
    let oops: unknown;
    reader.catch((e) => (oops = e));
    for (let i = 0; i < 200 && !m.machine.cpuCrashed(1); i++) {
      await m.createInstance(`i${i}`, { bufferSizeKb: 4 });
      // give the reader time to walk while the new buffers are there (a loaded machine may not run it
      // at once): up to about 50 ms
      for (let t = 0; t < 25 && !m.machine.cpuCrashed(1); t++) await new Promise((r) => setTimeout(r, 2));
      await m.removeInstance(`i${i}`);
    }
    m.stop(1);
    await reader.catch(() => undefined);
    assert.ok(oops instanceof KernelOopsError);
    assert.equal((oops as KernelOopsError).cpu, 1);
    await assert.rejects(m.run(1, new Workload().write({ size: 16, count: 1 })), errCode('EFAULT'));
    const w = await m.run(0, new Workload().write({ size: 16, count: 2 }));
    assert.equal(w.written, 2);
    assert.equal(m.buffer.stats(0).entries, 6);
  });
});

test('stress: CPUs up and down while writers write, a reader consumes and instances come and go', async () => {
  await withMachine({ cpus: 4, online: [0, 1], bufferSizeKb: 32, clock: 'counter' }, async (m) => {
    const written = [0, 0, 0, 0];
    let stop = false;
    const writer = async (cpu: number) => {
      while (!stop) {
        try {
          const r = await m.run(cpu, new Workload().stress({ seed: cpu + 1, maxSize: 48, nestPercent: 10, count: 2000 }));
          written[cpu] += r.written;
        } catch (err) {
          if (!(err instanceof RingtraceError) || (err.code !== 'ENODEV' && err.code !== 'EBUSY')) throw err;
          await new Promise((r) => setTimeout(r, 1));
        }
      }
    };
    let read = 0;
    const reader = async () => {
      while (!stop) {
        for (let i = 0; i < 200 && m.buffer.consumeMerged(); i++) read++;
        await new Promise((r) => setImmediate(r));
      }
    };
    const plug = async () => {
      for (let round = 0; round < 30; round++) {
        const cpu = 1 + (round % 3);
        if (m.onlineCpus().includes(cpu)) await m.cpuDown(cpu);
        else await m.cpuUp(cpu);
        await m.createInstance(`s${round}`, { bufferSizeKb: 4 });
        await m.removeInstance(`s${round}`);
      }
      stop = true;
    };
    await Promise.all([writer(0), writer(1), writer(2), writer(3), reader(), plug()]);
    while (m.buffer.consumeMerged()) read++;
    let total = 0;
    for (const cpu of m.buffer.bufferCpus()) {
      const s = m.buffer.stats(cpu);
      assert.equal(written[cpu], s.readEvents + s.overrun + s.entries, `CPU ${cpu}`);
      total += s.readEvents;
    }
    assert.equal(total, read);
  });
});
