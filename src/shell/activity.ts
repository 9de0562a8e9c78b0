// A living kernel under `ringtrace sh` and `ftracetest`: what a real kernel does by itself while a
// script watches it through the function tracer. The shell's own system calls run through their
// kernel call chains on the CPU the shell runs on (open/read/write/close through the VFS, a tracefs
// read through seq_file, a procfs write through proc_reg_write(); fork, exec, exit and wait in
// process.ts), `sleep` blocks in hrtimer_nanosleep() and schedules away to the idle task until the
// timer wakes it, and all the while every online CPU takes timer ticks at HZ (sched.ts's clock).
// Library users keep explicit workloads: only the CLI turns this on.
import type { RingMachine } from '../api.ts';
import { Workload, type CallNode } from '../machine/workload.ts';
import { abortableDelay } from './shell.ts';
import { CpuQueue, KernelClock, TASK_INTERRUPTIBLE, contextSwitch, idleTask, wakeUp, type Task } from './sched.ts';

export type { Task } from './sched.ts';

// What vfs_read() / vfs_write() call for a file: its file_operations
export interface FileOps {
  read: CallNode; // ->read_iter (or ->read)
  write: { fn: string; retval?: number }; // ->write and what it returns (no traced callees)
}

const leaf = (fn: string): CallNode => ({ fn });
const chain = (...fns: string[]): CallNode => {
  const [fn, ...rest] = fns;
  return rest.length ? { fn, children: [chain(...rest)] } : { fn };
};

// tracefs's seq_files (seq_read() → seq_read_iter()); a plain file (sysfs here) reads in vfs_read()
export const SEQ_FILE_OPS: FileOps = { read: chain('seq_read', 'seq_read_iter'), write: { fn: 'vfs_write' } };
export const PLAIN_FILE_OPS: FileOps = { read: leaf('vfs_read'), write: { fn: 'vfs_write' } };
// procfs's proc_reg_file_ops around the entry's proc_ops: a seq_file read, and proc_reg_write(),
// which is -EIO for an entry without ->proc_write (pde_write() in fs/proc/inode.c)
export const PROC_SEQ_OPS: FileOps = { read: chain('proc_reg_read', 'seq_read_iter'), write: { fn: 'proc_reg_write', retval: -5 } };

// read(2) of a file: ksys_read() → vfs_read() → the file's ->read_iter
function readCall(fops: FileOps): CallNode {
  const body = fops.read.fn === 'vfs_read' ? fops.read : { fn: 'vfs_read', children: [fops.read] };
  return { fn: 'do_syscall_64', children: [{ fn: 'ksys_read', children: [body] }, leaf('exit_to_user_mode_prepare')] };
}

// write(2): ksys_write() → vfs_write() → the file's ->write, whose return value they pass on
function writeCall(w: Workload, fops: FileOps): Workload {
  const { fn, retval } = fops.write;
  w.enter('do_syscall_64').enter('ksys_write');
  if (fn === 'vfs_write') w.call('vfs_write');
  else w.enter('vfs_write').call('rw_verify_area').enter(fn).exit({ retval }).exit({ retval });
  return w.exit({ retval }).call('exit_to_user_mode_prepare').exit();
}

const OPEN: CallNode = { fn: 'do_syscall_64', children: [chain('do_sys_openat2', 'do_filp_open'), leaf('exit_to_user_mode_prepare')] };
// close(2) defers the final fput to task work, run on the way back to user space
const CLOSE: CallNode = { fn: 'do_syscall_64', children: [{ fn: 'exit_to_user_mode_prepare', children: [chain('task_work_run', '____fput', '__fput')] }] };

export class KernelActivity {
  readonly cpus: CpuQueue;
  readonly clock: KernelClock;
  // the task last running on the shell's CPU (what its ticks interrupt), or none while it sleeps
  private running: Task | undefined;

  constructor(
    private readonly m: RingMachine,
    // the task making the system calls (process.ts: the shell, a subshell, a command)
    private readonly current: () => Task,
    private readonly cpu = 0,
  ) {
    this.cpus = new CpuQueue(m);
    this.clock = new KernelClock(m, this.cpus, (c) => (c === this.shellCpu() && this.running ? this.running : idleTask(c)));
  }

  // The shell's CPU, if it is still there to run on.
  private shellCpu(): number | undefined {
    const online = this.m.onlineCpus();
    return online.includes(this.cpu) ? this.cpu : online[0];
  }

  private run(cpu: number, w: Workload): Promise<void> {
    return this.cpus.background(cpu, w);
  }

  // Kernel work on the shell's CPU (a workload that names its tasks)
  async onShellCpu(w: Workload): Promise<void> {
    const cpu = this.shellCpu();
    if (cpu === undefined) return;
    this.running = this.current();
    await this.run(cpu, w);
  }

  // open → read or write → close of one file by the current task
  async fileAccess(kind: 'read' | 'write', fops: FileOps): Promise<void> {
    const task = this.current();
    const w = new Workload().task(task.pid, task.comm).callGraph(OPEN);
    if (kind === 'read') w.callGraph(readCall(fops));
    else writeCall(w, fops);
    await this.onShellCpu(w.callGraph(CLOSE));
  }

  // The current task goes to sleep for ms: nanosleep(2) arms an hrtimer and blocks in schedule(); the
  // idle task runs until the timer's interrupt on this CPU wakes it (hrtimer_wakeup() →
  // wake_up_process()), and it is switched back in to return out of schedule() and the system call
  // (its own shadow stack kept those frames meanwhile).
  async sleep(ms: number, signal: AbortSignal): Promise<void> {
    const cpu = this.shellCpu();
    if (cpu === undefined) return abortableDelay(ms, signal);
    const task = this.current();
    const idle = idleTask(cpu);
    const w = new Workload().task(task.pid, task.comm);
    w.enter('do_syscall_64').enter('hrtimer_nanosleep').enter('do_nanosleep').call('hrtimer_start_range_ns');
    this.running = undefined;
    try {
      await this.run(cpu, contextSwitch(w, task, idle, 'schedule', TASK_INTERRUPTIBLE));
      await abortableDelay(ms, signal);
      const wake = new Workload().task(idle.pid, idle.comm).context('irq').enter('sysvec_apic_timer_interrupt').enter('hrtimer_interrupt').enter('__hrtimer_run_queues').enter('wake_up_process');
      await this.run(cpu, wakeUp(wake, task, cpu).exit().exit().exit().exit().context('normal'));
    } finally {
      this.running = task;
    }
    const back = contextSwitch(new Workload().task(idle.pid, idle.comm), idle, task, 'schedule_idle', 0);
    await this.run(cpu, back.exit().exit().exit());
  }

  // The living kernel's clock runs from the script's start to its end.
  start(): void {
    this.clock.start();
  }

  stop(): Promise<void> {
    return this.clock.stop();
  }
}
