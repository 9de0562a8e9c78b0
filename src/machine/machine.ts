// The emulated machine: the shared memory, one worker per online CPU, their mailboxes, IPIs
// (on_each_cpu), grace periods (synchronize_rcu) and the machine log.
import { Mem, fixedLayout, abi } from '../layout.ts';
import { Arena } from './alloc.ts';
import { compileRingtrace, instantiateRingtrace, guardTraps, type RingExports } from './wasm.ts';
import { spawnCpuThread, type Thread } from './platform.ts';
import { RingtraceError } from '../errors.ts';
import { formatLogRecord } from './log.ts';
import { claimWriter, releaseWriter } from './writer-claim.ts';

const {
  LAYOUT_BASE, H_MAGIC, H_NR_CPU_IDS, H_SYSTEM_STATE, H_MEMORY_MODEL, H_VIRTUAL_STEP, H_CPU_TABLE, H_LOG,
  H_EPOCH_MS, H_ONLINE_MASK, H_TB_LIST, TBL_COUNT, TBL_ENTRIES, TBL_MAX, MACHINE_MAGIC, SYSTEM_RUNNING, SYSTEM_BOOTING, MEMORY_MODEL_TSO, MEMORY_MODEL_WEAK,
  CPU_DESC_SIZE, CPU_DOORBELL, CPU_SLEEPING, CPU_WORK_SEQ, CPU_WORK_ACK, CPU_WORK_CMD, CPU_WORK_ARG0, CPU_WORK_RESULT,
  CPU_IPI_SEQ, CPU_IPI_ACK, CPU_IPI_FUNC, CPU_ATTENTION, CPU_STATE, CPU_VCLOCK, ATTN_IPI, ATTN_STOP,
  CPU_PUBLISH_SEQ, CPU_IN_SESSION, ATTN_PUBLISH, ATTN_PUBLISH_WAKE,
  CPU_STATE_ONLINE, CPU_STATE_OFFLINE, CPU_STATE_CRASHED, CMD_RUN, CMD_JS, CMD_EXIT, IPI_QUIESCE, LOG_HEAD, LOG_DATA, LOG_RECORD,
  LOG_RECORDS, WRITER_WORKLOAD,
} = abi;

export type MemoryModel = 'tso' | 'weak';

// How long Machine.publish() waits for a CPU to answer a publication request. A CPU answers at its next
// commit or quiescent point, a few microseconds away unless it sits inside an open event; past the
// bound the reader goes on with what is published, as the kernel's readers do.
const PUBLISH_WAIT_MS = 50;

// How long an IPI round polls the acknowledgements before it waits asynchronously: on_each_cpu(wait=1)
// spins until every CPU answered (csd_lock_wait()), and a CPU polling its doorbell answers within a few
// microseconds, while a host put to sleep and woken through its event loop (Atomics.waitAsync) takes
// tens of microseconds on a virtual machine. A CPU that does not answer by then (busy inside a
// workload, or asleep) is waited for without blocking the event loop.
const IPI_POLL_MS = 0.05;

export interface MachineConfig {
  cpus: number;
  online: number[];
  memoryModel: MemoryModel;
  virtualStepNs: number;
}

interface CpuSlot {
  cpu: number;
  desc: number;
  thread?: Thread;
  busy: boolean; // a work item is in flight
  goingDown?: boolean; // cpuDown() is waiting for its work to stop: it takes no more
  work?: Promise<unknown>; // that work item
  jsWaiters: Map<number, { resolve(v: unknown): void; reject(e: Error): void }>;
}

export class Machine {
  readonly mem: Mem;
  readonly arena: Arena;
  readonly exports: RingExports; // the host's own instance: readers and control
  readonly nrCpuIds: number;
  readonly memoryModel: MemoryModel;
  readonly epochMs: number;
  private readonly slots: CpuSlot[] = [];
  private nextJsId = 1;
  private closed = false;
  private logRead = 0;
  private readonly logLines: string[] = [];
  private ipiChain: Promise<void> = Promise.resolve();
  private readonly tbList: number;

