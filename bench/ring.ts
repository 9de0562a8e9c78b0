// The ring-buffer benchmark: the user-space counterpart of the kernel's
// kernel/trace/ring_buffer_benchmark.c (producers hammering ring_buffer_lock_reserve/unlock_commit on
// their CPUs for a while, an optional consumer reading whole pages with ring_buffer_read_page, and the
// kernel's per-producer report), the write-path measurements, and the floors they are held against
// (bench/figures.ts defines every figure).
//
// Timing: Wasm workloads are timed on the host from posting the work item to its acknowledgement (the
// workload stops itself when the host raises ATTN_STOP after the slot; the ~0.1 ms of mailbox latency
// is inside the measured time); the twin and the JavaScript callers time themselves with
// performance.now() on the thread that writes.
import { createMachine, Workload, type RingMachine, type WorkloadResult } from '../src/index.ts';
import { abi } from '../src/layout.ts';
import type { TwinBenchArgs, TwinBenchResult } from './twin-worker.ts';
import { siblingModule } from '../src/machine/platform.ts';
import { BenchUsageError, type BenchContext, type OpenSuite, type Phase, type Suite } from './suite.ts';

const WRITE_SIZE = 16; // the write-path figures are defined for a 16-byte payload
const BATCH = 256;
// ring.pipe.cold_spares: spare pages per consumer, 1 MiB of 4 KiB pages, more than a core's L2 cache
const COLD_SPARES = 256;
const TWIN_WORKER = siblingModule('./twin-worker', import.meta.url).href;

const now = () => performance.now();

// the kernel benchmark's report for one producer CPU (ring_buffer_producer())
export interface ProducerReport {
  cpu: number;
  consumerCpu: number | null;
  mode: 'producer/consumer' | 'overwrite';
  timeUs: number;
  overruns: number;
  read: number | null; // null: reader disabled
  entries: number;
  total: number;
  missed: number;
  hit: number;
  entriesPerMs: number;
  nsPerEntry: number;
  dropped: number;
  commitOverrun: number;
  recursion: number;
  warnings: number;
}

export const ringSuite: Suite = {
  name: 'ring',
  figures: [
    'ring.write.wasm.counter', 'ring.write.wasm.local', 'ring.write.floor', 'ring.write.ts.counter',
    'ring.write.jscall.counter', 'ring.write.jsbatch.counter', 'ring.write.cpu1', 'ring.write.cpu2',
    'ring.pipe', 'ring.pipe.lost', 'ring.pipe.floor', 'ring.pipe.cold_spares',
  ],
  open: openRing,
};

