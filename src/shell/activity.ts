// A living kernel under `ringtrace sh` and `ftracetest`: what a real kernel does by itself while a
// script watches it through the function tracer. The shell's own system calls run through their
// kernel call chains on the CPU the shell runs on (open/read/write/close through the VFS, a tracefs
// read through seq_file, a procfs write through proc_reg_write(), fork through kernel_clone for a
// subshell or an & job), `sleep` blocks in hrtimer_nanosleep() and schedules away to the idle task,
// and all the while every online CPU takes timer ticks at HZ (sched.ts's clock). Library users keep
// explicit workloads: only the CLI turns this on.
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
  private sleeping = false;
  private nextChild: number;

  constructor(
    private readonly m: RingMachine,
    private readonly task: Task,
    private readonly cpu = 0,
  ) {
    this.cpus = new CpuQueue(m);
    this.clock = new KernelClock(m, this.cpus, (c) => (c === this.shellCpu() && !this.sleeping ? this.task : idleTask(c)));
    this.nextChild = task.pid + 1000;
  }

  // The shell's CPU, if it is still there to run on.
  private shellCpu(): number | undefined {
    const online = this.m.onlineCpus();
    return online.includes(this.cpu) ? this.cpu : online[0];
  }

  private run(cpu: number, w: Workload): Promise<void> {
    return this.cpus.background(cpu, w);
  }

  // open → read or write → close of one file by the shell
  async fileAccess(kind: 'read' | 'write', fops: FileOps): Promise<void> {
    const cpu = this.shellCpu();
    if (cpu === undefined) return;
    const w = new Workload().task(this.task.pid, this.task.comm).callGraph(OPEN);
    if (kind === 'read') w.callGraph(readCall(fops));
    else writeCall(w, fops);
    await this.run(cpu, w.callGraph(CLOSE));
  }

  // The shell forks a subshell (( … ), $( … ), an & job): kernel_clone() copies the process
  // (sched_process_fork) and wakes the child (sched_wakeup_new); the shell then waits in wait4(2)
  // while the child runs on another CPU, and the child's exit wakes it.
  async fork(): Promise<void> {
    const cpu = this.shellCpu();
    if (cpu === undefined) return;
    const child = { pid: this.nextChild++, comm: this.task.comm };
    const w = new Workload().task(this.task.pid, this.task.comm);
    w.enter('do_syscall_64').enter('kernel_clone').enter('copy_process').call('sched_fork').call('copy_mm').exit();
    w.event('sched:sched_process_fork', { parent_comm: this.task.comm, parent_pid: this.task.pid, child_comm: child.comm, child_pid: child.pid });
    w.enter('wake_up_new_task').call('_raw_spin_lock_irqsave').call('activate_task');
    w.event('sched:sched_wakeup_new', { comm: child.comm, pid: child.pid, prio: 120, target_cpu: cpu }).call('_raw_spin_unlock_irqrestore').exit();
    w.exit().call('exit_to_user_mode_prepare').exit();
    w.enter('do_syscall_64').enter('kernel_wait4').enter('do_wait');
    const waker = this.m.onlineCpus().find((c) => c !== cpu) ?? cpu;
    // do_exit(): the child is released and its parent woken (do_notify_parent() → __wake_up_parent())
    const exit = () => {
      const x = new Workload().task(child.pid, child.comm).enter('do_exit').call('release_task');
      x.event('sched:sched_process_exit', { comm: child.comm, pid: child.pid, prio: 120 });
      x.enter('__wake_up').enter('__wake_up_common');
      wakeUp(x, this.task, cpu);
      return x.exit().exit().exit();
    };
    await this.block(cpu, w, 3, async () => this.run(waker, exit()));
  }

  // The shell blocks inside the `depth` frames `w` entered: it schedules away to the idle task,
  // `meanwhile` runs (and wakes the shell), and the shell is switched back in, to return out of
  // schedule() and those frames (its own shadow stack kept them meanwhile).
  private async block(cpu: number, w: Workload, depth: number, meanwhile: () => Promise<void>): Promise<void> {
    const idle = idleTask(cpu);
    this.sleeping = true;
    try {
      await this.run(cpu, contextSwitch(w, this.task, idle, 'schedule', TASK_INTERRUPTIBLE));
      await meanwhile();
    } finally {
      this.sleeping = false;
    }
    const back = contextSwitch(new Workload().task(idle.pid, idle.comm), idle, this.task, 'schedule_idle', 0);
    for (let i = 0; i < depth; i++) back.exit();
    await this.run(cpu, back);
  }

  // The shell goes to sleep for ms: nanosleep(2) arms an hrtimer and blocks; the timer's interrupt on
  // this CPU wakes it (hrtimer_wakeup() → wake_up_process()) once the time has passed.
  async sleep(ms: number, signal: AbortSignal): Promise<void> {
    const cpu = this.shellCpu();
    if (cpu === undefined) return abortableDelay(ms, signal);
    const w = new Workload().task(this.task.pid, this.task.comm);
    w.enter('do_syscall_64').enter('hrtimer_nanosleep').enter('do_nanosleep').call('hrtimer_start_range_ns');
    await this.block(cpu, w, 3, async () => {
      await abortableDelay(ms, signal);
      const idle = idleTask(cpu);
      const wake = new Workload().task(idle.pid, idle.comm).context('irq').enter('sysvec_apic_timer_interrupt').enter('hrtimer_interrupt').enter('__hrtimer_run_queues').enter('wake_up_process');
      wakeUp(wake, this.task, cpu);
      await this.run(cpu, wake.exit().exit().exit().exit().context('normal'));
    });
  }

  // The living kernel's clock runs from the script's start to its end.
  start(): void {
    this.clock.start();
  }

  stop(): Promise<void> {
    return this.clock.stop();
  }
}