  private constructor(
    readonly module: WebAssembly.Module,
    readonly memory: WebAssembly.Memory,
    config: MachineConfig,
  ) {
    this.nrCpuIds = config.cpus;
    this.memoryModel = config.memoryModel;
    this.mem = new Mem(memory);
    const fixed = fixedLayout(config.cpus);
    this.arena = new Arena(this.mem, fixed.arena);
    this.epochMs = performance.timeOrigin + performance.now();
    const h = LAYOUT_BASE;
    this.mem.store32(h + H_MAGIC, MACHINE_MAGIC);
    this.mem.store32(h + H_NR_CPU_IDS, config.cpus);
    this.mem.store32(h + H_SYSTEM_STATE, SYSTEM_BOOTING);
    this.mem.store32(h + H_MEMORY_MODEL, config.memoryModel === 'weak' ? MEMORY_MODEL_WEAK : MEMORY_MODEL_TSO);
    this.mem.store32(h + H_VIRTUAL_STEP, config.virtualStepNs);
    this.mem.store32(h + H_CPU_TABLE, fixed.cpuTable);
    this.mem.store32(h + H_LOG, fixed.log);
    this.mem.store32(h + H_TB_LIST, fixed.tbList);
    this.tbList = fixed.tbList;
    this.mem.f64[(h + H_EPOCH_MS) >> 3] = this.epochMs;
    for (let cpu = 0; cpu < config.cpus; cpu++) {
      this.slots.push({ cpu, desc: fixed.cpuTable + cpu * CPU_DESC_SIZE, busy: false, jsWaiters: new Map() });
    }
    this.exports = guardTraps(instantiateRingtrace(module, memory, this.epochMs));
    // the host never waits on a CPU's writer (see rbReaderWait)
    this.exports.rbReaderWait(0);
  }

  static async boot(config: MachineConfig): Promise<Machine> {
    const module = await compileRingtrace();
    const memory = new WebAssembly.Memory({ initial: 64, maximum: abi.MAX_MEMORY_PAGES, shared: true });
    return new Machine(module, memory, config);
  }

  // Start the workers of the CPUs online at boot; then the system is running.
  async start(online: number[]): Promise<void> {
    await Promise.all(online.map((cpu) => this.startCpu(cpu)));
    this.mem.store32(LAYOUT_BASE + H_SYSTEM_STATE, SYSTEM_RUNNING);
  }

  get systemRunning(): boolean {
    return this.mem.load32(LAYOUT_BASE + H_SYSTEM_STATE) === SYSTEM_RUNNING;
  }

  cpuDesc(cpu: number): number {
    return this.slot(cpu).desc;
  }

