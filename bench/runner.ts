// `ringtrace bench`'s engine: picks the figures a run needs (--only, plus what derived figures and
// calibrations depend on), opens the suites that measure them, warms each phase up, then samples
// every phase once per round, round after round (interleaved repeats), and turns the samples into
// measurements: medians with min..max, derived ratios round by round, and the other processes' CPU
// share per round with a warning when the machine was busy.
import { FIGURES, figureSpec, globMatcher } from './figures.ts';
import { machineInfo, machineLine, measurement, type Measurement, type MachineInfo } from './stats.ts';
import { cpuSnapshot, othersCpuPct, loadAverage, busyWarning } from './load.ts';
import { progressDone, progressStart, type ProgressSink } from './progress.ts';
import { BenchUsageError, type BenchContext, type OpenSuite, type Phase, type Suite } from './suite.ts';
import { SUITES } from './suites.ts';

export interface BenchOptions {
  durationMs: number; // total time of the timed phases, split over their slots and the runs
  runs: number;
  size: number;
  cpus: number;
  consumer: boolean;
  only?: string; // comma-separated globs over figure names
  barriers?: number; // extra full barriers per OP_BENCH event (the gate's own test)
  progress?: ProgressSink;
  suites?: Suite[];
}

export const BENCH_DEFAULTS = { durationMs: 6000, runs: 3, size: 16, cpus: 1, consumer: true };

export interface BenchResult {
  measurements: Measurement[];
  reports: string[]; // the suites' own reports (the kernel-style producer report)
  warnings: string[];
  machine: MachineInfo;
  phaseMs: number;
  elapsedMs: number;
}

const MIN_SLOT_MS = 10;
const OTHERS = 'bench.others_cpu';

export function validateBench(o: BenchOptions): void {
  const int = (v: number) => Number.isInteger(v);
  if (!int(o.cpus) || o.cpus < 1) throw new BenchUsageError(`--cpus must be a whole number >= 1, not ${o.cpus}`);
  if (o.cpus > 64) throw new BenchUsageError(`--cpus must be at most 64, not ${o.cpus}`);
  if (!int(o.size) || o.size < 1) throw new BenchUsageError(`--size must be a whole number of bytes >= 1, not ${o.size}`);
  if (!int(o.runs) || o.runs < 1) throw new BenchUsageError(`--runs must be a whole number >= 1, not ${o.runs}`);
  if (!Number.isFinite(o.durationMs) || o.durationMs <= 0) throw new BenchUsageError(`--duration must be a positive number of milliseconds, not ${o.durationMs}`);
  if (o.durationMs / o.runs < MIN_SLOT_MS) {
    throw new BenchUsageError(`--duration ${o.durationMs} ms is too short for ${o.runs} runs (each run needs at least ${MIN_SLOT_MS} ms per timed phase)`);
  }
}

// the figures a run measures: those --only names, what the derived ones among them are computed from,
// and the calibration of each
export function neededFigures(only: string | undefined, suites: Suite[]): Set<string> {
  const match = globMatcher(only);
  const known = [...new Set([...suites.flatMap((s) => s.figures), ...Object.keys(FIGURES).filter((n) => FIGURES[n].derived)])];
  const wanted = known.filter(match);
  if (!wanted.length) throw new BenchUsageError(`--only '${only}' matches no figure (figures: ${known.join(', ')})`);
  const needed = new Set<string>();
  const add = (name: string) => {
    if (needed.has(name)) return;
    needed.add(name);
    const spec = figureSpec(name);
    for (const dep of spec?.derived?.from ?? []) add(dep);
    if (spec?.calibration) add(spec.calibration);
  };
  wanted.forEach(add);
  return needed;
}

const order = Object.keys(FIGURES);
const rank = (name: string) => {
  const i = order.indexOf(name) >= 0 ? order.indexOf(name) : order.indexOf(name.replace(/\.cpus\d+/, ''));
  return i < 0 ? order.length : i;
};

