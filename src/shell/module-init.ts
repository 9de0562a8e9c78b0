// What a module's init function does when the living kernel loads it (do_init_module() ->
// do_one_initcall() in the context of the task that loaded it, modprobe). Modules whose init only
// registers things show nothing in the function tracer beyond the load; the ones here do work a
// tracer sees.
import type { RingMachine } from '../api.ts';
import { Workload } from '../machine/workload.ts';
import { printEntryPayload } from '../events/marker.ts';
import { abi } from '../layout.ts';
import type { Task } from './activity.ts';

const { TRACE_PRINT } = abi;

const encoder = new TextEncoder();

// samples/trace_printk/trace-printk.c: trace_printk_init() prints twice, queues an irq_work whose
// handler (trace_printk_irq_work, in hard-irq context on the same CPU) prints four times, waits for it
// and prints twice more. The kernel writes the constant-format prints as bputs/bprint records (a
// pointer to the format); here every print is a print record of the text as it would read.
function traceprintkInit(w: Workload, ip: (fn: string) => bigint, initIp: bigint): void {
  const print = (at: bigint, text: string) => w.entry({ type: TRACE_PRINT, payload: printEntryPayload(at, encoder.encode(text)).payload });
  print(initIp, 'This is a static string that will use trace_bputs\n');
  print(initIp, 'This is a dynamic string that will use trace_puts\n');
  w.call('irq_work_queue');
  // the self-IPI fires as soon as irq_work_queue() returns with interrupts on
  w.context('irq').enter('sysvec_irq_work').enter('__sysvec_irq_work').enter('irq_work_run').enter('irq_work_single').enter('trace_printk_irq_work');
  const work = ip('trace_printk_irq_work');
  print(work, '(irq) This is a static string that will use trace_bputs\n');
  print(work, '(irq) This is a dynamic string that will use trace_puts\n');
  print(work, '(irq) This is a static string that will use trace_bprintk()\n');
  print(work, '(irq) This is a dynamic string that will use trace_printk\n');
  w.exit().exit().exit().exit().exit().context('normal');
  w.call('irq_work_sync');
  print(initIp, 'This is a static string that will use trace_bprintk()\n');
  print(initIp, 'This is a dynamic string that will use trace_printk\n');
}

const MODULE_INITS: Record<string, typeof traceprintkInit> = {
  trace_printk: traceprintkInit,
};

// The init of module `name`, just loaded, as a workload of the task loading it; undefined for a module
// whose init the tracer does not see. The init function's own address lies in the module's init
// section, outside its core text (which ftrace keeps records for), so it prints as a raw address.
export function moduleInitWorkload(m: RingMachine, name: string, task: Task): Workload | undefined {
  const init = MODULE_INITS[name];
  const mod = m.ftrace.loadedModules().find((d) => d.name === name);
  if (!init || !mod) return undefined;
  const w = new Workload().task(task.pid, task.comm).enter('do_init_module').enter('do_one_initcall');
  init(w, (fn) => m.ftrace.lookupName(fn)[0]?.ip ?? 0n, mod.base + BigInt(mod.size));
  return w.exit().exit();
}
