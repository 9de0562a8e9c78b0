// `ringtrace bench`: runs the benchmark (bench/runner.ts) and prints its table and the kernel-style
// per-CPU report; writes the run and the trackers' files (bench/formats.ts) and a picture
// (bench/svg.ts); with --baseline, gates on regressions (bench/gate.ts). `bench compare` gates two
// saved runs offline; `bench plot` draws a history of saved runs.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { runBench, BENCH_DEFAULTS } from '../../bench/runner.ts';
import { BenchUsageError } from '../../bench/suite.ts';
import { toRunJson, toGabJson, toBmfJson, parseRun, RunFileError } from '../../bench/formats.ts';
import { compareRuns, formatGate, regressions, DEFAULT_MAX_REGRESSION_PCT, type GateOptions } from '../../bench/gate.ts';
import { runSvg, trendSvg } from '../../bench/svg.ts';
import { globMatcher } from '../../bench/figures.ts';
import { machineLine, fmtNumber, type Measurement } from '../../bench/stats.ts';
import { CliError, UsageError, writeTextFile, type Command, type Io } from './cli.ts';

// the gate's own test slows the OP_BENCH loop down with this many full barriers per event
const SLOW_ENV = 'RINGTRACE_BENCH_SLOW_BARRIERS';

const RUN_OPTIONS = ['duration', 'cpus', 'size', 'runs', 'json', 'gab-smaller', 'gab-bigger', 'bmf', 'svg', 'baseline', 'consumer'];

export const benchCommand: Command = {
  name: 'bench',
  summary: 'benchmark (ring buffer, function tracing, SMP) with a regression gate; compare and plot saved runs',
  usage: '[OPTIONS] | compare BASE.json NOW.json [--max-regression PCT] [--only GLOBS] | plot RUN.json... -o FILE.svg',
  description: [
    'Measures the write path (Wasm with the counter and local clocks, the TypeScript twin of the same',
    'algorithm, one JavaScript call per event and batched), one and two writing CPUs, the kernel',
    "benchmark's run (producers on --cpus CPUs, a consumer CPU each reading whole pages; --no-consumer:",
    'overwrite mode), the floors (the same bytes without bookkeeping; a minimal page handoff), function',
    'tracing (function and function_graph tracers), SMP, a writer in a user\'s worker, and a fixed',
    'calibration workload in Wasm and JavaScript. Every phase is sampled once',
    'per run, runs interleaved; figures are medians with min..max. Progress goes to stderr.',
    '',
    'With --baseline the run is compared figure by figure (bench compare does the same for two saved',
    'runs): a figure fails when it is worse by more than both --max-regression and the noise band of',
    'the two runs; machine-speed dependent figures are compared relative to the calibration. Exit status:',
    '0 passed, 1 a regression (or a failure), 2 a usage error. FILE may be - for stdout (the table then',
    'goes to stderr).',
  ].join('\n'),
  options: [
    { name: 'duration', value: 'number', metavar: 'MS', help: 'total time of the timed phases, split across them and the runs', default: BENCH_DEFAULTS.durationMs },
    { name: 'cpus', value: 'int', metavar: 'N', help: 'producer CPUs of the ring_buffer_benchmark run', default: BENCH_DEFAULTS.cpus, min: 1 },
    { name: 'size', value: 'int', metavar: 'BYTES', help: 'event payload of the producer runs (1 .. sub-buffer limit, 4072)', default: BENCH_DEFAULTS.size, min: 1 },
    { name: 'runs', value: 'int', metavar: 'N', help: 'runs (interleaved samples of every phase; the median is reported)', default: BENCH_DEFAULTS.runs, min: 1 },
    { name: 'only', value: 'string', metavar: 'GLOBS', help: "measure (or compare) only these figures, comma-separated globs, e.g. 'ring.write.*'" },
    { name: 'json', value: 'string', metavar: 'FILE', help: 'write the run: [{name, unit, value, range, extra, direction, samples, ...}]' },
    { name: 'gab-smaller', value: 'string', metavar: 'FILE', help: 'github-action-benchmark input for tool customSmallerIsBetter' },
    { name: 'gab-bigger', value: 'string', metavar: 'FILE', help: 'github-action-benchmark input for tool customBiggerIsBetter' },
    { name: 'bmf', value: 'string', metavar: 'FILE', help: 'Bencher Metric Format JSON (bencher run --adapter json)' },
    { name: 'svg', value: 'string', metavar: 'FILE', help: 'draw the run: each figure against its target and the baseline' },
    { name: 'baseline', value: 'string', metavar: 'FILE', help: 'a saved run (--json) to gate against' },
    { name: 'max-regression', value: 'number', metavar: 'PCT', help: 'how much worse a figure may get beyond its noise', default: DEFAULT_MAX_REGRESSION_PCT },
    { name: 'output', short: 'o', value: 'string', metavar: 'FILE', help: 'bench plot: the SVG file' },
    { name: 'consumer', help: 'run a consumer CPU per producer (--no-consumer: producers only)', default: true },
  ],
  async run(opts, args, io) {
    const gate: GateOptions = { maxRegressionPct: opts['max-regression'] as number, only: opts.only as string | undefined };
    if (args[0] === 'compare') return compare(args.slice(1), opts, gate, io);
    if (args[0] === 'plot') return plot(args.slice(1), opts, io);
    if (args.length) throw new UsageError(`unexpected argument '${args[0]}' (subcommands: compare, plot)`);
    if (opts.output !== undefined) throw new UsageError("-o is for 'bench plot'; a run's picture is --svg FILE");
    return run(opts, gate, io);
  },
};

