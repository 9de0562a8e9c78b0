// SMP benchmarks (issue: hotplug with IPI orchestration, "Performance"): the round trip of
// on_each_cpu() to every online CPU (mailbox request, Atomics.notify, acknowledgements awaited with
// Atomics.waitAsync), and a cpuDown/cpuUp cycle of an already started worker. Host-timed per operation;
// the medians of the per-run medians are reported.
import { createMachine } from '../src/index.ts';
import { abi } from '../src/layout.ts';
import { machineInfo, machineLine, median, measurement, type Measurement } from './stats.ts';

export interface SmpBenchOptions {
  runs: number;
  log?: (line: string) => void;
}

export async function runSmpBench(opts: SmpBenchOptions): Promise<Measurement[]> {
  const log = opts.log ?? (() => {});
  const machine = machineLine(machineInfo());
  const m = await createMachine({ cpus: 2, bufferSizeKb: 8 });
  const ipi: number[] = [];
  const cycle: number[] = [];
  try {
    log('[smp 1/2] on_each_cpu(rb_cpu_sync) round trips to 2 online CPUs');
    for (let r = 0; r < opts.runs + 1; r++) {
      const xs: number[] = [];
      for (let i = 0; i < 2000; i++) {
        const t = performance.now();
        await m.machine.onEachCpu(abi.IPI_SYNC);
        xs.push((performance.now() - t) * 1000);
      }
      if (r > 0) ipi.push(median(xs));
    }
    log('[smp 2/2] cpuDown(1) + cpuUp(1) of a started worker');
    for (let r = 0; r < opts.runs + 1; r++) {
      const xs: number[] = [];
      for (let i = 0; i < 500; i++) {
        const t = performance.now();
        await m.cpuDown(1);
        await m.cpuUp(1);
        xs.push((performance.now() - t) * 1000);
      }
      if (r > 0) cycle.push(median(xs));
    }
  } finally {
    await m.close();
  }
  return [
    measurement('smp.on_each_cpu', 'us', ipi, [machine, '2 online CPUs idle in their Wasm idle loop; median of 2000 round trips per run']),
    measurement('smp.hotplug_cycle', 'us', cycle, [machine, 'cpuDown(1) then cpuUp(1); median of 500 cycles per run']),
  ];
}
