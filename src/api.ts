// The public API: createMachine() and the machine it returns.
import { Machine, type MemoryModel } from './machine/machine.ts';
import { TraceBuffer, type ClockName, clockByName } from './ring/trace-buffer.ts';
import { Workload, type WorkloadResult } from './machine/workload.ts';
import { RingtraceError } from './errors.ts';
import { abi } from './layout.ts';
import { FixSet } from './fixes.ts';
import { Ftrace } from './ftrace/ftrace.ts';
import { Tracefs } from './tracefs/tracefs.ts';
import { Writer, WRITER_SCRATCH_BYTES, type MachineHandle } from './writer.ts';
import { EventLayer } from './events/events.ts';
import { instantiateRingtrace } from './machine/wasm.ts';
import { closeWriters, writerHolder } from './machine/writer-claim.ts';
import { Recorder, type TraceDatOptions } from './tracedat/record.ts';
import { writeTraceDat } from './tracedat/writer.ts';
import type { TraceDat } from './tracedat/format.ts';
import { writeFile } from 'node:fs/promises';

const { RES_SIZE, RES_WRITTEN, RES_FAILED, RES_NESTED, RES_BYTES, RES_PAGES, IPI_SYNC, EFAULT_RET, CPU_WRITER_SCRATCH,
  CPU_WRITER_SCRATCH_SIZE, WRITER_CLOSED } = abi;

export interface MachineOptions {
  cpus?: number; // possible CPUs (nr_cpu_ids), default 2
  online?: number | number[]; // CPUs online at boot: a count or a list, default all
  bufferSizeKb?: number; // per CPU, like buffer_size_kb (default 1408, the kernel's TRACE_BUF_SIZE_DEFAULT)
  subbufSize?: number; // bytes per sub-buffer, a power of two from 4096 to 524288 (default 4096)
  overwrite?: boolean; // options/overwrite (default true)
  clock?: ClockName; // trace_clock (default 'local')
  memoryModel?: MemoryModel; // 'tso' (default) or 'weak'
  virtualStepNs?: number; // how far the virtual clock advances per reading (default 1000)
  withoutFixes?: string[]; // modelled upstream fixes to leave out (commit ids, see FIXES)
}

// A CPU took an oops (an emulated NULL pointer dereference) while running a workload.
export class KernelOopsError extends RingtraceError {
  constructor(readonly cpu: number, readonly report: string[]) {
    super('EFAULT', `CPU ${cpu} oopsed: ${report.find((l) => l.startsWith('BUG:')) ?? 'kernel oops'}`);
    this.name = 'KernelOopsError';
  }
}

export const DEFAULT_BUFFER_SIZE_KB = 1408;

const OPTION_KEYS: readonly (keyof MachineOptions)[] = [
  'cpus', 'online', 'bufferSizeKb', 'subbufSize', 'overwrite', 'clock', 'memoryModel', 'virtualStepNs', 'withoutFixes',
];

// createMachine()'s options: an object of known keys with values of the right type; anything else is
// refused by name rather than ignored or left to fail as a TypeError later.
function checkOptions(opts: unknown): MachineOptions {
  if (opts === undefined) return {};
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    throw new RingtraceError('EINVAL', `createMachine() options must be an object, not ${opts === null ? 'null' : Array.isArray(opts) ? 'an array' : typeof opts}`);
  }
  const o = opts as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!(OPTION_KEYS as readonly string[]).includes(key)) throw new RingtraceError('EINVAL', `unknown option "${key}" (known: ${OPTION_KEYS.join(', ')})`);
  }
  const type = (key: keyof MachineOptions, want: string, ok: (v: unknown) => boolean) => {
    if (o[key] !== undefined && !ok(o[key])) throw new RingtraceError('EINVAL', `option ${key} must be ${want}, not ${JSON.stringify(o[key]) ?? typeof o[key]}`);
  };
  const isNumber = (v: unknown) => typeof v === 'number';
  type('cpus', 'a number', isNumber);
  type('online', 'a number or an array of CPU numbers', (v) => isNumber(v) || (Array.isArray(v) && v.every(isNumber)));
  type('bufferSizeKb', 'a number', isNumber);
  type('subbufSize', 'a number', isNumber);
  type('overwrite', 'true or false', (v) => typeof v === 'boolean');
  type('clock', 'a clock name', (v) => typeof v === 'string');
  type('memoryModel', "'tso' or 'weak'", (v) => v === 'tso' || v === 'weak');
  type('virtualStepNs', `an integer from 1 to ${0xffffffff}`, (v) => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 0xffffffff);
  type('withoutFixes', 'an array of commit ids', (v) => Array.isArray(v) && v.every((id) => typeof id === 'string'));
  return o as MachineOptions;
}

