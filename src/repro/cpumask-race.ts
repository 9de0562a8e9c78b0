// Reproducer of the race fixed by 20ad8b0888be ("ring-buffer: Enforce read ordering of trace_buffer
// cpumask and buffers"): a reader on one CPU walks every trace_buffer's cpumask and loads buffers[cpu]
// (ring_buffer_entries) while the host keeps preparing fresh per-CPU buffers (new instances, and CPUs
// coming up for the first time). Under the weak memory model and without the fix, the reader can see a
// cpumask bit whose buffers[cpu] is still NULL to it, and oopses.
import { createMachine, KernelOopsError, type RingMachine } from '../api.ts';
import { Workload } from '../machine/workload.ts';
import type { MemoryModel } from '../machine/machine.ts';

export interface CpumaskRaceOptions {
  fix: boolean; // with 20ad8b0888be
  memoryModel: MemoryModel;
  maxPrepares: number; // stop after this many trace_rb_cpu_prepare events without an oops
  cpus?: number; // possible CPUs; the ones beyond the first two come up for the first time during the run
  barrierEvery?: number; // the reader's full barriers: one every this many walks
  onProgress?: (prepares: number) => void;
}

export interface CpumaskRaceResult {
  oops: boolean;
  prepares: number; // trace_rb_cpu_prepare events that allocated a buffer while the reader ran
  attempts: number; // instances created and CPUs brought up before the oops (or in all)
  walks: number; // ring_buffer_entries() walks the reader made
  dmesg: string[];
}

export async function reproCpumaskRace(opts: CpumaskRaceOptions): Promise<CpumaskRaceResult> {
  const cpus = opts.cpus ?? 4;
  const m: RingMachine = await createMachine({
    cpus,
    online: [0, 1],
    bufferSizeKb: 4,
    memoryModel: opts.memoryModel,
    clock: 'counter',
    withoutFixes: opts.fix ? [] : ['20ad8b0888be'],
  });
  let prepares = 0;
  let attempts = 0;
  let oops = false;
  try {
    const reader = m.run(1, new Workload().walk({ barrierEvery: opts.barrierEvery ?? 64 })).catch((err) => {
      if (err instanceof KernelOopsError) {
        oops = true;
        return null;
      }
      throw err;
    });
    let nextCpu = 2;
    while (!oops && prepares < opts.maxPrepares) {
      attempts++;
      if (nextCpu < cpus && attempts % 50 === 0) {
        // a CPU seen for the first time: prepare every trace_buffer for it
        prepares += m.traceBuffers().length;
        await m.cpuUp(nextCpu++);
      } else {
        const name = `repro${attempts}`;
        prepares += m.onlineCpus().length;
        await m.createInstance(name, { bufferSizeKb: 4 });
        await m.removeInstance(name);
      }
      if (m.machine.cpuCrashed(1)) oops = true;
      if (attempts % 500 === 0) opts.onProgress?.(prepares);
    }
    m.stop(1);
    const result = await reader;
    return { oops, prepares, attempts, walks: result?.written ?? 0, dmesg: m.dmesg() };
  } finally {
    await m.close();
  }
}
