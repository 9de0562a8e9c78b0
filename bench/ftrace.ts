// Function-tracing benchmarks (issue: ftrace, "Performance"): the cost of a call whose record is not
// enabled, of a call traced by the function tracer (dispatch plus the 24-byte TRACE_FN write), of a
// call traced by the function_graph tracer (entry and return events), of a call traced by one of 8 instances' tracers that each filter 10,000 functions, and of
// `echo '*' > set_ftrace_filter` then `echo function > current_tracer` over the whole kernel text.
// Calls are timed on the host from posting the workload to its acknowledgement (millions of calls per
// sample, so the mailbox's ~0.1 ms is negligible); each phase warms the CPU's code up with two samples
// that are not counted. Every phase leaves the tracers as it found them, so phases interleave.
import { createMachine, Workload, type RingMachine, type TraceBuffer } from '../src/index.ts';
import type { BenchContext, OpenSuite, Phase, Suite } from './suite.ts';

const CALLS_FAST = 20_000_000;
const CALLS_TRACED = 4_000_000;
const METHOD = 'CPU 0 calls the function in a Wasm loop; host-timed; after 2 warm-up samples';

async function nsPerCall(m: RingMachine, w: Workload, calls: number): Promise<number> {
  const t = performance.now();
  await m.run(0, w);
  return ((performance.now() - t) * 1e6) / calls;
}

export const ftraceSuite: Suite = {
  name: 'ftrace',
  figures: ['ftrace.call.disabled', 'ftrace.filter_all_and_enable', 'ftrace.call.traced', 'ftrace.call.graph', 'ftrace.call.traced.8ops'],
  open: openFtrace,
};

async function openFtrace(ctx: BenchContext, needed: (figure: string) => boolean): Promise<OpenSuite> {
  const m = await createMachine({ cpus: 2, bufferSizeKb: 1024, clock: 'local' });
  const ft = m.ftrace;
  const recs = [...ft.records()];
  const base = [ctx.runsLine, ctx.machineLine];
  const phases: Phase[] = [];
  // a phase's run with the top-level tracer set to `tracer`, and back to nop after it
  const underTracer = (tracer: string) => async (run: () => Promise<number>): Promise<number> => {
    await ft.setTracer(undefined, tracer);
    try {
      return await run();
    } finally {
      await ft.setTracer(undefined, 'nop');
    }
  };
  const calls = (name: string, label: string, count: number, w: Workload, around: (run: () => Promise<number>) => Promise<number>, extra: string) => {
    const one = () => around(() => nsPerCall(m, w, count));
    phases.push({
      label: `${name}: ${label} (${count / 1e6}M calls)`,
      figures: [name],
      slots: 0,
      estimateMs: count * 40e-6,
      warm: async () => {
        await one();
        await one();
      },
      sample: async () => ({ [name]: await one() }),
      extra: () => [METHOD, extra, ...base],
    });
  };
  const plain = (run: () => Promise<number>) => run();

  if (needed('ftrace.call.disabled')) {
    calls('ftrace.call.disabled', 'a call whose record is not enabled', CALLS_FAST,
      new Workload().call('schedule', { count: CALLS_FAST, parent: 'do_syscall_64' }), plain, 'function tracer off');
  }

  if (needed('ftrace.filter_all_and_enable')) {
    phases.push({
      label: `ftrace.filter_all_and_enable: echo '*' > set_ftrace_filter; echo function > current_tracer over ${recs.length} functions`,
      figures: ['ftrace.filter_all_and_enable'],
      slots: 0,
      estimateMs: 200,
      sample: async () => {
        const t = performance.now();
        await m.fs.write('set_ftrace_filter', '*\n');
        await m.fs.write('current_tracer', 'function\n');
        const ms = performance.now() - t;
        await m.fs.write('current_tracer', 'nop\n');
        await m.fs.write('set_ftrace_filter', '\n');
        return { 'ftrace.filter_all_and_enable': ms };
      },
      extra: () => [`${recs.length} functions; through machine.fs (parse, hash build, __ftrace_hash_rec_update in Wasm)`, ...base],
    });
  }

  if (needed('ftrace.call.traced')) {
    calls('ftrace.call.traced', 'a call traced by the function tracer, one ops', CALLS_TRACED,
      new Workload().call('schedule', { count: CALLS_TRACED, parent: 'do_syscall_64' }),
      underTracer('function'),
      'one ops, every function; includes the ring-buffer write of the TRACE_FN event');
  }

  if (needed('ftrace.call.graph')) {
    calls('ftrace.call.graph', 'a call traced by the function_graph tracer', CALLS_TRACED,
      new Workload().call('schedule', { count: CALLS_TRACED, parent: 'do_syscall_64' }),
      underTracer('function_graph'),
      'one fgraph_ops, every function; entry and return hooks, the TRACE_GRAPH_ENT and TRACE_GRAPH_RET writes and two trace-clock readings');
  }

  if (needed('ftrace.call.traced.8ops')) {
    // ranges of 10,000 functions, 4,000 apart; only the last one holds the called function
    const instances: TraceBuffer[] = [];
    for (let i = 0; i < 8; i++) {
      const b = await m.createInstance(`bench${i}`, { bufferSizeKb: 1024 });
      await ft.setFilter(b, recs.slice(i * 4000, i * 4000 + 10_000).map((r) => r.ip));
      instances.push(b);
    }
    const target = recs[7 * 4000 + 9000];
    calls('ftrace.call.traced.8ops', '8 instances with function tracers filtering 10,000 functions each; a call traced by one', CALLS_TRACED,
      new Workload().call(target.ip, { count: CALLS_TRACED, parent: 'do_syscall_64' }),
      async (run) => {
        for (const b of instances) await ft.setTracer(b, 'function');
        try {
          return await run();
        } finally {
          for (const b of instances) await ft.setTracer(b, 'nop');
        }
      },
      '8 ops each with a 10,000-entry filter hash; the call is traced by one');
  }

  return { phases, close: () => m.close() };
}