// instance_mkdir()'s name: one path component (no '/', no NUL, not . or ..) of at most NAME_MAX bytes
const NAME_MAX = 255;

function checkInstanceName(name: unknown): string {
  if (typeof name !== 'string') throw new RingtraceError('EINVAL', `an instance name must be a string, not ${typeof name}`);
  if (new TextEncoder().encode(name).length > NAME_MAX) throw new RingtraceError('ENAMETOOLONG', `instance name of ${name.length} characters is longer than ${NAME_MAX} bytes`);
  if (!/^[^/\s\0]+$/.test(name) || name === '.' || name === '..') throw new RingtraceError('EINVAL', `bad instance name "${name.replace(/\0/g, '\\0')}"`);
  return name;
}

// setTimeout's limit: a longer delay would fire at once
const MAX_DURATION_MS = 0x7fffffff;


function cpuList(opts: MachineOptions, cpus: number): number[] {
  const online = opts.online ?? cpus;
  if (typeof online === 'number') {
    if (!Number.isInteger(online) || online < 1 || online > cpus) {
      throw new RingtraceError('EINVAL', `online must be 1..${cpus} CPUs, not ${online}`);
    }
    return Array.from({ length: online }, (_, i) => i);
  }
  if (online.length === 0) throw new RingtraceError('EINVAL', 'at least one CPU must be online');
  for (const cpu of online) {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= cpus) throw new RingtraceError('EINVAL', `CPU ${cpu} does not exist (possible CPUs: 0-${cpus - 1})`);
  }
  return [...new Set(online)].sort((a, b) => a - b);
}

type BufferDefaults = Required<Pick<MachineOptions, 'bufferSizeKb' | 'subbufSize' | 'overwrite' | 'clock'>>;

export class RingMachine {
  readonly buffer: TraceBuffer; // the top-level trace_array's buffer
  readonly instances = new Map<string, TraceBuffer>(); // instances/NAME
  readonly ftrace!: Ftrace; // dynamic function tracing (created once the CPUs run)
  readonly events!: EventLayer; // trace events (kernel/trace/trace_events.c)
  private readonly everOnline = new Set<number>(); // CPUs whose worker has been started
  private readonly writers = new Set<Writer>(); // attached on this thread
  readonly fs: Tracefs = new Tracefs(this); // tracefs: /sys/kernel/tracing

  // trace_buf_size: what the machine was booted with; instance_mkdir() sizes new buffers by it
  private readonly bootSizeKb: number;

  private constructor(readonly machine: Machine, readonly fixes: FixSet, opts: BufferDefaults) {
    this.bootSizeKb = opts.bufferSizeKb;
    this.buffer = new TraceBuffer(machine, 'global', {
      sizeBytes: opts.bufferSizeKb * 1024,
      subbufSize: opts.subbufSize,
      overwrite: opts.overwrite,
      clock: opts.clock,
    });
  }

  // Every trace_buffer: the top level's and each instance's.
  traceBuffers(): TraceBuffer[] {
    return [this.buffer, ...this.instances.values()];
  }