  private slot(cpu: number): CpuSlot {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.nrCpuIds) {
      throw new RingtraceError('EINVAL', `CPU ${cpu} does not exist (possible CPUs: 0-${this.nrCpuIds - 1})`);
    }
    return this.slots[cpu];
  }

  // Every call that needs the CPUs fails once the machine is closed; nothing starts again.
  checkOpen(): void {
    if (this.closed) throw new RingtraceError('ENODEV', 'the machine is closed');
  }

  isOnline(cpu: number): boolean {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.nrCpuIds) return false;
    return (this.mem.loadU32(LAYOUT_BASE + H_ONLINE_MASK + ((cpu >> 5) << 2)) & (1 << (cpu & 31))) !== 0;
  }

  onlineCpus(): number[] {
    const out: number[] = [];
    for (let cpu = 0; cpu < this.nrCpuIds; cpu++) if (this.isOnline(cpu)) out.push(cpu);
    return out;
  }

  private setOnline(cpu: number, on: boolean): void {
    const addr = LAYOUT_BASE + H_ONLINE_MASK + ((cpu >> 5) << 2);
    if (on) Atomics.or(this.mem.i32, addr >> 2, 1 << (cpu & 31));
    else Atomics.and(this.mem.i32, addr >> 2, ~(1 << (cpu & 31)));
  }

  // Bring a CPU online: the first time its worker starts, later the parked worker is woken.
  async cpuUp(cpu: number, firstTime: boolean): Promise<void> {
    this.checkOpen();
    const slot = this.slot(cpu);
    if (firstTime || !slot.thread) {
      await this.startCpu(cpu);
      return;
    }
    this.mem.store32(slot.desc + CPU_STATE, CPU_STATE_ONLINE);
    this.setOnline(cpu, true);
    this.ring(slot.desc);
  }

  // Take a CPU offline: it takes no more work, its running workload is stopped, and only once it has
  // stopped writing does it leave cpu_online_mask (no more IPIs): a grace period that starts meanwhile
  // still waits for it, so no host change lands under its writes. Its worker parks in the idle loop;
  // buffers and data stay.
  async cpuDown(cpu: number): Promise<void> {
    this.checkOpen();
    const slot = this.slot(cpu);
    slot.goingDown = true;
    try {
      if (slot.busy) {
        this.stop(cpu);
        await slot.work;
      }
    } finally {
      slot.goingDown = false;
    }
    this.setOnline(cpu, false);
    if (this.mem.load32(slot.desc + CPU_STATE) !== CPU_STATE_CRASHED) this.mem.store32(slot.desc + CPU_STATE, CPU_STATE_OFFLINE);
  }

  cpuCrashed(cpu: number): boolean {
    return this.mem.load32(this.slot(cpu).desc + CPU_STATE) === CPU_STATE_CRASHED;
  }

  private async startCpu(cpu: number): Promise<void> {
    this.checkOpen();
    const slot = this.slot(cpu);
    const thread = await spawnCpuThread();
    if (this.closed) {
      // closed while the thread was starting: nothing may outlive close()
      await thread.terminate();
      this.checkOpen();
    }
    slot.thread = thread;
    const ready = new Promise<void>((resolve, reject) => {
      thread.onMessage((msg) => {
        if (msg.type === 'ready') resolve();
        else if (msg.type === 'js-done') {
          const waiter = slot.jsWaiters.get(msg.id);
          slot.jsWaiters.delete(msg.id);
          if (msg.error) waiter?.reject(new Error(msg.error));
          else waiter?.resolve(msg.result);
        }
      });
      thread.onError((err) => {
        reject(err);
        for (const w of slot.jsWaiters.values()) w.reject(err);
        slot.jsWaiters.clear();
      });
    });
    thread.post({ type: 'init', module: this.module, memory: this.memory, cpu, desc: slot.desc, epochMs: this.epochMs });
    await ready;
    this.mem.store32(slot.desc + CPU_STATE, CPU_STATE_ONLINE);
    this.setOnline(cpu, true);
  }

  // Post a work item into a CPU's mailbox and wait for its acknowledgement (Atomics.waitAsync).
  private post(cpu: number, cmd: number, arg0 = 0): Promise<number> {
    if (this.closed) return Promise.reject(new RingtraceError('ENODEV', 'the machine is closed'));
    const slot = this.slot(cpu);
    if (!this.isOnline(cpu) || !slot.thread || slot.goingDown) return Promise.reject(new RingtraceError('ENODEV', `CPU ${cpu} is offline`));
    if (this.mem.load32(slot.desc + CPU_STATE) === CPU_STATE_CRASHED) {
      return Promise.reject(new RingtraceError('EFAULT', `CPU ${cpu} crashed (see dmesg) and runs no more work`));
    }
    if (slot.busy) return Promise.reject(new RingtraceError('EBUSY', `CPU ${cpu} is already running a workload`));
    slot.busy = true;
    const work = this.postNow(slot, cmd, arg0);
    slot.work = work.catch(() => undefined);
    return work;
  }

  private async postNow(slot: CpuSlot, cmd: number, arg0: number, failOnClose = true): Promise<number> {
    try {
      const d = slot.desc;
      this.mem.store32(d + CPU_WORK_CMD, cmd);
      this.mem.store32(d + CPU_WORK_ARG0, arg0);
      const seq = (this.mem.load32(d + CPU_WORK_SEQ) + 1) | 0;
      this.mem.store32(d + CPU_WORK_SEQ, seq);
      this.ring(d);
      await this.waitWord(d + CPU_WORK_ACK, seq, failOnClose);
      return this.mem.load32(d + CPU_WORK_RESULT);
    } finally {
      slot.busy = false;
      this.drainLog();
    }
  }

  // A notify takes the engine's global futex lock (which a descheduled worker may hold): only a
  // sleeping CPU needs one; a polling or working CPU sees the doorbell move by itself.
  private ring(desc: number): void {
    this.mem.add32(desc + CPU_DOORBELL, 1);
    if (this.mem.load32(desc + CPU_SLEEPING)) this.mem.notify(desc + CPU_DOORBELL);
  }

  // Wait without spinning until the word at addr becomes `target` (it starts at `current`).
  // close() wakes every such wait, which then fails: nothing is left pending to keep the process alive.
  // (close()'s own request, CMD_EXIT, is the one wait that goes on)
  private async waitWord(addr: number, target: number, failOnClose = true): Promise<void> {
    for (;;) {
      if (failOnClose) this.checkOpen();
      const now = this.mem.load32(addr);
      if (now === target) return;
      const r = Atomics.waitAsync(this.mem.i32, addr >> 2, now);
      if (r.async) {
        this.waiting.add(addr);
        await r.value;
      }
    }
  }

  private readonly waiting = new Set<number>(); // the words the host waits on, for close()

  // The CPU's publication sequence (bumped at every publish): what publish() waits to see move.
  publishSeq(cpu: number): number {
    return this.mem.load32(this.slot(cpu).desc + CPU_PUBLISH_SEQ);
  }

  // Wait, without blocking the event loop and at most PUBLISH_WAIT_MS, until `cpu` has published since
  // its sequence read `seq` (the request went out after that read), or is not writing at all. The CPU
  // is asked to wake this waiter; if it publishes first, the wait sees the new sequence at once.
  async publishedSince(cpu: number, seq: number): Promise<void> {
    const d = this.slot(cpu).desc;
    this.mem.or32(d + CPU_ATTENTION, ATTN_PUBLISH | ATTN_PUBLISH_WAKE);
    const deadline = performance.now() + PUBLISH_WAIT_MS;
    for (;;) {
      if (this.closed || this.mem.load32(d + CPU_PUBLISH_SEQ) !== seq || this.mem.load32(d + CPU_IN_SESSION) === 0) return;
      const left = deadline - performance.now();
      if (left <= 0) return;
      const r = Atomics.waitAsync(this.mem.i32, (d + CPU_PUBLISH_SEQ) >> 2, seq, left);
      if (r.async) {
        this.waiting.add(d + CPU_PUBLISH_SEQ);
        await r.value;
      }
    }
  }

  // Run a workload program (its address in shared memory) on a CPU; optionally stop it after ms.
  // The CPU writes into its buffers: it holds the CPU's writer claim meanwhile (one writer per CPU
  // buffer; a writer attached from a thread makes this EBUSY).
  async runProgram(cpu: number, prog: number, durationMs?: number): Promise<number> {
    const d = this.slot(cpu).desc;
    await claimWriter(this.mem, cpu, d, WRITER_WORKLOAD);
    Atomics.and(this.mem.i32, (d + CPU_ATTENTION) >> 2, ~ATTN_STOP);
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (durationMs !== undefined) timer = setTimeout(() => this.stop(cpu), durationMs);
    try {
      return await this.post(cpu, CMD_RUN, prog);
    } finally {
      if (timer) clearTimeout(timer);
      releaseWriter(this.mem, d, WRITER_WORKLOAD);
    }
  }

  // Ask a CPU's long-running workload to finish.
  stop(cpu: number): void {
    const d = this.slot(cpu).desc;
    this.mem.or32(d + CPU_ATTENTION, ATTN_STOP);
    this.ring(d);
  }

  // Run fn(ctx, ...args), exported by the module at moduleUrl, in a CPU worker's JavaScript.
  async runJs<T>(cpu: number, moduleUrl: string, fn: string, args: unknown[] = []): Promise<T> {
    this.checkOpen();
    const slot = this.slot(cpu);
    if (!this.isOnline(cpu) || !slot.thread) throw new RingtraceError('ENODEV', `CPU ${cpu} is offline`);
    const id = this.nextJsId++;
    const done = new Promise<T>((resolve, reject) => slot.jsWaiters.set(id, { resolve: resolve as (v: unknown) => void, reject }));
    slot.thread.post({ type: 'js', id, module: moduleUrl, fn, args });
    Atomics.and(this.mem.i32, (slot.desc + CPU_ATTENTION) >> 2, ~ATTN_STOP);
    await this.post(cpu, CMD_JS);
    slot.busy = true;
    slot.work = done.catch(() => undefined);
    try {
      return await done;
    } finally {
      slot.busy = false;
    }
  }

  // on_each_cpu(func, NULL, 1): an IPI to every online CPU, waiting for every acknowledgement.
  // Calls are serialised like the kernel's csd locking: one IPI in flight per CPU.
  onEachCpu(func: number): Promise<void> {
    if (this.closed) return Promise.reject(new RingtraceError('ENODEV', 'the machine is closed'));
    const run = this.ipiChain.then(() => this.ipiRound(func, this.onlineCpus()));
    this.ipiChain = run.catch(() => undefined);
    return run;
  }

  // smp_call_function_single(cpu, func, NULL, 1)
  smpCallFunctionSingle(cpu: number, func: number): Promise<void> {
    if (this.closed) return Promise.reject(new RingtraceError('ENODEV', 'the machine is closed'));
    this.slot(cpu);
    if (!this.isOnline(cpu)) return Promise.reject(new RingtraceError('ENODEV', `CPU ${cpu} is offline`));
    const run = this.ipiChain.then(() => this.ipiRound(func, [cpu]));
    this.ipiChain = run.catch(() => undefined);
    return run;
  }

  // Every CPU's request is posted before the first acknowledgement is looked at, then the
  // acknowledgements are polled for at most IPI_POLL_MS (see there): a word already acknowledged costs
  // no asynchronous wait.
  private async ipiRound(func: number, cpus: number[]): Promise<void> {
    const acks: [number, number][] = [];
    for (const cpu of cpus) {
      const d = this.slots[cpu].desc;
      const seq = (this.mem.load32(d + CPU_IPI_SEQ) + 1) | 0;
      this.mem.store32(d + CPU_IPI_FUNC, func);
      this.mem.store32(d + CPU_IPI_SEQ, seq);
      this.mem.or32(d + CPU_ATTENTION, ATTN_IPI);
      this.ring(d);
      acks.push([d + CPU_IPI_ACK, seq]);
    }
    const deadline = performance.now() + IPI_POLL_MS;
    let answered = 0;
    while (answered < acks.length && performance.now() < deadline) {
      answered = 0;
      for (const [addr, seq] of acks) if (this.mem.load32(addr) === seq) answered++;
    }
    if (answered < acks.length) await Promise.all(acks.map(([addr, seq]) => this.waitWord(addr, seq)));
  }

  // synchronize_rcu(): every online CPU passes a quiescent state (between two events)
  synchronizeRcu(): Promise<void> {
    return this.onEachCpu(IPI_QUIESCE);
  }

  // Publish a trace_buffer to the CPUs (the list readers on CPUs walk and barriers refresh views of).
  registerTraceBuffer(tb: number): void {
    const n = this.mem.load32(this.tbList + TBL_COUNT);
    if (n >= TBL_MAX) throw new RingtraceError('ENOMEM', `at most ${TBL_MAX} trace buffers`);
    this.mem.store32(this.tbList + TBL_ENTRIES + n * 4, tb);
    this.mem.store32(this.tbList + TBL_COUNT, n + 1);
  }

  // Take it off the list; the caller frees it only after a grace period (synchronizeRcu).
  unregisterTraceBuffer(tb: number): void {
    const n = this.mem.load32(this.tbList + TBL_COUNT);
    for (let i = 0; i < n; i++) {
      if (this.mem.load32(this.tbList + TBL_ENTRIES + i * 4) !== tb) continue;
      this.mem.store32(this.tbList + TBL_ENTRIES + i * 4, this.mem.load32(this.tbList + TBL_ENTRIES + (n - 1) * 4));
      this.mem.store32(this.tbList + TBL_ENTRIES + (n - 1) * 4, 0);
      this.mem.store32(this.tbList + TBL_COUNT, n - 1);
      return;
    }
  }

  virtualNow(cpu: number): bigint {
    return this.mem.loadU64(this.slot(cpu).desc + CPU_VCLOCK);
  }

  // Nanoseconds since the machine was created, on the host's clock.
  hostNowNs(): number {
    return (performance.timeOrigin + performance.now() - this.epochMs) * 1e6;
  }

  // The kernel log (dmesg), formatted from the records Wasm appends.
  dmesg(): string[] {
    this.drainLog();
    return [...this.logLines];
  }

  logLine(line: string): void {
    const ts = this.hostNowNs() / 1e9;
    this.logLines.push(`[${ts.toFixed(6).padStart(12)}] ${line}`);
  }

  private drainLog(): void {
    const log = this.mem.load32(LAYOUT_BASE + H_LOG);
    const head = this.mem.loadU32(log + LOG_HEAD);
    if (head - this.logRead > LOG_RECORDS) this.logRead = head - LOG_RECORDS;
    for (; this.logRead < head; this.logRead++) {
      const at = log + LOG_DATA + (this.logRead % LOG_RECORDS) * LOG_RECORD;
      const words = Array.from(this.mem.u32.subarray(at >> 2, (at + LOG_RECORD) >> 2));
      for (const line of formatLogRecord(words)) this.logLine(line);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const addr of this.waiting) this.mem.notify(addr);
    await Promise.all(
      this.slots.map(async (slot) => {
        if (!slot.thread) return;
        this.stop(slot.cpu);
        await slot.work;
        await this.leaveIdleLoop(slot);
        const thread = slot.thread;
        slot.thread = undefined;
        this.mem.store32(slot.desc + CPU_STATE, CPU_STATE_OFFLINE);
        await thread.terminate();
      }),
    );
    for (let cpu = 0; cpu < this.nrCpuIds; cpu++) this.setOnline(cpu, false);
  }

  // Deno's worker.terminate() does not interrupt a thread inside Wasm (the idle loop's wait): the worker
  // leaves it for its JavaScript first (CMD_EXIT), or `deno run` never ends. Bounded, for a CPU stuck
  // in Wasm, which terminate() then leaves to the process's end.
  private async leaveIdleLoop(slot: CpuSlot): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)));
    await Promise.race([this.postNow(slot, CMD_EXIT, 0, false).catch(() => undefined), bound]);
    clearTimeout(timer);
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