async function openRing(ctx: BenchContext, needed: (figure: string) => boolean): Promise<OpenSuite> {
  const { size, cpus: producers, consumer } = ctx;
  const nCpus = Math.max(2, producers * (consumer ? 2 : 1));
  const m = await createMachine({ cpus: nCpus, clock: 'counter', overwrite: true });
  const tb = m.buffer;
  if (size > tb.maxDataSize) {
    await m.close();
    throw new BenchUsageError(`--size ${size} is larger than a ${tb.subbufSize}-byte sub-buffer allows (at most ${tb.maxDataSize} bytes)`);
  }
  const bench = (sz: number) => new Workload().bench({ size: sz, barriers: ctx.barriers });
  const slowed = ctx.barriers ? [`SLOWED ON PURPOSE: ${ctx.barriers} extra full barriers per event (RINGTRACE_BENCH_SLOW_BARRIERS)`] : [];
  const base = [ctx.runsLine, ctx.machineLine];
  const phases: Phase[] = [];

  const wasmRun = async (cpu: number, w: Workload, ms: number): Promise<{ r: WorkloadResult; ms: number }> => {
    const t0 = now();
    const r = await m.run(cpu, w, { durationMs: ms });
    return { r, ms: now() - t0 };
  };

  for (const clock of ['counter', 'local'] as const) {
    const name = `ring.write.wasm.${clock}`;
    if (!needed(name)) continue;
    const one = async (ms: number) => {
      await tb.setClock(clock);
      tb.setOverwrite(true);
      const { r, ms: t } = await wasmRun(0, bench(WRITE_SIZE), ms);
      return (t * 1e6) / r.written;
    };
    phases.push({
      label: `${name}: OP_BENCH in Wasm on CPU 0, ${WRITE_SIZE}-byte events, ${clock} clock`,
      figures: [name],
      slots: 1,
      warm: async (ms) => void (await one(ms)),
      sample: async (ms) => ({ [name]: await one(ms) }),
      extra: () => [
        `OP_BENCH loop inside Wasm on CPU 0's worker, ${WRITE_SIZE}-byte payload, ${clock} clock, overwrite mode; host wall clock from posting the workload to its acknowledgement / events committed`,
        ...slowed, ...base,
      ],
    });
  }

  if (needed('ring.write.floor')) {
    const page = m.machine.arena.alloc(tb.subbufSize, 64);
    const one = async (ms: number) => {
      const { r, ms: t } = await wasmRun(0, new Workload().floorWrite({ page, pageSize: tb.subbufSize, size: WRITE_SIZE }), ms);
      return (t * 1e6) / r.written;
    };
    phases.push({
      label: `ring.write.floor: the same ${WRITE_SIZE}-byte events bump-written into one page in Wasm on CPU 0`,
      figures: ['ring.write.floor'],
      slots: 1,
      warm: async (ms) => void (await one(ms)),
      sample: async (ms) => ({ 'ring.write.floor': await one(ms) }),
      extra: () => [
        `OP_FLOOR_WRITE on CPU 0: the ${4 + WRITE_SIZE} bytes of each event (header word + payload) stored at a bump pointer in one ${tb.subbufSize}-byte page, starting over at its end; no clock, reserve, commit or counters; timed like ring.write.wasm.counter`,
        ...base,
      ],
    });
  }

  if (needed('ring.write.ts.counter')) {
    let first = true;
    const one = async (ms: number) => {
      const args: TwinBenchArgs = { durationMs: ms, warmupMs: first ? ms : 0, size: WRITE_SIZE, sizeBytes: tb.sizeOf(0), subbufSize: tb.subbufSize };
      first = false;
      const r = await m.machine.runJs<TwinBenchResult>(0, TWIN_WORKER, 'twinBench', [args]);
      if (r.stats.warnings) throw new Error(`the TypeScript twin hit ${r.stats.warnings} RB_WARN_ON(s)`);
      return r.ns / r.hits;
    };
    phases.push({
      label: `ring.write.ts.counter: the TypeScript twin's loop in CPU 0's worker, ${WRITE_SIZE}-byte events, counter clock`,
      figures: ['ring.write.ts.counter'],
      slots: 1,
      warm: async (ms) => void (await one(ms)),
      sample: async (ms) => ({ 'ring.write.ts.counter': await one(ms) }),
      extra: () => [
        `the TypeScript twin (src/twin/ring-ts.ts, same algorithm and format over a SharedArrayBuffer) running the same loop in CPU 0's worker (Machine.runJs), ${WRITE_SIZE}-byte payload, counter clock, overwrite mode; timed with performance.now() in the worker`,
        ...base,
      ],
    });
  }

  // JavaScript callers on the main thread, writing as CPU 0 (counter clock)
  const jsLoop = async (ms: number, batch: boolean): Promise<number> => {
    await tb.setClock('counter');
    tb.setOverwrite(true);
    const w = m.attachWriter(0, tb);
    try {
      const one = new Uint8Array(WRITE_SIZE).fill(7);
      const many = Array.from({ length: BATCH }, () => one);
      let n = 0;
      const t0 = now();
      let t = t0;
      do {
        if (batch) {
          for (let k = 0; k < 8; k++) n += w.writeBatch(many);
        } else {
          for (let k = 0; k < 2048; k++) if (w.write(one)) n++;
        }
        t = now();
      } while (t - t0 < ms);
      return ((t - t0) * 1e6) / n;
    } finally {
      w.release();
    }
  };
  for (const kind of ['call', 'batch'] as const) {
    const name = kind === 'call' ? 'ring.write.jscall.counter' : 'ring.write.jsbatch.counter';
    if (!needed(name)) continue;
    phases.push({
      label: kind === 'call'
        ? `${name}: RingMachine.attachWriter(0).write(bytes) from the main thread, one call per event`
        : `${name}: Writer.writeBatch() of ${BATCH} events per call from the main thread`,
      figures: [name],
      slots: 1,
      warm: async (ms) => void (await jsLoop(ms, kind === 'batch')),
      sample: async (ms) => ({ [name]: await jsLoop(ms, kind === 'batch') }),
      extra: () => [
        kind === 'call'
          ? `RingMachine.attachWriter(0).write(Uint8Array(${WRITE_SIZE})) from the main thread, one call per event (copy into shared memory + one Wasm call), counter clock; timed with performance.now()`
          : `Writer.writeBatch() of ${BATCH} ${WRITE_SIZE}-byte events per call from the main thread, counter clock`,
        ...base,
      ],
    });
  }

  // one CPU, then two CPUs started together (local clock, the default trace clock)
  if (needed('ring.write.cpu1') || needed('ring.write.cpu2')) {
    const one = async (ms: number) => {
      await tb.setClock('local');
      tb.setOverwrite(true);
      const a = await wasmRun(0, bench(size), ms);
      const t0 = now();
      const both = await Promise.all([m.run(0, bench(size), { durationMs: ms }), m.run(1, bench(size), { durationMs: ms })]);
      const t = now() - t0;
      return { 'ring.write.cpu1': a.r.written / a.ms / 1e3, 'ring.write.cpu2': (both[0].written + both[1].written) / t / 1e3 };
    };
    phases.push({
      label: `ring.write.cpu1 and ring.write.cpu2: OP_BENCH on CPU 0, then on CPUs 0 and 1 at once (${size}-byte events, local clock)`,
      figures: ['ring.write.cpu1', 'ring.write.cpu2'],
      slots: 2,
      warm: async (ms) => void (await one(ms)),
      sample: (ms) => one(ms),
      extra: (f) => [
        f === 'ring.write.cpu1'
          ? `OP_BENCH on CPU 0 alone, ${size}-byte payload, local clock, overwrite mode; events committed / host wall clock`
          : `OP_BENCH on CPUs 0 and 1 started together, aggregate, ${size}-byte payload, local clock`,
        ...slowed, ...base,
      ],
    });
  }

  // the kernel benchmark's run: producers (and consumers reading pages)
  const suffix = producers === 1 ? '' : `.cpus${producers}`;
  const mode = consumer ? 'producer/consumer' : 'overwrite';
  const reports: ProducerReport[][] = [];
  const cold = consumer && needed(`ring.pipe${suffix}.cold_spares`);
  if (needed('ring.pipe') || needed('ring.pipe.lost') || needed('ring.pipe.floor_ratio') || cold) {
    const slots: number[] = [];
    const pools: { addr: number; size: number }[] = [];
    if (consumer) {
      // ring_buffer_alloc_read_page(): a spare page, its address in a slot (see TraceBuffer.readPage)
      for (let p = 0; p < producers; p++) {
        const slot = m.machine.arena.alloc(64);
        const spare = m.machine.arena.alloc(tb.subbufSize, 64);
        m.machine.exports.rbInitPage(spare);
        m.machine.mem.store32(slot, spare);
        slots.push(slot);
        if (!cold) continue;
        const addr = m.machine.arena.alloc(4 * COLD_SPARES, 64);
        for (let i = 0; i < COLD_SPARES; i++) {
          const page = m.machine.arena.alloc(tb.subbufSize, 64);
          m.machine.exports.rbInitPage(page);
          m.machine.mem.store32(addr + 4 * i, page);
        }
        pools.push({ addr, size: COLD_SPARES });
      }
    }
    const producerRun = async (ms: number, withPools = false) => {
      await tb.setClock('local');
      tb.setOverwrite(!consumer);
      await tb.reset();
      const readers = consumer
        ? slots.map((slot, p) => m.run(producers + p, new Workload().readPages({ cpu: p, slot, pool: withPools ? pools[p] : undefined })))
        : [];
      const t0 = now();
      const writers = await Promise.all(
        Array.from({ length: producers }, (_, p) => m.run(p, bench(size), { durationMs: ms }).then((r) => ({ r, ms: now() - t0 }))),
      );
      const elapsed = now() - t0;
      for (let p = 0; p < readers.length; p++) m.stop(producers + p);
      const reads = await Promise.all(readers);
      const rs = writers.map(({ r, ms: wms }, p) => producerReport(m, p, consumer ? producers + p : null, mode, r, wms, reads[p]));
      const attempted = rs.reduce((s, r) => s + r.hit + r.missed, 0);
      const dropped = rs.reduce((s, r) => s + r.dropped, 0);
      return {
        reports: rs,
        pipe: consumer ? reads.reduce((s, r) => s + r.written, 0) / elapsed / 1e3 : NaN,
        lost: attempted ? (100 * dropped) / attempted : 0,
      };
    };
    phases.push({
      label: `ring_buffer_benchmark: ${producers} producer CPU(s), ${consumer ? `${producers} consumer CPU(s) reading pages` : 'reader disabled'}, ${mode} mode, ${size}-byte events, local clock`,
      figures: consumer ? [`ring.pipe${suffix}`, `ring.pipe${suffix}.lost`] : [],
      slots: 1,
      warm: async (ms) => void (await producerRun(ms)),
      sample: async (ms) => {
        const r = await producerRun(ms);
        reports.push(r.reports);
        return consumer ? { [`ring.pipe${suffix}`]: r.pipe, [`ring.pipe${suffix}.lost`]: r.lost } : {};
      },
      extra: (f) => [
        f.endsWith('.lost')
          ? `dropped_events (per_cpu stats) / events attempted by the producers, in the ring.pipe${suffix} runs`
          : `${producers} producer CPU(s) running OP_BENCH in producer/consumer mode (overwrite off), ${size}-byte payload, local clock, ${tb.sizeOf(0) >> 10} KiB per CPU; one consumer CPU per producer running OP_READ_PAGES (ring_buffer_read_page of whole pages); events read by the consumers / producer time`,
        ...slowed, ...base,
      ],
    });
    if (cold) {
      const name = `ring.pipe${suffix}.cold_spares`;
      phases.push({
        label: `${name}: the same run, each consumer handing back spare pages it read ${COLD_SPARES} pages ago`,
        figures: [name],
        slots: 1,
        warm: async (ms) => void (await producerRun(ms, true)),
        sample: async (ms) => ({ [name]: (await producerRun(ms, true)).pipe }),
        extra: () => [
          `as ring.pipe${suffix}, but each consumer rotates the pages it reads through a pool of ${COLD_SPARES} spares (readPages' pool), so the spare that ring_buffer_read_page puts back into the ring is one it walked ${COLD_SPARES} pages (${(COLD_SPARES * tb.subbufSize) >> 10} KiB) ago, not the one it just walked; events read / producer time`,
          ...slowed, ...base,
        ],
      });
    }
  }

  if (needed('ring.pipe.floor')) {
    const pageSize = tb.subbufSize;
    const nrPages = Math.max(2, Math.floor(tb.sizeOf(0) / pageSize));
    const area = m.machine.arena.alloc(abi.FLOOR_PIPE_RING + nrPages * pageSize, 64);
    const spare = m.machine.arena.alloc(pageSize, 64);
    m.machine.mem.store32(area + abi.FLOOR_PIPE_PAGE_SIZE, pageSize);
    m.machine.mem.store32(area + abi.FLOOR_PIPE_NR_PAGES, nrPages);
    const one = async (ms: number) => {
      m.machine.mem.store32(area + abi.FLOOR_PIPE_PRODUCED, 0);
      m.machine.mem.store32(area + abi.FLOOR_PIPE_CONSUMED, 0);
      const reader = m.run(1, new Workload().floorPipeRead({ area, spare }));
      const t0 = now();
      await m.run(0, new Workload().floorPipeWrite({ area, size: WRITE_SIZE }), { durationMs: ms });
      const elapsed = now() - t0;
      m.stop(1);
      return (await reader).written / elapsed / 1e3;
    };
    phases.push({
      label: `ring.pipe.floor: a minimal page handoff from CPU 0 to CPU 1 in Wasm, ${WRITE_SIZE}-byte events`,
      figures: ['ring.pipe.floor'],
      slots: 1,
      warm: async (ms) => void (await one(ms)),
      sample: async (ms) => ({ 'ring.pipe.floor': await one(ms) }),
      extra: () => [
        `OP_FLOOR_PIPE_WRITE on CPU 0 fills ${pageSize}-byte pages of a ${nrPages}-page ring and hands each over with one atomic store of the page count (dropping the page when the reader is a ring behind); OP_FLOOR_PIPE_READ on CPU 1 copies each page out whole and walks its events; events walked / producer time`,
        ...base,
      ],
    });
  }

  return {
    phases,
    report: () => {
      if (!reports.length) return '';
      // the report of the median run (by events written)
      const order = reports.map((r, i) => [r.reduce((s, x) => s + x.hit, 0), i]).sort((a, b) => a[0] - b[0]);
      return `ring_buffer_benchmark (the median run):\n${formatProducerReports(reports[order[(order.length - 1) >> 1][1]], size)}\n`;
    },
    close: () => m.close(),
  };
}