  static async create(options?: MachineOptions): Promise<RingMachine> {
    const opts = checkOptions(options);
    const cpus = opts.cpus ?? 2;
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > abi.MAX_CPUS) {
      throw new RingtraceError('EINVAL', `cpus must be 1..${abi.MAX_CPUS}, not ${cpus}`);
    }
    const online = cpuList(opts, cpus);
    const bufferSizeKb = opts.bufferSizeKb ?? DEFAULT_BUFFER_SIZE_KB;
    if (!Number.isInteger(bufferSizeKb) || bufferSizeKb <= 0) {
      throw new RingtraceError('EINVAL', `bufferSizeKb must be a positive integer, not ${bufferSizeKb}`);
    }
    const clock = opts.clock ?? 'local';
    clockByName(clock);
    const memoryModel = opts.memoryModel ?? 'tso';
    if (memoryModel !== 'tso' && memoryModel !== 'weak') throw new RingtraceError('EINVAL', `memoryModel must be 'tso' or 'weak'`);
    const virtualStepNs = opts.virtualStepNs ?? 1000;
    const fixes = new FixSet(opts.withoutFixes);
    const machine = await Machine.boot({ cpus, online, memoryModel, virtualStepNs });
    // a machine that fails to come up leaves nothing running: its workers stop and its memory goes
    try {
      const rm = new RingMachine(machine, fixes, { bufferSizeKb, subbufSize: opts.subbufSize ?? 4096, overwrite: opts.overwrite ?? true, clock });
      // ring_buffer_alloc(): per-CPU buffers for the CPUs online at boot (trace_rb_cpu_prepare, before
      // the system is running, so without the IPI round), all checked to fit before the workers start
      rm.buffer.reserveCpuBuffers(online.length);
      for (const cpu of online) await rm.prepareCpu(rm.buffer, cpu);
      await machine.start(online);
      for (const cpu of online) rm.everOnline.add(cpu);
      (rm as { ftrace: Ftrace }).ftrace = await Ftrace.create(rm);
      (rm as { events: EventLayer }).events = new EventLayer(rm);
      return rm;
    } catch (err) {
      await machine.close();
      throw err;
    }
  }

  // trace_rb_cpu_prepare(): the first time a trace_buffer sees a CPU, allocate its ring_buffer_per_cpu;
  // with fix 20ad8b0888be (and once the system runs) an IPI to every online CPU comes before the
  // cpumask bit, so no reader sees the bit with a NULL buffers[cpu]
  async prepareCpu(tb: TraceBuffer, cpu: number): Promise<void> {
    if (tb.cpumaskTest(cpu)) return;
    tb.allocateCpuBuffer(cpu);
    tb.publishCpuBuffer(cpu);
    if (this.fixes.has('20ad8b0888be') && this.machine.systemRunning) await this.machine.onEachCpu(IPI_SYNC);
    tb.setCpumask(cpu);
  }

  // cpu_up(): prepare every trace_buffer for the CPU, then start its worker (or wake the parked one).
  // Already online: nothing to do, like the kernel.
  async cpuUp(cpu: number): Promise<void> {
    this.machine.checkOpen();
    this.checkCpu(cpu);
    if (this.machine.isOnline(cpu)) return;
    for (const tb of this.traceBuffers()) await this.prepareCpu(tb, cpu);
    await this.machine.cpuUp(cpu, !this.everOnline.has(cpu));
    this.everOnline.add(cpu);
  }

  // cpu_down(): the CPU's worker is parked; its buffers stay, with their data. The last online CPU
  // cannot go down (EBUSY); cpu0 has no online file, like x86 (see cpuHotpluggable).
  async cpuDown(cpu: number): Promise<void> {
    this.machine.checkOpen();
    this.checkCpu(cpu);
    if (!this.cpuHotpluggable(cpu)) throw new RingtraceError('EPERM', `CPU ${cpu} cannot be taken offline (the boot CPU is not hotpluggable)`);
    if (!this.machine.isOnline(cpu)) return;
    if (this.machine.onlineCpus().length === 1) throw new RingtraceError('EBUSY', `CPU ${cpu} is the last online CPU`);
    // a writer attached from a thread cannot be stopped like a workload: it releases the CPU first
    if (writerHolder(this.machine.mem, this.machine.cpuDesc(cpu)) > 0) throw new RingtraceError('EBUSY', `CPU ${cpu} has a writer attached`);
    await this.machine.cpuDown(cpu);
  }

  // Like x86, the boot CPU cannot be unplugged: it has no /sys/devices/system/cpu/cpu0/online.
  cpuHotpluggable(cpu: number): boolean {
    return cpu !== 0;
  }

  private checkCpu(cpu: number): void {
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.nrCpuIds) {
      throw new RingtraceError('EINVAL', `CPU ${cpu} does not exist (possible CPUs: 0-${this.nrCpuIds - 1})`);
    }
  }

  // instance_mkdir(): a new trace_array with its own trace_buffer, prepared for every online CPU
  // instance_mkdir(): a new trace_array with its own trace_buffer, prepared for every online CPU; all of
  // its memory is checked to fit first, and a failure leaves no instance and nothing allocated
  async createInstance(name: string, opts: Partial<BufferDefaults> = {}): Promise<TraceBuffer> {
    this.machine.checkOpen();
    checkInstanceName(name);
    if (this.instances.has(name)) throw new RingtraceError('EEXIST', `instance "${name}" already exists`);
    const tb = new TraceBuffer(this.machine, name, {
      sizeBytes: (opts.bufferSizeKb ?? this.bootSizeKb) * 1024,
      subbufSize: opts.subbufSize ?? 4096,
      overwrite: opts.overwrite ?? true,
      clock: opts.clock ?? 'local',
    });
    this.instances.set(name, tb);
    try {
      tb.reserveCpuBuffers(this.machine.onlineCpus().length);
      for (const cpu of this.machine.onlineCpus()) await this.prepareCpu(tb, cpu);
    } catch (err) {
      this.instances.delete(name);
      this.machine.unregisterTraceBuffer(tb.addr);
      if (!this.machine.isClosed) await this.machine.synchronizeRcu();
      tb.destroy();
      throw err;
    }
    return tb;
  }

  // instance_rmdir(): EBUSY while a reader holds it open or a workload writes into it; from then on its
  // handle refuses every use, and its memory goes after a grace period
  async removeInstance(name: string): Promise<void> {
    this.machine.checkOpen();
    const tb = this.instances.get(name);
    if (!tb) throw new RingtraceError('ENOENT', `instance "${name}" does not exist`);
    if (tb.busy) throw new RingtraceError('EBUSY', `instance "${name}" is in use`);
    await this.ftrace.releaseTraceArray(tb);
    await this.events.releaseTraceArray(tb);
    await tb.retire();
    this.instances.delete(name);
    this.machine.unregisterTraceBuffer(tb.addr);
    await this.machine.synchronizeRcu();
    tb.destroy();
  }

  get nrCpuIds(): number {
    return this.machine.nrCpuIds;
  }

  onlineCpus(): number[] {
    return this.machine.onlineCpus();
  }

  // Run a workload on a CPU; with durationMs, long-running ops (stress, bench) stop after it.
  // The buffers it names are held (an instance cannot be removed under it), and so is every CPU whose
  // pages it reads in place.
  async run(cpu: number, workload: Workload, opts: { durationMs?: number } = {}): Promise<WorkloadResult> {
    if (!(workload instanceof Workload)) throw new RingtraceError('EINVAL', 'run() takes a Workload (new Workload().write(...))');
    if (typeof opts !== 'object' || opts === null) throw new RingtraceError('EINVAL', 'run() options must be an object');
    const { durationMs } = opts;
    if (durationMs !== undefined && !(typeof durationMs === 'number' && durationMs >= 0 && durationMs <= MAX_DURATION_MS)) {
      throw new RingtraceError('EINVAL', `durationMs must be a number from 0 to ${MAX_DURATION_MS}, not ${durationMs}`);
    }
    const m = this.machine;
    m.checkOpen();
    const res = m.arena.alloc(RES_SIZE);
    const holds: (() => void)[] = [];
    const spares: number[] = [];
    const giveBack = () => {
      for (const release of holds) release();
      for (const slot of spares) {
        m.arena.release(m.mem.load32(slot), m.mem.load32(slot + 4));
        m.arena.release(slot, 64);
      }
      m.arena.release(res, RES_SIZE);
    };
    const used = new Set<TraceBuffer>();
    let words: Int32Array;
    try {
      words = workload.encode({
        res,
        resolve: (b) => {
          const tb = b ?? this.buffer;
          if (!(tb instanceof TraceBuffer) || tb.machine !== m) throw new RingtraceError('EINVAL', 'the workload names a trace buffer of another machine');
          tb.checkLive();
          used.add(tb);
          return tb;
        },
        readSlot: (tb, readCpu, slot, pool) => {
          holds.push(tb.holdPageReader(readCpu));
          const isSpare = (page: number) => m.arena.contains(page, tb.subbufSize);
          if (pool && (pool.addr % 4 || !m.arena.contains(pool.addr, Math.max(4, pool.size * 4)) || !Array.from({ length: pool.size }, (_, i) => m.mem.load32(pool.addr + 4 * i)).every(isSpare))) {
            throw new RingtraceError('EINVAL', `readPages: the pool at ${pool.addr} does not hold ${pool.size} spare pages of this machine`);
          }
          if (slot !== undefined) {
            if (!m.arena.contains(slot, 8) || slot % 4 || !isSpare(m.mem.load32(slot))) {
              throw new RingtraceError('EINVAL', `readPages: slot ${slot} does not hold a spare page of this machine`);
            }
            return slot;
          }
          // ring_buffer_alloc_read_page(); the slot keeps the page's size for giving it back
          m.arena.reserve([{ size: 64, count: 1 }, { size: tb.subbufSize, count: 1 }], 'a spare page for readPages');
          const own = m.arena.alloc(64);
          const spare = m.arena.alloc(tb.subbufSize, 64);
          m.exports.rbInitPage(spare);
          m.mem.store32(own, spare);
          m.mem.store32(own + 4, tb.subbufSize);
          spares.push(own);
          return own;
        },
      });
      for (const tb of used) holds.push(tb.holdWriter());
    } catch (err) {
      // a refused workload leaves nothing allocated or held behind
      giveBack();
      throw err;
    }
    let prog: number;
    try {
      prog = m.arena.alloc(words.byteLength + 4);
    } catch (err) {
      giveBack();
      throw err;
    }
    m.mem.i32.set(words, prog >> 2);
    try {
      const ret = await m.runProgram(cpu, prog, durationMs);
      if (ret === EFAULT_RET) throw new KernelOopsError(cpu, m.dmesg());
      if (ret !== 0) throw new RingtraceError('EINVAL', `CPU ${cpu} rejected the workload program (${ret})`);
      // a snapshot the workload asked for (a snapshot probe or trigger) is taken before run() returns
      await this.events?.snapshots.serve(workload);
      return {
        written: m.mem.load64(res + RES_WRITTEN),
        failed: m.mem.load64(res + RES_FAILED),
        nested: m.mem.load64(res + RES_NESTED),
        bytes: m.mem.load64(res + RES_BYTES),
        pages: m.mem.load64(res + RES_PAGES),
      };
    } finally {
      m.arena.release(prog, words.byteLength + 4);
      giveBack();
    }
  }

  // Stop a CPU's long-running workload now.
  stop(cpu: number): void {
    this.machine.stop(cpu);
  }

  // Write from this JavaScript thread as CPU `cpu` (the embedding case): the thread takes the CPU's
  // place as the only writer of its buffers until release(); EBUSY while another writer (an attached
  // one, or the CPU running a workload) holds it.
  attachWriter(cpu: number, buffer: TraceBuffer = this.buffer): Writer {
    this.machine.checkOpen();
    if (!(buffer instanceof TraceBuffer) || !this.traceBuffers().includes(buffer)) throw new RingtraceError('EINVAL', 'not a buffer of this machine');
    const m = this.machine;
    if (!m.isOnline(cpu)) throw new RingtraceError('ENODEV', `CPU ${cpu} is offline`);
    this.prepareWriterAreas();
    const w = Writer.attachNow(m.mem, instantiateRingtrace(m.module, m.memory, m.epochMs), cpu, buffer.addr, () => this.writers.delete(w));
    this.writers.add(w);
    return w;
  }

  // What another thread needs to write into (or read from) this machine: post it to a worker, which
  // then calls attachWriter(handle, { cpu }). The instances are those that exist now.
  handle(): MachineHandle {
    this.machine.checkOpen();
    this.prepareWriterAreas();
    const m = this.machine;
    return {
      memory: m.memory,
      module: m.module,
      buffer: this.buffer.addr,
      instances: Object.fromEntries([...this.instances].map(([name, tb]) => [name, tb.addr])),
    };
  }

  // Every CPU's batch area for attached writers, made once (CPU_WRITER_SCRATCH).
  private prepareWriterAreas(): void {
    const m = this.machine;
    for (let cpu = 0; cpu < this.nrCpuIds; cpu++) {
      const desc = m.cpuDesc(cpu);
      if (m.mem.load32(desc + CPU_WRITER_SCRATCH)) continue;
      m.mem.store32(desc + CPU_WRITER_SCRATCH_SIZE, WRITER_SCRATCH_BYTES);
      m.mem.store32(desc + CPU_WRITER_SCRATCH, m.arena.alloc(WRITER_SCRATCH_BYTES));
    }
  }

  dmesg(): string[] {
    return this.machine.dmesg();
  }

  // trace-cmd record's reader: takes every CPU's trace_pipe_raw while workloads run (full sub-buffers
  // every pollMs), until stop() reads the rest and returns the trace.dat's content.
  record(opts: TraceDatOptions = {}): Recorder {
    return new Recorder(this, opts);
  }

  // trace-cmd extract: what the buffers hold now, consumed into a trace.dat file at `path`.
  async saveTraceDat(path: string, opts: TraceDatOptions = {}): Promise<TraceDat> {
    const dat = new Recorder(this, { ...opts, pollMs: undefined }).stop();
    await writeFile(path, writeTraceDat(dat));
    return dat;
  }

  async close(): Promise<void> {
    // no writer outlives the machine: attached ones fail at their next call
    for (const w of [...this.writers]) w.detach(WRITER_CLOSED);
    closeWriters(this.machine.mem, Array.from({ length: this.nrCpuIds }, (_, cpu) => this.machine.cpuDesc(cpu)));
    this.ftrace?.close();
    await this.machine.close();
  }
}

export async function createMachine(opts?: MachineOptions): Promise<RingMachine> {
  return RingMachine.create(opts);
}

export { Workload, Writer };
export type { WorkloadResult };
