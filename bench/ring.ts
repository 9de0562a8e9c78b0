// The ring-buffer benchmark: the user-space counterpart of the kernel's
// kernel/trace/ring_buffer_benchmark.c (producers hammering ring_buffer_lock_reserve/unlock_commit on
// their CPUs for a while, an optional consumer reading whole pages with ring_buffer_read_page, and the
// kernel's per-producer report), plus the write-path measurements of issue 2, section 6:
//
//   ring.write.wasm.counter   ns/event  OP_BENCH loop inside Wasm on CPU 0, 16-byte payload, counter clock
//   ring.write.wasm.local     ns/event  the same with the local clock
//   ring.write.ts.counter     ns/event  the TypeScript twin (src/twin/ring-ts.ts), same loop, in CPU 0's worker
//   ring.write.jscall.counter ns/event  Writer.write() from the main thread, one call per event
//   ring.write.jsbatch.counter ns/event Writer.writeBatch() of 256 events per call
//   ring.write.cpu1 / .cpu2   M ev/s    OP_BENCH on one CPU / on two CPUs started together (aggregate)
//   ring.pipe                 M ev/s    one producer (producer/consumer mode), one consumer CPU running
//                                       OP_READ_PAGES on the other core: events read per second
//   ring.pipe.lost            %         dropped_events / events attempted in those runs
//
// Every figure is the median of --runs runs (min..max as its range). Timing: Wasm workloads are timed on
// the host from posting the work item to its acknowledgement (the workload stops itself when the host
// raises ATTN_STOP after the duration; the ~0.1 ms of mailbox latency is inside the measured time);
// the twin and the JavaScript callers time themselves with performance.now() on the thread that writes.
import { createMachine, Workload, type RingMachine, type WorkloadResult } from '../src/index.ts';
import type { TwinBenchArgs, TwinBenchResult } from './twin-worker.ts';
import { measurement, machineInfo, machineLine, type Measurement, type MachineInfo } from './stats.ts';
import { siblingModule } from '../src/machine/platform.ts';

export interface RingBenchOptions {
  durationMs: number; // total measuring time, split across phases and runs
  cpus: number; // producer CPUs of the kernel-style run
  size: number; // payload bytes of the producer runs (cpu1, cpu2, pipe)
  runs: number;
  consumer: boolean; // a consumer CPU per producer, reading pages (else: overwrite mode, reader disabled)
  log?: (line: string) => void; // progress, one line per phase
}

export const RING_BENCH_DEFAULTS: Omit<RingBenchOptions, 'log'> = {
  durationMs: 6000,
  cpus: 1,
  size: 16,
  runs: 3,
  consumer: true,
};

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

export interface RingBenchResult {
  measurements: Measurement[];
  producers: ProducerReport[];
  machine: MachineInfo;
  phaseMs: number;
  options: Omit<RingBenchOptions, 'log'>;
}

export class BenchUsageError extends Error {}

const WRITE_SIZE = 16; // the write-path figures are defined for a 16-byte payload
const PHASES = 8; // wasm.counter, wasm.local, ts, jscall, jsbatch, cpu1, cpu2, producer run
const BATCH = 256;
const TWIN_WORKER = siblingModule('./twin-worker', import.meta.url).href;

const now = () => performance.now();

export function validateRingBench(o: Omit<RingBenchOptions, 'log'>): void {
  const int = (v: number) => Number.isInteger(v);
  if (!int(o.cpus) || o.cpus < 1) throw new BenchUsageError(`--cpus must be a whole number >= 1, not ${o.cpus}`);
  if (o.cpus > 64) throw new BenchUsageError(`--cpus must be at most 64, not ${o.cpus}`);
  if (!int(o.size) || o.size < 1) throw new BenchUsageError(`--size must be a whole number of bytes >= 1, not ${o.size}`);
  if (!int(o.runs) || o.runs < 1) throw new BenchUsageError(`--runs must be a whole number >= 1, not ${o.runs}`);
  if (!Number.isFinite(o.durationMs) || o.durationMs <= 0) throw new BenchUsageError(`--duration must be a positive number of milliseconds, not ${o.durationMs}`);
  const phaseMs = o.durationMs / (PHASES * o.runs);
  if (phaseMs < 10) {
    throw new BenchUsageError(`--duration ${o.durationMs} ms is too short for ${o.runs} runs of ${PHASES} phases (each run needs at least 10 ms)`);
  }
}

