// Reproducer of the race fixed by 20ad8b0888be ("ring-buffer: Enforce read ordering of trace_buffer
// cpumask and buffers"): a reader on one CPU walks every trace_buffer's cpumask and loads buffers[cpu]
// (ring_buffer_entries) while the host keeps preparing fresh per-CPU buffers (new instances, and CPUs
// coming up for the first time). Under the weak memory model and without the fix, the reader can see a
// cpumask bit whose buffers[cpu] is still NULL to it, and oopses.
import { createMachine, type RingMachine } from '../api.ts';
import { Workload } from '../machine/workload.ts';
import type { MemoryModel } from '../machine/machine.ts';
import { abi } from '../layout.ts';

const { RES_SIZE, RES_WRITTEN, EFAULT_RET } = abi;

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
  const machine = m.machine;
  // the reader: CPU 1 walking every trace_buffer; its walk count is live in `res`
  const res = machine.arena.alloc(RES_SIZE);
  const words = new Workload().walk({ barrierEvery: opts.barrierEvery ?? 64 }).encode({ resolve: (b) => b ?? m.buffer, res });
  const prog = machine.arena.alloc(words.byteLength + 4);
  machine.mem.i32.set(words, prog >> 2);
  const walks = () => machine.mem.load64(res + RES_WRITTEN);
  try {
    const reader = machine.runProgram(1, prog);
    // An attempt counts only if the reader walked while the fresh buffers were there: wait for two
    // more walks (a bounded wait: a loaded machine may not schedule the reader at once).
    const letReaderWalk = async () => {
      const target = walks() + 2;
      for (let spins = 0; spins < 1000 && walks() < target && !machine.cpuCrashed(1); spins++) {
        await new Promise((r) => setTimeout(r, spins < 10 ? 0 : 1));
      }
    };
    let nextCpu = 2;
    while (!oops && prepares < opts.maxPrepares) {
      attempts++;
      if (nextCpu < cpus && attempts % 50 === 0) {
        // a CPU seen for the first time: every trace_buffer is prepared for it
        prepares += m.traceBuffers().length;
        await m.cpuUp(nextCpu++);
        await letReaderWalk();
      } else {
        const name = `repro${attempts}`;
        prepares += m.onlineCpus().length;
        await m.createInstance(name, { bufferSizeKb: 4 });
        await letReaderWalk();
        await m.removeInstance(name);
      }
      if (machine.cpuCrashed(1)) oops = true;
      if (attempts % 500 === 0) opts.onProgress?.(prepares);
    }
    machine.stop(1);
    const ret = await reader;
    if (ret === EFAULT_RET) oops = true;
    return { oops, prepares, attempts, walks: walks(), dmesg: m.dmesg() };
  } finally {
    await m.close();
  }
}
