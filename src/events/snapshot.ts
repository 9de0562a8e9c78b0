// The snapshot buffer of a trace_array (tr->max_buffer, kernel/trace/trace.c: tracing_alloc_snapshot,
// update_max_tr, update_max_tr_single, tracing_snapshot_write): allocated on first use with the main
// buffer's geometry, swapped with the main buffer CPU by CPU (ring_buffer_swap_cpu), freed on "0".
import type { RingMachine } from '../api.ts';
import { TraceBuffer } from '../ring/trace-buffer.ts';

export class Snapshots {
  private readonly buffers = new Map<TraceBuffer, TraceBuffer>();
  // CPUs a trace_array's tracing_cpumask has taken out: the snapshot buffer's recording on them is off
  // too (tracing_set_cpumask disables both buffers, so a swap keeps the counts balanced)
  readonly maskedOut = new Map<TraceBuffer, Set<number>>();

  constructor(private readonly rm: RingMachine) {}

  of(main: TraceBuffer): TraceBuffer | undefined {
    return this.buffers.get(main);
  }

  // tracing_alloc_snapshot_instance(): the same size, sub-buffer size, mode and clock as the main
  // buffer, for every CPU the main buffer has
  async allocate(main: TraceBuffer): Promise<TraceBuffer> {
    const have = this.buffers.get(main);
    if (have) return have;
    const cpus = main.bufferCpus();
    const snap = new TraceBuffer(this.rm.machine, `${main.name}#snapshot`, {
      sizeBytes: cpus.length ? main.sizeOf(cpus[0]) : main.dataSize * 2,
      subbufSize: main.subbufSize,
      overwrite: main.overwrite,
      clock: main.clock.name,
    });
    try {
      for (const cpu of cpus) {
        await this.rm.prepareCpu(snap, cpu);
        if (snap.nrPages(cpu) !== main.nrPages(cpu)) await snap.resize(main.sizeOf(cpu), cpu);
        if (this.maskedOut.get(main)?.has(cpu)) snap.recordDisableCpu(cpu);
      }
    } catch (err) {
      await this.destroy(snap);
      throw err;
    }
    this.buffers.set(main, snap);
    return snap;
  }

  // update_max_tr() (all CPUs) / update_max_tr_single() (one)
  async take(main: TraceBuffer, cpu?: number): Promise<void> {
    const snap = await this.allocate(main);
    const cpus = cpu === undefined ? main.bufferCpus().filter((c) => snap.hasCpu(c)) : [cpu];
    await main.swapCpus(snap, cpus);
  }

  // free_snapshot()
  async free(main: TraceBuffer): Promise<void> {
    const snap = this.buffers.get(main);
    if (!snap) return;
    this.buffers.delete(main);
    await this.destroy(snap);
  }

  private async destroy(snap: TraceBuffer): Promise<void> {
    this.rm.machine.unregisterTraceBuffer(snap.addr);
    await this.rm.machine.synchronizeRcu();
    snap.destroy();
  }
}
