// SMP benchmarks (issue: hotplug with IPI orchestration, "Performance"): the round trip of
// on_each_cpu() to every online CPU (mailbox request, Atomics.notify, acknowledgements awaited with
// Atomics.waitAsync), and a cpuDown/cpuUp cycle of an already started worker. Host-timed per operation;
// a sample is the median of many operations.
import { createMachine } from '../src/index.ts';
import { abi } from '../src/layout.ts';
import { median } from './stats.ts';
import type { BenchContext, OpenSuite, Phase, Suite } from './suite.ts';

const IPIS = 2000;
const CYCLES = 500;

export const smpSuite: Suite = {
  name: 'smp',
  figures: ['smp.on_each_cpu', 'smp.hotplug_cycle'],
  open: openSmp,
};

async function openSmp(ctx: BenchContext, needed: (figure: string) => boolean): Promise<OpenSuite> {
  const m = await createMachine({ cpus: 2, bufferSizeKb: 8 });
  const base = [ctx.runsLine, ctx.machineLine];
  const timed = async (n: number, op: () => Promise<void>): Promise<number> => {
    const xs: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await op();
      xs.push((performance.now() - t) * 1000);
    }
    return median(xs);
  };
  const phases: Phase[] = [];
  const add = (name: string, label: string, n: number, op: () => Promise<void>, extra: string) => {
    if (!needed(name)) return;
    phases.push({
      label: `${name}: ${label}`,
      figures: [name],
      slots: 0,
      estimateMs: n * 0.05,
      warm: async () => void (await timed(n / 4, op)),
      sample: async () => ({ [name]: await timed(n, op) }),
      extra: () => [extra, ...base],
    });
  };
  add('smp.on_each_cpu', `on_each_cpu(rb_cpu_sync) round trips to 2 online CPUs (${IPIS} per sample)`, IPIS,
    () => m.machine.onEachCpu(abi.IPI_SYNC), `2 online CPUs idle in their Wasm idle loop; median of ${IPIS} round trips per sample`);
  add('smp.hotplug_cycle', `cpuDown(1) + cpuUp(1) of a started worker (${CYCLES} per sample)`, CYCLES,
    async () => {
      await m.cpuDown(1);
      await m.cpuUp(1);
    }, `cpuDown(1) then cpuUp(1); median of ${CYCLES} cycles per sample`);
  return { phases, close: () => m.close() };
}
