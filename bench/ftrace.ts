// Function-tracing benchmarks (issue: ftrace, "Performance"): the cost of a call whose record is not
// enabled, of a call traced by the function tracer (dispatch plus the 24-byte TRACE_FN write), of a
// call traced by the function_graph tracer (entry and return events), of a call traced by one of 8 instances' tracers that each filter 10,000 functions, and of
// `echo '*' > set_ftrace_filter` then `echo function > current_tracer` over the whole kernel text.
// Calls are timed on the host from posting the workload to its acknowledgement (millions of calls per
// run, so the mailbox's ~0.1 ms is negligible); the first runs of each kind warm the CPU's code up
// and are not counted.
import { createMachine, Workload, type RingMachine } from '../src/index.ts';
import { machineInfo, machineLine, measurement, type Measurement } from './stats.ts';

export interface FtraceBenchOptions {
  runs: number;
  log?: (line: string) => void;
}

const CALLS_FAST = 20_000_000;
const CALLS_TRACED = 4_000_000;

async function nsPerCall(m: RingMachine, w: Workload, calls: number, runs: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < runs + 2; i++) {
    const t = performance.now();
    await m.run(0, w);
    if (i >= 2) out.push(((performance.now() - t) * 1e6) / calls);
  }
  return out;
}

export async function runFtraceBench(opts: FtraceBenchOptions): Promise<Measurement[]> {
  const log = opts.log ?? (() => {});
  const machine = machineLine(machineInfo());
  const out: Measurement[] = [];
  const m = await createMachine({ cpus: 2, bufferSizeKb: 1024, clock: 'local' });
  try {
    const ft = m.ftrace;
    const recs = [...ft.records()];
    const method = 'CPU 0 calls the function in a Wasm loop; host-timed; median of runs after 2 warm-up runs';

    log(`[ftrace 1/5] a call whose record is not enabled (${CALLS_FAST / 1e6}M calls per run)`);
    out.push(measurement('ftrace.call.disabled', 'ns/call', await nsPerCall(m, new Workload().call('schedule', { count: CALLS_FAST, parent: 'do_syscall_64' }), CALLS_FAST, opts.runs), [machine, method, 'function tracer off']));

    log(`[ftrace 2/5] echo '*' > set_ftrace_filter; echo function > current_tracer over ${recs.length} functions`);
    const star: number[] = [];
    for (let i = 0; i < opts.runs; i++) {
      const t = performance.now();
      await m.fs.write('set_ftrace_filter', '*\n');
      await m.fs.write('current_tracer', 'function\n');
      star.push(performance.now() - t);
      await m.fs.write('current_tracer', 'nop\n');
      await m.fs.write('set_ftrace_filter', '\n');
    }
    out.push(measurement('ftrace.filter_all_and_enable', 'ms', star, [machine, `${recs.length} functions; through machine.fs (parse, hash build, __ftrace_hash_rec_update in Wasm)`]));

    log(`[ftrace 3/5] a call traced by the function tracer, one ops (${CALLS_TRACED / 1e6}M calls per run)`);
    await ft.setTracer(undefined, 'function');
    out.push(measurement('ftrace.call.traced', 'ns/call', await nsPerCall(m, new Workload().call('schedule', { count: CALLS_TRACED, parent: 'do_syscall_64' }), CALLS_TRACED, opts.runs), [machine, method, 'one ops, every function; includes the ring-buffer write of the TRACE_FN event']));
    await ft.setTracer(undefined, 'nop');

    log(`[ftrace 4/5] a call traced by the function_graph tracer (${CALLS_TRACED / 1e6}M calls per run)`);
    await ft.setTracer(undefined, 'function_graph');
    out.push(measurement('ftrace.call.graph', 'ns/call', await nsPerCall(m, new Workload().call('schedule', { count: CALLS_TRACED, parent: 'do_syscall_64' }), CALLS_TRACED, opts.runs), [machine, method, 'one fgraph_ops, every function; entry and return hooks, the TRACE_GRAPH_ENT and TRACE_GRAPH_RET writes and two trace-clock readings']));
    await ft.setTracer(undefined, 'nop');

    log('[ftrace 5/5] 8 instances with function tracers filtering 10,000 functions each; a call traced by one');
    // ranges of 10,000 functions, 4,000 apart; only the last one holds the called function
    for (let i = 0; i < 8; i++) {
      const b = await m.createInstance(`bench${i}`, { bufferSizeKb: 1024 });
      await ft.setFilter(b, recs.slice(i * 4000, i * 4000 + 10_000).map((r) => r.ip));
      await ft.setTracer(b, 'function');
    }
    const target = recs[7 * 4000 + 9000];
    out.push(measurement('ftrace.call.traced.8ops', 'ns/call', await nsPerCall(m, new Workload().call(target.ip, { count: CALLS_TRACED, parent: 'do_syscall_64' }), CALLS_TRACED, opts.runs), [machine, method, '8 ops each with a 10,000-entry filter hash; the call is traced by one']));
  } finally {
    await m.close();
  }
  return out;
}
