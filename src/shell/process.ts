// The processes of the living kernel: what a real kernel does for a shell's commands. The shell forks
// (kernel_clone() in the parent's context), the child execs an external command (do_execve() ...,
// where the comm becomes the command's name), runs it (its system calls in its own context), exits
// (do_exit()) and the parent reaps it (kernel_wait4()). A subshell is a forked child that runs shell
// code and never execs. Every traced function runs in the context of the task that calls it, so
// set_ftrace_pid, set_ftrace_notrace_pid, set_event_pid and the fork options see the pids a kernel
// would.
//
// Which task a piece of the script runs as: the shell keeps the pid of the task in a shell variable
// that subshells inherit and do not hand back (TASK_VAR); concurrent work (an `&` job, an external
// command) runs in an async context of its own whose task file accesses are charged to.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { RingMachine } from '../api.ts';
import { Workload } from '../machine/workload.ts';
import { callTree } from '../ftrace/kernel-text.ts';
import { schedProcessExitProbes, schedProcessForkProbes } from '../tracefs/option-files.ts';
import type { Task } from './activity.ts';

// The shell variable holding the pid of the task the shell code runs as.
export const TASK_VAR = '__task';

// PID_MAX_DEFAULT: alloc_pid() wraps to RESERVED_PIDS (300) past it
const PID_MAX = 0x8000;
const RESERVED_PIDS = 300;
// TASK_COMM_LEN - 1: __set_task_comm() keeps the first 15 bytes of the name
const COMM_MAX = 15;
// the nice 0 task's prio, what sched_process_* events print
const DEFAULT_PRIO = 120;

interface Proc extends Task {
  parent: number;
  zombie: boolean;
  // a child the parent waits for before its own next step (a subshell, not an `&` job)
  sync: boolean;
  children: Proc[];
}

// Kernel work on the CPU the shell runs on, tolerant of a CPU that is gone or busy (activity.ts)
export type RunKernel = (w: Workload) => Promise<void>;

// The task an async context (the script, an `&` job, an external command) runs as.
interface Thread {
  current: Task;
}

export class Processes {
  private lastPid: number;
  private readonly procs = new Map<number, Proc>();
  private readonly thread = new AsyncLocalStorage<Thread>();
  private readonly main: Thread;
  private readonly shellPid: number;

  constructor(
    private readonly m: RingMachine,
    private readonly runKernel: RunKernel,
    shell: Task,
  ) {
    this.shellPid = shell.pid;
    this.lastPid = shell.pid;
    const root: Proc = { ...shell, parent: 1, zombie: false, sync: false, children: [] };
    this.procs.set(shell.pid, root);
    this.main = { current: root };
  }

  // The task shell code runs as: the one in TASK_VAR, else the shell itself
  taskOf(env: Map<string, string>): number {
    const pid = Number(env.get(TASK_VAR));
    return this.procs.has(pid) ? pid : this.shellPid;
  }

  // The task the calling code runs as (current).
  current(): Task {
    return (this.thread.getStore() ?? this.main).current;
  }

  // Shell code of this async context runs as `pid` from here on (a hook that knows its task).
  enter(pid: number): void {
    (this.thread.getStore() ?? this.main).current = this.proc(pid);
  }

  // Runs fn in an async context of its own as `pid`.
  runAs<T>(pid: number, fn: () => Promise<T>): Promise<T> {
    return this.thread.run({ current: this.proc(pid) }, fn);
  }

  private proc(pid: number): Proc {
    return this.procs.get(pid) ?? this.procs.get(this.main.current.pid)!;
  }

  // alloc_pid(): the next free pid after the last one given, wrapping past pid_max
  private allocPid(): number {
    for (;;) {
      this.lastPid = this.lastPid + 1 >= PID_MAX ? RESERVED_PIDS : this.lastPid + 1;
      if (!this.procs.has(this.lastPid)) return this.lastPid;
    }
  }

  // The task `pid` goes on: a subshell it waited for has ended by now (it ran in its place), and an
  // `&` job that ended meanwhile is reaped as bash's SIGCHLD handler would.
  async settle(pid: number): Promise<void> {
    const p = this.procs.get(pid);
    if (!p) return;
    for (const c of [...p.children]) {
      if (c.sync && !c.zombie) {
        await this.settle(c.pid);
        await this.exit(c.pid);
      }
      if (c.zombie) await this.reap(pid, c.pid);
    }
  }