async function run(opts: Record<string, unknown>, gate: GateOptions, io: Io): Promise<number> {
  const outputs: [string, string | undefined][] = (['json', 'gab-smaller', 'gab-bigger', 'bmf', 'svg'] as const).map((k) => [k, opts[k] as string | undefined]);
  const toStdout = outputs.filter(([, f]) => f === '-');
  if (toStdout.length > 1) throw new UsageError(`only one output can go to stdout (-), not ${toStdout.map(([k]) => `--${k}`).join(' and ')}`);
  const say = toStdout.length ? io.err : io.out; // the human-readable report
  const baseline = opts.baseline !== undefined ? await readRun(opts.baseline as string) : undefined;
  const slow = process.env[SLOW_ENV];
  const barriers = slow ? Number(slow) : 0;
  if (!Number.isInteger(barriers) || barriers < 0) throw new UsageError(`${SLOW_ENV} must be a whole number, not '${slow}'`);
  const status = io.errIsTTY && io.writeErr ? io.writeErr : undefined;
  const width = process.stderr.columns || 100; // a status line longer than the terminal would wrap and stay
  let res;
  try {
    res = await runBench({
      durationMs: opts.duration as number,
      cpus: opts.cpus as number,
      size: opts.size as number,
      runs: opts.runs as number,
      consumer: opts.consumer as boolean,
      only: opts.only as string | undefined,
      barriers,
      progress: { line: (l) => io.err(l), status: status && ((t) => status(`\r\x1b[K${t.slice(0, width - 1)}`)) },
    });
  } catch (err) {
    if (err instanceof BenchUsageError) throw new UsageError(err.message);
    throw err;
  }
  const ms = res.measurements;
  say(`ringtrace bench: ${machineLine(res.machine)}`);
  say(`${opts.runs} interleaved run(s)${res.phaseMs ? `, ${res.phaseMs.toFixed(0)} ms per timed phase` : ''}, ${(res.elapsedMs / 1000).toFixed(1)} s in all\n`);
  say(formatTable(ms) + '\n');
  for (const r of res.reports) say(r);
  for (const w of res.warnings) io.err(w);
  const write = async (file: string, text: string) => (file === '-' ? io.write ? io.write(text) : io.out(text) : writeTextFile(file, text));
  const files: Record<string, () => string> = {
    json: () => toRunJson(ms),
    'gab-smaller': () => toGabJson(ms, 'smaller'),
    'gab-bigger': () => toGabJson(ms, 'bigger'),
    bmf: () => toBmfJson(ms),
    svg: () => runSvg(ms, { title: `ringtrace bench, ${res.machine.cpuModel}, ${new Date().toISOString().slice(0, 16)}Z`, baseline }),
  };
  for (const [k, f] of outputs) {
    if (f === undefined) continue;
    await write(f, files[k]());
    if (f !== '-') io.err(`wrote ${f}`);
  }
  if (!baseline) return 0;
  const rows = compareRuns(baseline, ms, gate);
  say(`\ncompared with ${opts.baseline}:`);
  say(formatGate(rows, gate));
  return regressions(rows).length ? 1 : 0;
}

