// Every figure the benchmark reports, defined once: its unit, which way is better, the target the
// issues set, and the in-run calibration it is compared against by the gate. Derived figures (ratios
// of two others, run by run) name what they are computed from.
//
// calibration: figures whose value scales with the machine's speed are compared, between two runs,
// relative to a fixed workload measured in the same run (calib.wasm for code running in Wasm, calib.js
// for host-side JavaScript), so a slower CI machine is not a regression. Ratios and percentages need
// none. reference: figures that measure the machine, not ringtrace (calibration, floors): reported and
// drawn, never gated.

export type Direction = 'smaller' | 'bigger';

export interface FigureSpec {
  unit: string;
  direction: Direction;
  title: string; // one line for tables and pictures
  target?: number; // from the issues: at most (smaller) or at least (bigger)
  calibration?: 'calib.wasm' | 'calib.js';
  reference?: boolean;
  // an absolute change below this is never a regression (percentages near zero swing by large factors)
  absTolerance?: number;
  derived?: { from: [string, string]; op: 'ratio' }; // value = from[0] / from[1], round by round
}

export const FIGURES: Record<string, FigureSpec> = {
  'calib.wasm': { unit: 'ns/iter', direction: 'smaller', reference: true, title: 'calibration: a fixed xorshift-and-store loop in Wasm on the main thread' },
  'calib.js': { unit: 'ns/iter', direction: 'smaller', reference: true, title: 'calibration: the same loop in JavaScript on the main thread' },
  'bench.others_cpu': { unit: '%', direction: 'smaller', reference: true, title: 'CPU time of other processes during the run, of all cores' },

  'ring.write.wasm.counter': { unit: 'ns/event', direction: 'smaller', target: 6, calibration: 'calib.wasm', title: 'reserve + 16-byte payload + commit, loop in Wasm, counter clock' },
  'ring.write.wasm.local': { unit: 'ns/event', direction: 'smaller', target: 8, calibration: 'calib.wasm', title: 'the same with the local clock' },
  'ring.write.floor': { unit: 'ns/event', direction: 'smaller', reference: true, title: 'floor: the same event bytes bump-written in Wasm, no bookkeeping' },
  'ring.write.floor_ratio': { unit: 'x', direction: 'smaller', target: 3, derived: { from: ['ring.write.wasm.counter', 'ring.write.floor'], op: 'ratio' }, title: 'ring.write.wasm.counter / ring.write.floor' },
  'ring.write.ts.counter': { unit: 'ns/event', direction: 'smaller', calibration: 'calib.js', title: 'the TypeScript twin of the write path, in a CPU worker' },
  'ring.write.speedup.wasm_vs_ts': { unit: 'x', direction: 'bigger', target: 3, derived: { from: ['ring.write.ts.counter', 'ring.write.wasm.counter'], op: 'ratio' }, title: 'ring.write.ts.counter / ring.write.wasm.counter' },
  'ring.write.jscall.counter': { unit: 'ns/event', direction: 'smaller', target: 25, calibration: 'calib.js', title: 'Writer.write(bytes) from the main thread, one call per event' },
  'ring.write.jsbatch.counter': { unit: 'ns/event', direction: 'smaller', calibration: 'calib.js', title: 'Writer.writeBatch(), 256 events per call' },
  'ring.write.cpu1': { unit: 'M events/s', direction: 'bigger', calibration: 'calib.wasm', title: 'OP_BENCH on one CPU, local clock' },
  'ring.write.cpu2': { unit: 'M events/s', direction: 'bigger', calibration: 'calib.wasm', title: 'OP_BENCH on two CPUs at once, aggregate' },
  'ring.write.cpu_scaling': { unit: 'x', direction: 'bigger', target: 1.8, derived: { from: ['ring.write.cpu2', 'ring.write.cpu1'], op: 'ratio' }, title: 'ring.write.cpu2 / ring.write.cpu1' },
  'ring.pipe': { unit: 'M events/s', direction: 'bigger', target: 70, calibration: 'calib.wasm', title: 'producer + consumer CPU reading whole pages' },
  'ring.pipe.lost': { unit: '%', direction: 'smaller', target: 1, absTolerance: 1, title: 'events dropped in the ring.pipe runs' },
  'ring.pipe.floor': { unit: 'M events/s', direction: 'bigger', reference: true, title: 'floor: page handoff between two CPU workers, copy out, walk' },
  'ring.pipe.cold_spares': { unit: 'M events/s', direction: 'bigger', reference: true, title: 'ring.pipe with consumers handing back pages read 256 pages ago, not the one just read' },
  'ring.pipe.floor_ratio': { unit: 'x', direction: 'smaller', target: 3, derived: { from: ['ring.pipe.floor', 'ring.pipe'], op: 'ratio' }, title: 'ring.pipe.floor / ring.pipe' },

  'ftrace.call.disabled': { unit: 'ns/call', direction: 'smaller', target: 3, calibration: 'calib.wasm', title: 'a call whose record is not enabled' },
  'ftrace.filter_all_and_enable': { unit: 'ms', direction: 'smaller', target: 100, calibration: 'calib.js', title: "echo '*' > set_ftrace_filter; echo function > current_tracer" },
  'ftrace.call.traced': { unit: 'ns/call', direction: 'smaller', target: 20, calibration: 'calib.wasm', title: 'a call traced by the function tracer (incl. the ring-buffer write)' },
  'ftrace.call.graph': { unit: 'ns/call', direction: 'smaller', calibration: 'calib.wasm', title: 'a call traced by the function_graph tracer (entry and return events)' },
  'ftrace.call.traced.8ops': { unit: 'ns/call', direction: 'smaller', target: 60, calibration: 'calib.wasm', title: "a call traced by one of 8 instances' filtering tracers" },

  'smp.on_each_cpu': { unit: 'us', direction: 'smaller', target: 25, calibration: 'calib.js', title: 'on_each_cpu() round trip to 2 online CPUs' },
  'smp.hotplug_cycle': { unit: 'us', direction: 'smaller', target: 1000, calibration: 'calib.js', title: 'cpuDown + cpuUp of a started worker' },

  'cli.sh_startup': { unit: 'ms', direction: 'smaller', target: 1000, calibration: 'calib.js', title: '`ringtrace sh -c true`: a whole process, start to exit' },

  'embed.write.worker': { unit: 'ns/event', direction: 'smaller', calibration: 'calib.js', title: "Writer.write(bytes) from a user's worker, attached through machine.handle()" },
  'embed.user_event': { unit: 'ns/event', direction: 'smaller', calibration: 'calib.js', title: 'a user event (u32, u32, u64) through its typed writer, main thread' },
  'embed.user_event.raw': { unit: 'ns/event', direction: 'smaller', calibration: 'calib.js', title: 'Writer.write() of the same 24 bytes, main thread' },
  'embed.user_event.ratio': { unit: 'x', direction: 'smaller', target: 1.5, derived: { from: ['embed.user_event', 'embed.user_event.raw'], op: 'ratio' }, title: 'embed.user_event / embed.user_event.raw' },
};

// `ring.pipe.cpus4.lost` is `ring.pipe.lost` run with 4 producers
export function figureSpec(name: string): FigureSpec | undefined {
  return FIGURES[name] ?? FIGURES[name.replace(/\.cpus\d+/, '')];
}

// --only: comma-separated globs over figure names (`*` any run of characters, `?` one)
export function globMatcher(globs: string | undefined): (name: string) => boolean {
  if (!globs) return () => true;
  const res = globs.split(',').map((g) => g.trim()).filter(Boolean).map(
    (g) => new RegExp(`^${g.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`),
  );
  return (name) => res.some((re) => re.test(name));
}
