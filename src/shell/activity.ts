// A living kernel under `ringtrace sh` and `ftracetest`: what a real kernel does by itself while a
// script watches it through the function tracer. The shell's own system calls run through their
// kernel call chains on the CPU the shell runs on (open/read/write/close through the VFS, a tracefs
// read through seq_file; fork, exec, exit and wait in process.ts), `sleep` blocks in hrtimer_nanosleep() and schedules away to the idle task,
// and while it sleeps every online CPU takes timer ticks at HZ (the tick's call chain in hard-irq
// context). Library users keep explicit workloads: only the CLI turns this on.
import type { RingMachine } from '../api.ts';
import { Workload, type CallNode } from '../machine/workload.ts';
import { RingtraceError } from '../errors.ts';

// CONFIG_HZ of the emulated kernel
export const HZ = 250;
// ticks per CPU at most for one sleep: a long sleep shows its first ticks, not hours of them
const MAX_TICKS = 2 * HZ;

export interface Task {
  pid: number;
  comm: string;
}

const IDLE: Task = { pid: 0, comm: 'swapper' };

const leaf = (fn: string): CallNode => ({ fn });
const chain = (...fns: string[]): CallNode => {
  const [fn, ...rest] = fns;
  return rest.length ? { fn, children: [chain(...rest)] } : { fn };
};

// The local APIC timer interrupt: tick_sched_timer() → update_process_times() → scheduler_tick()
const TICK: CallNode = {
  fn: 'sysvec_apic_timer_interrupt',
  children: [{ fn: 'hrtimer_interrupt', children: [chain('tick_sched_timer', 'tick_sched_handle', 'update_process_times', 'scheduler_tick')] }, leaf('irq_exit_rcu')],
};

// read(2) of a file: ksys_read() → vfs_read(), and for tracefs's seq_files seq_read() → seq_read_iter()
function readCall(seqFile: boolean): CallNode {
  return { fn: 'do_syscall_64', children: [{ fn: 'ksys_read', children: [seqFile ? chain('vfs_read', 'seq_read', 'seq_read_iter') : leaf('vfs_read')] }, leaf('exit_to_user_mode_prepare')] };
}

const OPEN: CallNode = { fn: 'do_syscall_64', children: [chain('do_sys_openat2', 'do_filp_open'), leaf('exit_to_user_mode_prepare')] };
const WRITE: CallNode = { fn: 'do_syscall_64', children: [chain('ksys_write', 'vfs_write'), leaf('exit_to_user_mode_prepare')] };
// close(2) defers the final fput to task work, run on the way back to user space
const CLOSE: CallNode = { fn: 'do_syscall_64', children: [{ fn: 'exit_to_user_mode_prepare', children: [chain('task_work_run', '____fput', '__fput')] }] };
// nanosleep(2): hrtimer_nanosleep() → do_nanosleep() → schedule() to the idle task
const NANOSLEEP: CallNode = { fn: 'do_syscall_64', children: [{ fn: 'hrtimer_nanosleep', children: [{ fn: 'do_nanosleep', children: [leaf('hrtimer_start_range_ns'), chain('schedule', '__schedule')] }] }] };
const WAKEUP: CallNode = chain('finish_task_switch');

export class KernelActivity {
  constructor(
    private readonly m: RingMachine,
    // the task making the system calls (process.ts: the shell, a subshell, a command)
    private readonly current: () => Task,
    private readonly cpu = 0,
  ) {}

  // The shell's CPU, if it is still there to run on.
  private shellCpu(): number | undefined {
    const online = this.m.onlineCpus();
    return online.includes(this.cpu) ? this.cpu : online[0];
  }

  // A CPU that crashed or runs another workload (a script's kcall in an `&` job) skips this activity.
  private async run(cpu: number, w: Workload): Promise<void> {
    if (this.m.machine.cpuCrashed(cpu)) return;
    try {
      await this.m.run(cpu, w);
    } catch (err) {
      if (!(err instanceof RingtraceError && err.code === 'EBUSY')) throw err;
    }
  }

  // Kernel work on the shell's CPU (a workload that names its tasks)
  async onShellCpu(w: Workload): Promise<void> {
    const cpu = this.shellCpu();
    if (cpu === undefined) return;
    await this.run(cpu, w);
  }

  // open → read or write → close of one file by the current task
  async fileAccess(kind: 'read' | 'write', seqFile: boolean): Promise<void> {
    const task = this.current();
    await this.onShellCpu(new Workload().task(task.pid, task.comm).callGraph([OPEN, kind === 'read' ? readCall(seqFile) : WRITE, CLOSE]));
  }

  // The current task goes to sleep for ms: it schedules away, every online CPU ticks for the time
  // slept (bounded), and the task is switched back in.
  async sleep(ms: number): Promise<void> {
    const cpu = this.shellCpu();
    if (cpu === undefined) return;
    const task = this.current();
    await this.run(cpu, new Workload().task(task.pid, task.comm).callGraph(NANOSLEEP));
    const ticks = Math.min(MAX_TICKS, Math.max(1, Math.round((ms * HZ) / 1000)));
    await Promise.all(
      this.m.onlineCpus().map((c) => this.run(c, new Workload().task(IDLE.pid, `${IDLE.comm}/${c}`).context('irq').callGraph({ ...TICK, count: ticks }).context('normal'))),
    );
    await this.run(cpu, new Workload().task(task.pid, task.comm).callGraph(WAKEUP));
  }
}
