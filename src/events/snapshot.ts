// The snapshot buffer of a trace_array (tr->max_buffer, kernel/trace/trace.c: tracing_alloc_snapshot,
// update_max_tr, update_max_tr_single, tracing_snapshot_write): allocated on first use with the main
// buffer's geometry, swapped with the main buffer CPU by CPU (ring_buffer_swap_cpu), freed on "0".
//
// tracing_snapshot_instance() called by a CPU (the snapshot function probe, the snapshot event trigger)
// counts a request in the main buffer's TB_SNAPSHOT_REQ word; the host serves the requests of every armed
// trace_array when a workload ends, before run() returns: one swap per workload that asked, however
// many times it asked, so events the CPU wrote after the call are in the swapped-out buffer too.
import type { RingMachine } from '../api.ts';
import { TraceBuffer } from '../ring/trace-buffer.ts';
import { abi } from '../layout.ts';
import { markerCpu, tracePutsWorkload } from './marker.ts';
import type { Workload } from '../machine/workload.ts';

const { TB_SNAPSHOT_REQ } = abi;

export class Snapshots {
  private readonly buffers = new Map<TraceBuffer, TraceBuffer>();
  // tr->snapshot: the users (function probes, event triggers) that keep the snapshot allocated
  private readonly armed = new Map<TraceBuffer, number>();
  private serving: Promise<void> = Promise.resolve();
  // the workloads serving itself runs (its puts), whose end serves nothing
  private readonly own = new WeakSet<Workload>();
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

  // tracing_arm_snapshot(): allocate (the error leaves it unarmed) and count the user
  async arm(main: TraceBuffer): Promise<void> {
    await this.allocate(main);
    this.armed.set(main, (this.armed.get(main) ?? 0) + 1);
  }

  // tracing_disarm_snapshot(): the snapshot stays allocated
  disarm(main: TraceBuffer): void {
    const n = (this.armed.get(main) ?? 0) - 1;
    if (n > 0) this.armed.set(main, n);
    else this.armed.delete(main);
  }

  // Called when `ended` ended: the requests CPUs made since the last call, served one call at a time
  serve(ended: Workload): Promise<void> {
    if (!this.armed.size || this.own.has(ended)) return Promise.resolve();
    const next = this.serving.then(() => this.serveNow());
    this.serving = next.catch(() => undefined);
    return next;
  }

  private async serveNow(): Promise<void> {
    const mem = this.rm.machine.mem;
    for (const main of [...this.armed.keys()]) {
      if (Atomics.exchange(mem.i32, (main.addr + TB_SNAPSHOT_REQ) >> 2, 0) === 0) continue;
      if (this.buffers.has(main)) {
        await this.take(main);
        continue;
      }
      // tracing_snapshot_instance_cond() on a freed snapshot: say so in the trace and stop tracing
      try {
        for (const text of ['*** SNAPSHOT NOT ALLOCATED ***\n', '*** stopping trace here!   ***\n']) {
          const w = tracePutsWorkload(this.rm, main, text, 'tracing_snapshot_instance_cond');
          this.own.add(w);
          await this.rm.run(markerCpu(this.rm), w);
        }
      } finally {
        main.recordOff();
      }
    }
  }

  // instance_rmdir(): its probes and triggers are gone with it, and so is its snapshot
  async release(main: TraceBuffer): Promise<void> {
    this.armed.delete(main);
    await this.free(main);
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
