// The accounting invariant: after random sequences of filter and notrace edits, tracer switches on
// the top level and on instances, dynamic ops registrations, probes, the profiler, and module load /
// unload cycles, every record's count equals the number of enabled ops whose hashes take it in
// (checked in Wasm over all records), and no FTRACE_WARN_ON fired.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMachine, Workload, RingtraceError, type RingMachine } from '../src/index.ts';
import type { TraceBuffer } from '../src/ring/trace-buffer.ts';
import type { FtraceOps } from '../src/ftrace/ftrace.ts';

function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

async function run(seed: number, steps: number) {
  const m: RingMachine = await createMachine({ cpus: 2, bufferSizeKb: 16, clock: 'virtual' });
  try {
    const ft = m.ftrace;
    const r = rng(seed);
    const inst = [await m.createInstance('a', { bufferSizeKb: 16 }), await m.createInstance('b', { bufferSizeKb: 16 })];
    const arrays: (TraceBuffer | undefined)[] = [undefined, ...inst];
    const mods = ['uinput', 'dummy', 'loop'];
    const core = ['schedule', 'vfs_read', 'vfs_write', 'kfree', 'do_sys_open', 'tcp_sendmsg', 'ksys_read', 'mutex_lock'];
    const modFns: Record<string, string[]> = { uinput: ['uinput_release', 'uinput_open', 'uinput_write'], dummy: ['dummy_xmit', 'dummy_setup'], loop: ['lo_open', 'lo_release', 'loop_queue_rq'] };
    const dyn: FtraceOps[] = [ft.createOps({ name: 'd0' }), ft.createOps({ name: 'd1' })];
    const pick = () => {
      const pool = [...core, ...mods.filter((x) => ft.isLoaded(x)).flatMap((x) => modFns[x])];
      const n = 1 + r(4);
      return Array.from({ length: n }, () => pool[r(pool.length)]);
    };
    const log: string[] = [];
    for (let step = 0; step < steps; step++) {
      const what = r(12);
      const tr = arrays[r(arrays.length)];
      const trName = tr?.name ?? 'top';
      try {
        if (what === 0 || what === 1) {
          const fns = r(5) === 0 ? [] : pick();
          const opts = { append: r(2) === 0, remove: r(5) === 0 };
          log.push(`filter ${trName} ${fns} ${JSON.stringify(opts)}`);
          await ft.setFilter(tr, fns, opts);
        } else if (what === 2) {
          const fns = r(3) === 0 ? [] : pick();
          log.push(`notrace ${trName} ${fns}`);
          await ft.setNotrace(tr, fns, { append: r(2) === 0 });
        } else if (what === 3 || what === 4) {
          const name = ft.currentTracer(tr) === 'function' ? 'nop' : 'function';
          log.push(`tracer ${trName} ${name}`);
          await ft.setTracer(tr, name);
        } else if (what === 5) {
          const mod = mods[r(mods.length)];
          log.push(`${ft.isLoaded(mod) ? 'rmmod' : 'modprobe'} ${mod}`);
          if (ft.isLoaded(mod)) await ft.unloadModule(mod);
          else await ft.loadModule(mod);
        } else if (what === 6) {
          const op = dyn[r(dyn.length)];
          log.push(`${op.enabled ? 'unregister' : 'register'} ${op.name}`);
          if (op.enabled) await ft.unregisterFtraceFunction(op);
          else await ft.registerFtraceFunction(op);
        } else if (what === 7) {
          const op = dyn[r(dyn.length)];
          const fns = r(4) === 0 ? [] : pick();
          const which = r(3) === 0 ? 'notrace' : 'filter';
          log.push(`ops ${op.name} ${which} ${fns}`);
          await ft.setOpsHash(op, which, fns, { append: r(2) === 0 });
        } else if (what === 8) {
          const cmd = (['traceon', 'traceoff', 'stacktrace'] as const)[r(3)];
          const fns = pick();
          log.push(`probe ${trName} ${cmd} ${fns}`);
          await ft.registerProbe(tr, cmd, fns, r(2) ? 3 : undefined);
        } else if (what === 9) {
          const cmd = (['traceon', 'traceoff', 'stacktrace'] as const)[r(3)];
          log.push(`!probe ${trName} ${cmd}`);
          await ft.unregisterProbe(tr, cmd, { counted: r(2) === 0 });
        } else if (what === 10) {
          log.push(`profile ${!ft.profiling}`);
          await ft.setProfiling(!ft.profiling);
        } else {
          const fns = pick();
          log.push(`calls ${fns}`);
          const w = new Workload();
          for (const f of fns) w.call(f, { count: 3, durationNs: 10 });
          await m.run(r(2), w);
          for (const b of [m.buffer, ...inst]) for (let ev = b.consumeMerged(); ev; ev = b.consumeMerged());
          m.buffer.recordOn();
          for (const b of inst) b.recordOn();
        }
      } catch (err) {
        // EINVAL: a probe removal that matched nothing, or a remove of functions that are not there
        if (!(err instanceof RingtraceError && err.code === 'EINVAL')) throw err;
      }
      const c = ft.checkCounts();
      assert.equal(c.bad, 0, `seed ${seed} step ${step}: ${c.bad} records off, first ${c.first?.name} count ${c.first?.count}\n${log.join('\n')}`);
      assert.equal(ft.warningCount, 0, `seed ${seed} step ${step}: WARNING\n${log.join('\n')}\n${m.dmesg().join('\n')}`);
      assert.equal(ft.disabled, false);
    }
    // everything off: nothing counted, nothing patched
    for (const tr of arrays) await ft.setTracer(tr, 'nop');
    for (const op of dyn) if (op.enabled) await ft.unregisterFtraceFunction(op);
    if (ft.profiling) await ft.setProfiling(false);
    for (const tr of arrays) {
      for (const p of new Set(ft.probes(tr).map((p) => `${p.cmd}/${p.count !== null}`))) {
        const [cmd, counted] = p.split('/');
        await ft.unregisterProbe(tr, cmd as 'traceon', { counted: counted === 'true' });
      }
    }
    assert.equal(ft.enabledFunctions().length, 0);
    assert.ok([...ft.records()].every((rec) => rec.count === 0));
    assert.equal(ft.checkCounts().bad, 0);
  } finally {
    await m.close();
  }
}

for (const seed of [1, 2, 3, 0xc0ffee]) {
  test(`random ftrace changes keep every record's count right (seed ${seed})`, async () => {
    await run(seed, 120);
  });
}
