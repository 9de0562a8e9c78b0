// `ringtrace bench`: the ring-buffer benchmark (bench/ring.ts), its table, the kernel-style per-CPU
// report and the JSON file for CI benchmark trackers.
import { runRingBench, formatTable, formatProducerReports, RING_BENCH_DEFAULTS, BenchUsageError, validateRingBench } from '../../bench/ring.ts';
import { toJson, machineLine } from '../../bench/stats.ts';
import { runFtraceBench } from '../../bench/ftrace.ts';
import { runSmpBench } from '../../bench/smp.ts';
import { runEventsBench } from '../../bench/events.ts';
import { runEmbedBench } from '../../bench/embed.ts';
import { UsageError, writeTextFile, type Command } from './cli.ts';

export const benchCommand: Command = {
  name: 'bench',
  summary: "ring-buffer benchmark (the kernel's ring_buffer_benchmark, Wasm vs TypeScript, JS callers, pipe)",
  usage: '[--duration MS] [--cpus N] [--size BYTES] [--runs N] [--json FILE] [--no-consumer]',
  description: [
    'Measures the write path (Wasm with the counter and local clocks, the TypeScript twin of the same',
    'algorithm, one JavaScript call per event and batched), one and two writing CPUs, and the kernel',
    "benchmark's run: producers on --cpus CPUs with a consumer CPU each reading whole pages in",
    'producer/consumer mode (or, with --no-consumer, producers alone in overwrite mode), reported per',
    "CPU with the kernel's fields; then function tracing (a disabled call, a traced call with one and",
    "with 8 filtering ops, a call under function_graph, echo '*' > set_ftrace_filter and enabling the tracer) and SMP (an",
    'on_each_cpu round trip, a hotplug cycle). Figures are medians of --runs runs; progress goes to stderr.',
  ].join('\n'),
  options: [
    { name: 'duration', value: 'number', metavar: 'MS', help: 'total measuring time, split across the phases and runs', default: RING_BENCH_DEFAULTS.durationMs },
    { name: 'cpus', value: 'int', metavar: 'N', help: 'producer CPUs of the ring_buffer_benchmark run', default: RING_BENCH_DEFAULTS.cpus, min: 1 },
    { name: 'size', value: 'int', metavar: 'BYTES', help: 'event payload of the producer runs (1 .. sub-buffer limit, 4072)', default: RING_BENCH_DEFAULTS.size, min: 1 },
    { name: 'runs', value: 'int', metavar: 'N', help: 'runs per measurement (the median is reported)', default: RING_BENCH_DEFAULTS.runs, min: 1 },
    { name: 'json', value: 'string', metavar: 'FILE', help: 'write the results as JSON ([{name, unit, value, range, extra}])' },
    { name: 'consumer', help: 'run a consumer CPU per producer (--no-consumer: producers only)', default: true },
  ],
  async run(opts, args, io) {
    if (args.length) throw new UsageError(`unexpected argument '${args[0]}'`);
    const o = {
      durationMs: opts.duration as number,
      cpus: opts.cpus as number,
      size: opts.size as number,
      runs: opts.runs as number,
      consumer: opts.consumer as boolean,
    };
    try {
      validateRingBench(o);
    } catch (err) {
      if (err instanceof BenchUsageError) throw new UsageError(err.message);
      throw err;
    }
    const t0 = performance.now();
    let res;
    try {
      res = await runRingBench({ ...o, log: (l) => io.err(l) });
    } catch (err) {
      if (err instanceof BenchUsageError) throw new UsageError(err.message);
      throw err;
    }
    const log = (l: string) => io.err(l);
    res.measurements.push(
      ...(await runFtraceBench({ runs: o.runs, log })),
      ...(await runSmpBench({ runs: o.runs, log })),
      ...(await runEmbedBench({ runs: o.runs, durationMs: res.phaseMs, log })),
    );
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    io.out(`ringtrace bench: ${machineLine(res.machine)}`);
    io.out(`${o.runs} run(s) per measurement (${res.phaseMs.toFixed(0)} ms each for the ring buffer), ${secs} s in all\n`);
    io.out(formatTable(res.measurements) + '\n');
    io.out(`ring_buffer_benchmark (the median run):`);
    io.out(formatProducerReports(res.producers, o.size) + '\n');
    if (opts.json !== undefined) {
      await writeTextFile(opts.json as string, toJson(res.measurements));
      io.err(`wrote ${res.measurements.length} results to ${opts.json}`);
    }
    return 0;
  },
};
