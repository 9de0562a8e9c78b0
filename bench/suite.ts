// The shape of the benchmark: suites (each owning a machine) made of phases (each measuring one or a
// few figures per sample). The runner (bench/runner.ts) opens every suite a run needs, then samples the
// phases round by round, interleaved, so a change in the machine's load spreads over all figures
// instead of ruining a few. A new benchmark is one more suite in bench/suites.ts and its figures in
// bench/figures.ts.

export interface BenchContext {
  runs: number;
  size: number; // payload of the producer runs (cpu1, cpu2, pipe)
  cpus: number; // producer CPUs of the ring_buffer_benchmark run
  consumer: boolean; // a consumer CPU per producer (else overwrite mode, reader disabled)
  barriers: number; // extra full barriers per OP_BENCH event: only the gate's own test sets them
  machineLine: string;
  runsLine: string; // how each figure's samples were taken, for `extra`
}

export interface Phase {
  label: string; // progress: what this phase does
  figures: string[]; // the figures one sample yields (derived figures are computed by the runner)
  slots: number; // timed slots of phaseMs per sample; 0: a fixed amount of work
  estimateMs?: number; // expected time of one sample of a fixed-work phase, for the first estimate
  // ms: the length of a timed slot (warm-up or measuring); fixed-work phases ignore it
  warm?(ms: number): Promise<void>;
  sample(ms: number): Promise<Record<string, number>>;
  extra(figure: string): string[]; // method lines of a figure's `extra`
}

export interface OpenSuite {
  phases: Phase[];
  report?(): string; // printed after the table (the kernel-style producer report)
  close(): Promise<void>;
}

export interface Suite {
  name: string;
  figures: string[]; // every figure it can measure, so it is opened only when one is needed
  open(ctx: BenchContext, needed: (figure: string) => boolean): Promise<OpenSuite>;
}

export class BenchUsageError extends Error {}
