// The scheduler and the clock of the living kernel (activity.ts): context switches through
// schedule() → __schedule() with the runqueue lock and the sched_switch event, wake-ups through
// try_to_wake_up() with sched_waking / sched_wakeup, and the local timer interrupt that keeps every
// online CPU ticking at HZ while a script runs — between its commands as well as during `sleep` —
// with its softirqs (timers, RCU) and, now and then, a kworker woken on each CPU.
//
// The clock does bounded work: a round every ROUND_MS of real time runs the ticks due since the last
// one on each online CPU (at most MAX_TICKS_PER_ROUND: a busy host drops ticks rather than falling
// behind). All runs on one CPU go through CpuQueue, so the clock never makes a script's kcall or the
// shell's own system calls fail with EBUSY; and it holds off while the shell writes a kernel file
// (a trace_marker write, a resize or a hotplug runs work on the CPUs, which a round would keep busy).
import type { RingMachine } from '../api.ts';
import { Workload } from '../machine/workload.ts';
import { RingtraceError } from '../errors.ts';

// CONFIG_HZ of the emulated kernel
export const HZ = 250;
const ROUND_MS = 20;
const MAX_TICKS_PER_ROUND = 5;
// one round in KWORKER_EVERY wakes each CPU's kworker (the timer softirq queues work)
const KWORKER_EVERY = 4;

export interface Task {
  pid: number;
  comm: string;
}

export const idleTask = (cpu: number): Task => ({ pid: 0, comm: `swapper/${cpu}` });
const kworker = (cpu: number): Task => ({ pid: 20 + 6 * cpu, comm: `kworker/${cpu}:1` });

// task->prio of a SCHED_NORMAL task at nice 0 (MAX_RT_PRIO + NICE_WIDTH / 2), what the events print
const DEFAULT_PRIO = 120;
// prev_state as __trace_sched_switch_state() reports it: running (preempted or yielding), an
// interruptible sleep, and an idle kworker (TASK_IDLE reads as TASK_REPORT_IDLE)
export const TASK_RUNNING = 0;
export const TASK_INTERRUPTIBLE = 0x1;
const TASK_REPORT_IDLE = 0x80;

// Runs on one CPU one after another, whoever asks: the machine runs one workload per CPU at a time.
export class CpuQueue {
  private readonly tails = new Map<number, Promise<unknown>>();

  constructor(private readonly m: RingMachine) {}

  // fn once every earlier run on this CPU has finished
  exclusive<T>(cpu: number, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(cpu) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    this.tails.set(cpu, next.catch(() => undefined));
    return next;
  }

  // The living kernel's own work: skipped on a CPU that crashed, went offline, or runs another
  // workload (a script's `&` job's kcall), and after the machine closed.
  background(cpu: number, w: Workload): Promise<void> {
    return this.exclusive(cpu, async () => {
      if (!this.m.onlineCpus().includes(cpu) || this.m.machine.cpuCrashed(cpu)) return;
      try {
        await this.m.run(cpu, w);
      } catch (err) {
        if (!(err instanceof RingtraceError && (err.code === 'EBUSY' || err.code === 'ENODEV'))) throw err;
      }
    });
  }
}

// try_to_wake_up(p): p's pi_lock, sched_waking, the runqueue choice, enqueueing through
// ttwu_do_activate() with the preemption check, and sched_wakeup (ttwu_do_wakeup())
export function wakeUp(w: Workload, p: Task, targetCpu: number): Workload {
  const values = { comm: p.comm, pid: p.pid, prio: DEFAULT_PRIO, target_cpu: targetCpu };
  w.enter('try_to_wake_up').call('_raw_spin_lock_irqsave').event('sched:sched_waking', values).call('select_task_rq_fair');
  w.enter('ttwu_do_activate').enter('activate_task').call('enqueue_task_fair').exit();
  w.enter('check_preempt_curr').call('resched_curr').exit();
  w.event('sched:sched_wakeup', values).exit();
  return w.call('_raw_spin_unlock_irqrestore').exit();
}

// __schedule() from `entry` (schedule() for a task that blocks or yields, schedule_idle() for the
// idle task): the runqueue lock, prev dequeued if it sleeps, the next task picked, sched_switch, and
// context_switch(); the rest runs as next, which returns through finish_task_switch() (the runqueue
// unlock) out of the __schedule() it once called itself.
export function contextSwitch(w: Workload, prev: Task, next: Task, entry: 'schedule' | 'schedule_idle', prevState: number): Workload {
  w.enter(entry).enter('__schedule').call('rcu_note_context_switch').call('_raw_spin_lock').call('sched_clock_cpu');
  if (prevState !== TASK_RUNNING) w.enter('deactivate_task').call('dequeue_task_fair').exit();
  w.enter('pick_next_task_fair').call('put_prev_task_fair').call('set_next_entity').exit();
  w.event('sched:sched_switch', {
    prev_comm: prev.comm,
    prev_pid: prev.pid,
    prev_prio: DEFAULT_PRIO,
    prev_state: prevState,
    next_comm: next.comm,
    next_pid: next.pid,
    next_prio: DEFAULT_PRIO,
  });
  w.enter('context_switch').call('switch_mm_irqs_off').call('__switch_to');
  w.task(next.pid, next.comm);
  w.enter('finish_task_switch').call('_raw_spin_unlock_irq').exit();
  return w.exit().exit().exit();
}