  // fork(2) by `parent`: kernel_clone() in its context; the child starts as a copy (same comm). A
  // subshell or a command has the parent wait for it: it blocks in wait4(2) before the child runs; a
  // subshell is reaped when the parent goes on (settle), a command by spawn(); a job by `wait` or settle.
  async fork(parentPid: number, kind: 'subshell' | 'command' | 'job'): Promise<Task> {
    await this.settle(parentPid);
    const parent = this.proc(parentPid);
    const child: Proc = { pid: this.allocPid(), comm: parent.comm, parent: parent.pid, zombie: false, sync: kind === 'subshell', children: [] };
    this.procs.set(child.pid, child);
    parent.children.push(child);
    // kernel_clone(): copy_process(), trace_sched_process_fork(), wake_up_new_task()
    await this.runKernel(
      this.syscall(parent, '__do_sys_clone', (w) =>
        w
          .enter('kernel_clone')
          .callGraph(callTree('copy_process'))
          .event('sched:sched_process_fork', { parent_comm: parent.comm, parent_pid: parent.pid, child_comm: child.comm, child_pid: child.pid })
          .callGraph(callTree('wake_up_new_task'))
          .event('sched:sched_wakeup_new', { comm: child.comm, pid: child.pid, prio: DEFAULT_PRIO, target_cpu: 0 })
          .exit(),
      ),
    );
    // the sched_process_fork probes of function-fork and event-fork
    await schedProcessForkProbes(this.m, parent.pid, child.pid);
    // bash waits: wait4(2) finds no zombie yet and schedules away (do_wait() -> schedule())
    if (kind !== 'job') {
      await this.runKernel(
        this.syscall(parent, '__do_sys_wait4', (w) =>
          w.enter('kernel_wait4').enter('do_wait').call('add_wait_queue').enter('__do_wait').call('_raw_read_lock').enter('do_wait_thread').call('wait_consider_task').exit().call('_raw_read_unlock').exit().callGraph(callTree('schedule')).exit().exit(),
        ),
      );
    }
    // the child's first steps: ret_from_fork() back to user space
    await this.runKernel(new Workload().task(child.pid, child.comm).callGraph(callTree('ret_from_fork')));
    return child;
  }

  // execve(2) of `comm` by the task: the comm changes in begin_new_exec()
  async exec(pid: number, name: string): Promise<void> {
    const p = this.proc(pid);
    const comm = name.replace(/^.*\//, '').slice(0, COMM_MAX);
    const oldComm = p.comm;
    p.comm = comm;
    await this.runKernel(
      this.syscall({ pid, comm: oldComm }, '__x64_sys_execve', (w) => {
        w.call('getname_flags').enter('do_execve').enter('do_execveat_common');
        w.callGraph(['alloc_bprm', 'copy_string_kernel', 'copy_strings'].map((f) => callTree(f)));
        w.enter('bprm_execve').callGraph([callTree('prepare_bprm_creds'), callTree('sched_exec')]);
        w.enter('exec_binprm').enter('search_binary_handler').call('_raw_read_lock').call('_raw_read_unlock');
        w.enter('load_elf_binary').enter('begin_new_exec').callGraph(callTree('exec_mmap'));
        w.enter('__set_task_comm').call('_raw_spin_lock').task(pid, comm).call('_raw_spin_unlock').exit().exit();
        w.callGraph(['setup_new_exec', 'setup_arg_pages', 'start_thread'].map((f) => callTree(f))).exit();
        w.exit().event('sched:sched_process_exec', { filename: `/usr/bin/${comm}`, pid, old_pid: pid }).exit();
        w.exit().exit().exit();
      }),
    );
  }

  // exit_group(2): do_exit() in the task's context; it stays a zombie until its parent reaps it.
  async exit(pid: number): Promise<void> {
    const p = this.procs.get(pid);
    if (!p || p.zombie || pid === this.shellPid) return;
    await this.settle(pid);
    await this.runKernel(
      this.syscall(p, '__x64_sys_exit_group', (w) => {
        w.enter('do_group_exit').enter('do_exit').callGraph(['exit_signals', 'exit_mm'].map((f) => callTree(f)));
        w.event('sched:sched_process_exit', { comm: p.comm, pid, prio: DEFAULT_PRIO });
        w.callGraph(['exit_files', 'exit_fs', 'exit_task_namespaces', 'exit_notify', 'do_task_dead'].map((f) => callTree(f)));
        w.exit().exit();
      }, false),
    );
    // the sched_process_exit probes of function-fork and event-fork
    await schedProcessExitProbes(this.m, pid);
    p.zombie = true;
  }

  // wait4(2) by the parent, woken by the child's exit: the zombie child is released.
  async reap(parentPid: number, childPid: number): Promise<void> {
    const parent = this.procs.get(parentPid);
    const child = this.procs.get(childPid);
    if (!parent || !child) return;
    if (!child.zombie) await this.exit(childPid);
    await this.runKernel(this.syscall(parent, '__do_sys_wait4', (w) => w.callGraph(callTree('kernel_wait4'))));
    parent.children = parent.children.filter((c) => c !== child);
    this.procs.delete(childPid);
  }

  // An external command run by `parent`: fork, exec, the command in the child's context, exit, wait.
  async spawn<T>(parentPid: number, name: string, run: () => Promise<T>): Promise<T> {
    const child = await this.fork(parentPid, 'command');
    await this.exec(child.pid, name);
    try {
      return await this.runAs(child.pid, run);
    } finally {
      await this.exit(child.pid);
      await this.reap(parentPid, child.pid);
    }
  }

  // The script has ended: every task it left exits and is reaped, down to the shell.
  async finish(): Promise<void> {
    await this.settle(this.shellPid);
    const shell = this.procs.get(this.shellPid)!;
    for (const c of [...shell.children]) await this.reap(shell.pid, c.pid);
  }

  // A system call of the task: do_syscall_64() -> the syscall's function, then the way back out to
  // user space (which exit_group(2) never takes)
  private syscall(task: Task, fn: string, body: (w: Workload) => void, returns = true): Workload {
    const w = new Workload().task(task.pid, task.comm).enter('do_syscall_64').enter(fn);
    body(w);
    w.exit();
    if (returns) w.callGraph(callTree('syscall_exit_to_user_mode'));
    return w.exit();
  }
}