export async function runRingBench(opts: RingBenchOptions): Promise<RingBenchResult> {
  const options = { ...RING_BENCH_DEFAULTS, ...opts };
  delete (options as Partial<RingBenchOptions>).log;
  validateRingBench(options);
  const t00 = now();
  const sink = opts.log ?? (() => {});
  const log = (line: string) => sink(`${((now() - t00) / 1000).toFixed(1).padStart(5)}s ${line}`);
  const { runs, size, cpus: producers, consumer } = options;
  const d = options.durationMs / (PHASES * runs); // one run of one phase
  const warm = Math.min(150, Math.max(5, d / 3));
  const info = machineInfo();
  const mline = machineLine(info);
  const runsLine = `median of ${runs} run(s) of ${d.toFixed(0)} ms`;
  const nCpus = Math.max(2, producers * (consumer ? 2 : 1));
  log(`ringtrace bench: ${mline}; ${nCpus} emulated CPUs; ${runs} run(s) x ${d.toFixed(0)} ms per phase`);

  const m = await createMachine({ cpus: nCpus, clock: 'counter', overwrite: true });
  const out: Measurement[] = [];
  let phase = 0;
  const step = (what: string) => log(`[${++phase}/${PHASES}] ${what}`);
  try {
    if (size > m.buffer.maxDataSize) {
      throw new BenchUsageError(`--size ${size} is larger than a ${m.buffer.subbufSize}-byte sub-buffer allows (at most ${m.buffer.maxDataSize} bytes)`);
    }
    const tb = m.buffer;
    const bench = (sz: number) => new Workload().bench({ size: sz });

    // Wasm: one CPU, OP_BENCH, timed from post to acknowledgement
    const wasmRun = async (cpu: number, sz: number, ms: number): Promise<{ r: WorkloadResult; ms: number }> => {
      const t0 = now();
      const r = await m.run(cpu, bench(sz), { durationMs: ms });
      return { r, ms: now() - t0 };
    };
    const wasmNs: Record<string, number[]> = {};
    for (const clock of ['counter', 'local'] as const) {
      step(`ring.write.wasm.${clock}: OP_BENCH in Wasm on CPU 0, ${WRITE_SIZE}-byte events, ${clock} clock`);
      await tb.setClock(clock);
      tb.setOverwrite(true);
      await wasmRun(0, WRITE_SIZE, warm);
      const xs: number[] = [];
      for (let i = 0; i < runs; i++) {
        const { r, ms } = await wasmRun(0, WRITE_SIZE, d);
        xs.push((ms * 1e6) / r.written);
      }
      wasmNs[clock] = xs;
      log(`      ${fmtSamples(xs)} ns/event`);
    }

    // the TypeScript twin in CPU 0's worker
    step(`ring.write.ts.counter: the TypeScript twin's loop in CPU 0's worker, ${WRITE_SIZE}-byte events, counter clock`);
    const tsNs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const args: TwinBenchArgs = { durationMs: d, warmupMs: i === 0 ? warm * 2 : 0, size: WRITE_SIZE, sizeBytes: tb.sizeOf(0), subbufSize: tb.subbufSize };
      const r = await m.machine.runJs<TwinBenchResult>(0, TWIN_WORKER, 'twinBench', [args]);
      if (r.stats.warnings) throw new Error(`the TypeScript twin hit ${r.stats.warnings} RB_WARN_ON(s)`);
      tsNs.push(r.ns / r.hits);
    }
    log(`      ${fmtSamples(tsNs)} ns/event`);

    // JavaScript callers on the main thread, writing as CPU 0 (counter clock)
    await tb.setClock('counter');
    const jsLoop = (ms: number, batch: boolean): number => {
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
    const jsNs: Record<'call' | 'batch', number[]> = { call: [], batch: [] };
    for (const kind of ['call', 'batch'] as const) {
      step(kind === 'call'
        ? `ring.write.jscall.counter: RingMachine.attachWriter(0).write(bytes) from the main thread, one call per event`
        : `ring.write.jsbatch.counter: Writer.writeBatch() of ${BATCH} events per call from the main thread`);
      jsLoop(warm, kind === 'batch');
      for (let i = 0; i < runs; i++) jsNs[kind].push(jsLoop(d, kind === 'batch'));
      log(`      ${fmtSamples(jsNs[kind])} ns/event`);
    }

    // one CPU, then two CPUs started together (local clock, the default trace clock)
    await tb.setClock('local');
    tb.setOverwrite(true);
    const agg: Record<'cpu1' | 'cpu2', number[]> = { cpu1: [], cpu2: [] };
    phase++;
    step(`ring.write.cpu1 and ring.write.cpu2: OP_BENCH on CPU 0, then on CPUs 0 and 1 at once (${size}-byte events, local clock); runs alternate`);
    await Promise.all([wasmRun(0, size, warm), wasmRun(1, size, warm)]);
    for (let i = 0; i < runs; i++) {
      const one = await wasmRun(0, size, d);
      agg.cpu1.push(one.r.written / one.ms / 1e3);
      const t0 = now();
      const both = await Promise.all([m.run(0, bench(size), { durationMs: d }), m.run(1, bench(size), { durationMs: d })]);
      const ms = now() - t0;
      agg.cpu2.push((both[0].written + both[1].written) / ms / 1e3);
    }
    log(`      cpu1 ${fmtSamples(agg.cpu1)} M events/s; cpu2 ${fmtSamples(agg.cpu2)} M events/s`);

    // the kernel benchmark's run: producers (and consumers reading pages)
    const mode = consumer ? 'producer/consumer' : 'overwrite';
    step(`ring_buffer_benchmark: ${producers} producer CPU(s), ${consumer ? `${producers} consumer CPU(s) reading pages` : 'reader disabled'}, ${mode} mode, ${size}-byte events, local clock`);
    tb.setOverwrite(!consumer);
    const slots: number[] = [];
    if (consumer) {
      // ring_buffer_alloc_read_page(): a spare page, its address in a slot (see TraceBuffer.readPage)
      for (let p = 0; p < producers; p++) {
        const slot = m.machine.arena.alloc(64);
        const spare = m.machine.arena.alloc(tb.subbufSize, 64);
        m.machine.exports.rbInitPage(spare);
        m.machine.mem.store32(slot, spare);
        slots.push(slot);
      }
    }
    const producerRun = async (ms: number) => {
      await tb.reset();
      const readers = consumer
        ? slots.map((slot, p) => m.run(producers + p, new Workload().readPages({ cpu: p, slot })))
        : [];
      const t0 = now();
      const writers = await Promise.all(
        Array.from({ length: producers }, (_, p) => m.run(p, bench(size), { durationMs: ms }).then((r) => ({ r, ms: now() - t0 }))),
      );
      const elapsed = now() - t0;
      for (let p = 0; p < readers.length; p++) m.stop(producers + p);
      const reads = await Promise.all(readers);
      const reports = writers.map(({ r, ms: wms }, p) => producerReport(m, p, consumer ? producers + p : null, mode, r, wms, reads[p]));
      return { reports, elapsed, reads };
    };
    await producerRun(warm);
    const pipe: number[] = [];
    const lost: number[] = [];
    const rate: number[] = [];
    const all: ProducerReport[][] = [];
    for (let i = 0; i < runs; i++) {
      const { reports, elapsed, reads } = await producerRun(d);
      all.push(reports);
      const attempted = reports.reduce((s, r) => s + r.hit + r.missed, 0);
      const dropped = reports.reduce((s, r) => s + r.dropped, 0);
      rate.push(reports.reduce((s, r) => s + r.hit, 0) / elapsed / 1e3);
      if (consumer) {
        pipe.push(reads.reduce((s, r) => s + r.written, 0) / elapsed / 1e3);
        lost.push(attempted ? (100 * dropped) / attempted : 0);
      }
    }
    if (consumer) log(`      read ${fmtSamples(pipe)} M events/s; lost ${fmtSamples(lost)} %`);
    else log(`      written ${fmtSamples(rate)} M events/s`);
    // the report of the median run (by events written)
    const order = all.map((r, i) => [r.reduce((s, x) => s + x.hit, 0), i]).sort((a, b) => a[0] - b[0]);
    const producersReport = all[order[(order.length - 1) >> 1][1]];

    // ---- the measurements
    const ratio = median(tsNs) / median(wasmNs.counter);
    const base = [mline];
    const wasmExtra = (clock: string) => [
      `OP_BENCH loop inside Wasm on CPU 0's worker, ${WRITE_SIZE}-byte payload, ${clock} clock, overwrite mode; host wall clock from posting the workload to its acknowledgement / events committed`,
      runsLine,
    ];
    out.push(measurement('ring.write.wasm.counter', 'ns/event', wasmNs.counter, [
      ...wasmExtra('counter'),
      `${ratio.toFixed(2)}x faster than the TypeScript twin (ring.write.ts.counter) in this run`,
      ...base,
    ]));
    out.push(measurement('ring.write.wasm.local', 'ns/event', wasmNs.local, [
      ...wasmExtra('local'),
      `the local clock's cost over the counter clock: ${(median(wasmNs.local) - median(wasmNs.counter)).toFixed(2)} ns/event`,
      ...base,
    ]));
    out.push(measurement('ring.write.ts.counter', 'ns/event', tsNs, [
      `the TypeScript twin (src/twin/ring-ts.ts, same algorithm and format over a SharedArrayBuffer) running the same loop in CPU 0's worker (Machine.runJs), ${WRITE_SIZE}-byte payload, counter clock, overwrite mode; timed with performance.now() in the worker`,
      runsLine,
      `wasm/ts speed-up: ${ratio.toFixed(2)}x`,
      ...base,
    ]));
    out.push(measurement('ring.write.speedup.wasm_vs_ts', 'x', tsNs.map((t, i) => t / wasmNs.counter[i]), [
      `ring.write.ts.counter / ring.write.wasm.counter, run by run (bigger is better)`,
      runsLine,
      ...base,
    ]));
    out.push(measurement('ring.write.jscall.counter', 'ns/event', jsNs.call, [
      `RingMachine.attachWriter(0).write(Uint8Array(${WRITE_SIZE})) from the main thread, one call per event (copy into shared memory + one Wasm call), counter clock; timed with performance.now()`,
      runsLine,
      ...base,
    ]));
    out.push(measurement('ring.write.jsbatch.counter', 'ns/event', jsNs.batch, [
      `Writer.writeBatch() of ${BATCH} ${WRITE_SIZE}-byte events per call from the main thread, counter clock`,
      runsLine,
      ...base,
    ]));
    const scale = median(agg.cpu2) / median(agg.cpu1);
    out.push(measurement('ring.write.cpu1', 'M events/s', agg.cpu1, [
      `OP_BENCH on CPU 0 alone, ${size}-byte payload, local clock, overwrite mode; events committed / host wall clock`,
      runsLine,
      ...base,
    ]));
    out.push(measurement('ring.write.cpu2', 'M events/s', agg.cpu2, [
      `OP_BENCH on CPUs 0 and 1 started together, aggregate, ${size}-byte payload, local clock; ${scale.toFixed(2)}x ring.write.cpu1`,
      runsLine,
      ...base,
    ]));
    if (consumer) {
      const suffix = producers === 1 ? '' : `.cpus${producers}`;
      out.push(measurement(`ring.pipe${suffix}`, 'M events/s', pipe, [
        `${producers} producer CPU(s) running OP_BENCH in producer/consumer mode (overwrite off), ${size}-byte payload, local clock, ${tb.sizeOf(0) >> 10} KiB per CPU; one consumer CPU per producer running OP_READ_PAGES (ring_buffer_read_page of whole pages); events read by the consumers / producer time`,
        runsLine,
        ...base,
      ]));
      out.push(measurement(`ring.pipe${suffix}.lost`, '%', lost, [
        `dropped_events (per_cpu stats) / events attempted by the producers, in the ring.pipe${suffix} runs`,
        runsLine,
        ...base,
      ]));
    }
    return { measurements: out, producers: producersReport, machine: info, phaseMs: d, options };
  } finally {
    await m.close();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function fmtSamples(xs: number[]): string {
  const f = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2));
  return `median ${f(median(xs))} (${xs.map(f).join(', ')})`;
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

export function formatTable(ms: Measurement[]): string {
  const rows = ms.map((x) => [x.name, String(x.value), x.unit, x.range]);
  const head = ['measurement', 'median', 'unit', 'range (min..max)'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === 1 ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ').trimEnd();
  return [fmt(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(fmt)].join('\n');
}