// The local APIC timer interrupt, in hard-irq context: hrtimer_interrupt() runs tick_sched_timer(),
// whose update_process_times() takes the scheduler tick (scheduler_tick() under the runqueue lock);
// irq_exit_rcu() runs the softirqs it raised (the timer wheel, RCU's callbacks), in softirq context.
// With a kworker, the timer softirq's delayed work wakes it on this CPU.
export function timerTick(w: Workload, cpu: number, wake?: Task): Workload {
  w.context('irq').enter('sysvec_apic_timer_interrupt').call('irq_enter_rcu');
  w.enter('hrtimer_interrupt').call('_raw_spin_lock_irqsave').enter('__hrtimer_run_queues');
  w.enter('tick_sched_timer').call('ktime_get').enter('tick_sched_handle').enter('update_process_times');
  w.enter('scheduler_tick').call('_raw_spin_lock').enter('task_tick_fair').call('update_curr').exit().call('_raw_spin_unlock').exit();
  w.call('raise_softirq').exit().exit().exit();
  w.exit().call('_raw_spin_unlock_irqrestore').exit();
  w.enter('irq_exit_rcu').context('softirq').enter('__do_softirq');
  w.enter('run_timer_softirq').enter('__run_timers');
  if (wake) {
    w.enter('call_timer_fn').enter('__queue_work');
    wakeUp(w, wake, cpu);
    w.exit().exit();
  }
  w.exit().exit();
  w.enter('rcu_core').call('rcu_qs').exit();
  w.exit().context('irq').exit();
  return w.exit().context('normal');
}

// A woken kworker's turn on an idle CPU: the idle loop schedules it in, it runs a work item (the RCU
// kfree monitor) in worker_thread()'s loop (entered on its first run) and sleeps in schedule() again,
// and the idle task comes back.
function kworkerRun(w: Workload, cpu: number, first: boolean): Workload {
  const idle = idleTask(cpu);
  const kw = kworker(cpu);
  contextSwitch(w, idle, kw, 'schedule_idle', TASK_RUNNING);
  if (first) w.enter('worker_thread');
  w.enter('process_one_work').enter('kfree_rcu_monitor').call('_raw_spin_lock').call('_raw_spin_unlock').exit().exit();
  return contextSwitch(w, kw, idle, 'schedule', TASK_REPORT_IDLE);
}

// The clock: from start() to stop(), every online CPU ticks; `current(cpu)` is the task a tick
// interrupts (the shell on its CPU while it runs, else the idle task, which may run a kworker).
export class KernelClock {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private round: Promise<void> = Promise.resolve();
  private last = 0;
  private rounds = 0;
  private readonly ticks = new Map<number, number>(); // per CPU, for /proc/interrupts
  private readonly kworkers = new Set<number>(); // CPUs whose kworker has run (is inside worker_thread())
  private holds = 0;

  constructor(
    private readonly m: RingMachine,
    private readonly cpus: CpuQueue,
    private readonly current: (cpu: number) => Task,
  ) {}

  start(): void {
    if (this.timer) return;
    this.last = Date.now();
    this.arm();
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.round;
  }

  // fn with no round running meanwhile (the ticks due then come in the next round)
  async hold<T>(fn: () => Promise<T>): Promise<T> {
    this.holds++;
    try {
      await this.round;
      return await fn();
    } finally {
      this.holds--;
    }
  }

  // Local timer interrupts taken by a CPU (arch_show_interrupts()'s LOC row)
  localTimerInterrupts(cpu: number): number {
    return this.ticks.get(cpu) ?? 0;
  }

  private arm(): void {
    this.timer = setTimeout(() => {
      this.round = this.tick().finally(() => {
        if (this.timer) this.arm();
      });
    }, ROUND_MS);
    // the clock never keeps the process alive by itself
    (this.timer as { unref?: () => void }).unref?.();
  }

  private async tick(): Promise<void> {
    const now = Date.now();
    const due = Math.min(MAX_TICKS_PER_ROUND, Math.floor(((now - this.last) * HZ) / 1000));
    if (due === 0 || this.holds > 0) return;
    this.last = now;
    const withKworker = this.rounds++ % KWORKER_EVERY === 0;
    await Promise.all(
      this.m.onlineCpus().map((cpu) => {
        const task = this.current(cpu);
        const idle = task.pid === 0;
        const w = new Workload().task(task.pid, task.comm);
        for (let i = 0; i < due; i++) timerTick(w, cpu, idle && withKworker && i === due - 1 ? kworker(cpu) : undefined);
        if (idle && withKworker) {
          kworkerRun(w, cpu, !this.kworkers.has(cpu));
          this.kworkers.add(cpu);
        }
        this.ticks.set(cpu, this.localTimerInterrupts(cpu) + due);
        return this.cpus.background(cpu, w);
      }),
    );
  }
}