// ring_buffer_producer()'s numbers for one producer CPU. Entries and Overruns are the CPU's
// ring_buffer_entries_cpu() / ring_buffer_overrun_cpu(); Read is what the consumer counted in the pages
// it read; Total = Entries + Overruns + Read (which equals Hit when nothing went missing); Entries per
// millisec and ns per entry with the kernel's integer arithmetic (hit / time_ms, NSEC_PER_MSEC / that).
function producerReport(
  m: RingMachine,
  cpu: number,
  consumerCpu: number | null,
  mode: ProducerReport['mode'],
  r: WorkloadResult,
  ms: number,
  read: WorkloadResult | undefined,
): ProducerReport {
  const st = m.buffer.stats(cpu);
  const timeUs = Math.round(ms * 1000);
  const timeMs = Math.floor(timeUs / 1000);
  const readEvents = read ? read.written : null;
  const entriesPerMs = timeMs ? Math.floor(r.written / timeMs) : 0;
  return {
    cpu,
    consumerCpu,
    mode,
    timeUs,
    overruns: st.overrun,
    read: readEvents,
    entries: st.entries,
    total: st.entries + st.overrun + (readEvents ?? 0),
    missed: r.failed,
    hit: r.written,
    entriesPerMs,
    nsPerEntry: entriesPerMs ? Math.floor(1_000_000 / entriesPerMs) : 0,
    dropped: st.droppedEvents,
    commitOverrun: st.commitOverrun,
    recursion: st.recursion,
    warnings: st.warnings,
  };
}