async function compare(args: string[], opts: Record<string, unknown>, gate: GateOptions, io: Io): Promise<number> {
  if (args.length !== 2) throw new UsageError('bench compare takes two runs: BASE.json NOW.json');
  refuseRunOptions(opts, 'compare');
  const [base, now] = await Promise.all(args.map(readRun));
  io.out(`${args[1]} against ${args[0]}:`);
  const rows = compareRuns(base, now, gate);
  if (!rows.length) throw new UsageError(`--only '${gate.only}' matches no figure of the two runs`);
  io.out(formatGate(rows, gate));
  return regressions(rows).length ? 1 : 0;
}

async function plot(args: string[], opts: Record<string, unknown>, io: Io): Promise<number> {
  if (!args.length) throw new UsageError('bench plot takes one or more runs: RUN.json... -o FILE.svg');
  if (opts.output === undefined) throw new UsageError('bench plot needs -o FILE.svg (- for stdout)');
  refuseRunOptions(opts, 'plot');
  const runs = await Promise.all(args.map(async (f) => ({ label: basename(f).replace(/\.json$/, ''), ms: await readRun(f) })));
  const only = opts.only as string | undefined;
  const match = globMatcher(only);
  const picked = runs.map((r) => ({ ...r, ms: r.ms.filter((m) => match(m.name)) }));
  if (!picked.some((r) => r.ms.length)) throw new UsageError(`--only '${only}' matches no figure of the runs`);
  const svg = trendSvg(picked, `ringtrace bench: ${runs.length} run(s)`);
  const out = opts.output as string;
  if (out === '-') (io.write ?? io.out)(svg);
  else {
    await writeTextFile(out, svg);
    io.err(`wrote ${out}`);
  }
  return 0;
}

function refuseRunOptions(opts: Record<string, unknown>, sub: string): void {
  for (const k of RUN_OPTIONS) {
    const given = opts[k] !== undefined && opts[k] !== benchCommand.options.find((o) => o.name === k)?.default;
    if (given) throw new UsageError(`--${k} is an option of a benchmark run, not of 'bench ${sub}'`);
  }
}

async function readRun(file: string): Promise<Measurement[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return parseRun(text, file);
  } catch (err) {
    if (err instanceof RunFileError) throw new CliError(err.message);
    throw err;
  }
}

export function formatTable(ms: Measurement[]): string {
  const rows = ms.map((x) => [
    x.name,
    fmtNumber(x.value),
    x.unit,
    x.range,
    x.direction === 'smaller' ? 'smaller' : 'bigger',
    x.target === undefined ? (x.reference ? 'reference' : '') : `${x.direction === 'smaller' ? '<=' : '>='} ${x.target}: ${(x.direction === 'smaller' ? x.value <= x.target : x.value >= x.target) ? 'met' : 'MISSED'}`,
  ]);
  const head = ['measurement', 'median', 'unit', 'range (min..max)', 'better', 'target'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === 1 ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ').trimEnd();
  return [fmt(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(fmt)].join('\n');
}