export async function runBench(opts: BenchOptions): Promise<BenchResult> {
  validateBench(opts);
  const t00 = performance.now();
  const suites = opts.suites ?? SUITES;
  const needed = neededFigures(opts.only, suites);
  const isNeeded = (f: string) => needed.has(f) || needed.has(f.replace(/\.cpus\d+/, ''));
  const machine = machineInfo();
  const ctx: BenchContext = {
    runs: opts.runs,
    size: opts.size,
    cpus: opts.cpus,
    consumer: opts.consumer,
    barriers: opts.barriers ?? 0,
    machineLine: machineLine(machine),
    runsLine: '',
  };
  const sink = opts.progress ?? { line: () => {} };
  const loadBefore = loadAverage();
  const open: OpenSuite[] = [];
  try {
    for (const s of suites) if (s.figures.some(isNeeded)) open.push(await s.open(ctx, isNeeded));
    const phases: Phase[] = open.flatMap((o) => o.phases);
    const slots = phases.reduce((n, p) => n + p.slots, 0);
    const phaseMs = slots ? opts.durationMs / (slots * opts.runs) : 0;
    if (slots && phaseMs < MIN_SLOT_MS) {
      throw new BenchUsageError(`--duration ${opts.durationMs} ms is too short for ${opts.runs} runs of ${slots} timed phases (each needs at least ${MIN_SLOT_MS} ms)`);
    }
    const warmMs = Math.min(150, Math.max(5, phaseMs / 3));
    ctx.runsLine = `median of ${opts.runs} interleaved run(s)${slots ? `, ${phaseMs.toFixed(0)} ms per timed phase` : ''}`;
    sink.line(`ringtrace bench: ${ctx.machineLine}; ${phases.length} phases x ${opts.runs} run(s)${slots ? `, ${phaseMs.toFixed(0)} ms per timed phase` : ''}`);

    // estimates: a timed phase takes its slots plus ~20 % overhead; afterwards, what it did take
    const took: number[][] = phases.map(() => []);
    const estimate = (i: number) => {
      const t = took[i];
      if (t.length) return t.reduce((a, b) => a + b, 0) / t.length;
      return phases[i].slots ? phases[i].slots * phaseMs * 1.2 + 20 : phases[i].estimateMs ?? 100;
    };
    const samples = new Map<string, number[]>();
    const total = phases.length * opts.runs;
    let n = 0;
    for (let round = 0; round < opts.runs; round++) {
      const before = cpuSnapshot();
      for (let i = 0; i < phases.length; i++) {
        const p = phases[i];
        const left = () => {
          let ms = 0;
          for (let r = round; r < opts.runs; r++) for (let j = r === round ? i : 0; j < phases.length; j++) ms += estimate(j);
          return ms;
        };
        const step = { n: ++n, total, round: round + 1, runs: opts.runs, label: p.label, elapsedMs: performance.now() - t00, leftMs: left() };
        progressStart(sink, step);
        if (round === 0 && p.warm) await p.warm(warmMs);
        const t = performance.now();
        const values = await p.sample(phaseMs);
        took[i].push(performance.now() - t);
        for (const [name, v] of Object.entries(values)) samples.set(name, [...(samples.get(name) ?? []), v]);
        progressDone(sink, { ...step, elapsedMs: performance.now() - t00, leftMs: left() - estimate(i) }, values);
      }
      const others = othersCpuPct(before, cpuSnapshot());
      if (others !== null) samples.set(OTHERS, [...(samples.get(OTHERS) ?? []), others]);
    }

    // derived figures, round by round (ring.pipe.floor_ratio only with one producer: the floor has one)
    for (const name of needed) {
      const d = figureSpec(name)?.derived;
      const a = d && samples.get(d.from[0]);
      const b = d && samples.get(d.from[1]);
      if (a && b && a.length === b.length) samples.set(name, a.map((x, k) => x / b[k]));
    }

    const extraOf = (name: string): string[] => {
      const p = phases.find((ph) => ph.figures.includes(name));
      if (p) return p.extra(name);
      const spec = figureSpec(name);
      if (spec?.derived) return [`${spec.title}, run by run`, ctx.runsLine, ctx.machineLine];
      if (name === OTHERS) return [`(busy time of all cores in /proc/stat - this process's CPU time) / (wall time x cores), per run; load average ${loadBefore.toFixed(2)} before`, ctx.machineLine];
      return [ctx.runsLine, ctx.machineLine];
    };
    const measurements = [...samples.entries()]
      .filter(([, xs]) => xs.every(Number.isFinite))
      .sort((a, b) => rank(a[0]) - rank(b[0]))
      .map(([name, xs]) => measurement(name, xs, extraOf(name)));

    const warnings: string[] = [];
    if (ctx.barriers) warnings.push(`warning: RINGTRACE_BENCH_SLOW_BARRIERS=${ctx.barriers}: the OP_BENCH loop was slowed down on purpose`);
    const othersMedian = measurements.find((x) => x.name === OTHERS)?.value ?? null;
    const busy = busyWarning(othersMedian, loadBefore, loadAverage());
    if (busy) warnings.push(busy);
    return {
      measurements,
      reports: open.map((o) => o.report?.() ?? '').filter(Boolean),
      warnings,
      machine,
      phaseMs,
      elapsedMs: performance.now() - t00,
    };
  } finally {
    for (const o of open) await o.close();
  }
}