// ---- output

export function formatProducerReports(reports: ProducerReport[], size: number): string {
  const lines: string[] = [];
  for (const p of reports) {
    lines.push(
      `CPU ${p.cpu}: producer, ${p.mode} mode, ${size}-byte events` +
        (p.consumerCpu === null ? ', reader disabled' : `, consumer on CPU ${p.consumerCpu}`),
    );
    lines.push(`  Time:     ${p.timeUs} (usecs)`);
    lines.push(`  Overruns: ${p.overruns}`);
    lines.push(p.read === null ? `  Read:     (reader disabled)` : `  Read:     ${p.read}  (by pages)`);
    lines.push(`  Entries:  ${p.entries}`);
    lines.push(`  Total:    ${p.total}${p.total === p.hit ? '' : `  (Hit - Total = ${p.hit - p.total})`}`);
    lines.push(`  Missed:   ${p.missed}`);
    lines.push(`  Hit:      ${p.hit}`);
    lines.push(`  Entries per millisec: ${p.entriesPerMs}`);
    lines.push(`  ${p.nsPerEntry} ns per entry`);
    const odd = [
      p.missed !== p.dropped && p.mode === 'producer/consumer' ? `dropped_events ${p.dropped} of the ${p.missed} missed` : '',
      p.commitOverrun ? `commit_overrun ${p.commitOverrun}` : '',
      p.recursion ? `refused by recursion protection ${p.recursion}` : '',
      p.warnings ? `RB_WARN_ON ${p.warnings} (see dmesg)` : '',
    ].filter(Boolean);
    if (odd.length) lines.push(`  note: ${odd.join(', ')}`);
  }
  return lines.join('\n');
}
