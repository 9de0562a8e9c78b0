// The public API: createMachine() and the machine it returns.
import { Machine, type MemoryModel } from './machine/machine.ts';
import { TraceBuffer, type ClockName, clockByName } from './ring/trace-buffer.ts';
import { Workload, type WorkloadResult } from './machine/workload.ts';
import { RingtraceError } from './errors.ts';
import { abi } from './layout.ts';
import { FixSet } from './fixes.ts';
import { Ftrace } from './ftrace/ftrace.ts';
import { Tracefs } from './tracefs/tracefs.ts';
import { EventLayer } from './events/events.ts';

const { RES_SIZE, RES_WRITTEN, RES_FAILED, RES_NESTED, RES_BYTES, RES_PAGES, CLOCK_COUNTER, CLOCK_VIRTUAL, IPI_SYNC, EFAULT_RET, TB_CLOCK,
  TB_MAX_DATA_SIZE } = abi;

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
  readonly fs: Tracefs = new Tracefs(this); // tracefs: /sys/kernel/tracing

  private constructor(readonly machine: Machine, readonly fixes: FixSet, opts: BufferDefaults) {
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

  static async create(opts: MachineOptions = {}): Promise<RingMachine> {
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
    if (!Number.isInteger(virtualStepNs) || virtualStepNs < 1) throw new RingtraceError('EINVAL', `virtualStepNs must be a positive integer`);
    const fixes = new FixSet(opts.withoutFixes);
    const machine = await Machine.boot({ cpus, online, memoryModel, virtualStepNs });
    const rm = new RingMachine(machine, fixes, { bufferSizeKb, subbufSize: opts.subbufSize ?? 4096, overwrite: opts.overwrite ?? true, clock });
    // ring_buffer_alloc(): per-CPU buffers for the CPUs online at boot (trace_rb_cpu_prepare, before
    // the system is running, so without the IPI round)
    for (const cpu of online) await rm.prepareCpu(rm.buffer, cpu);
    await machine.start(online);
    for (const cpu of online) rm.everOnline.add(cpu);
    (rm as { ftrace: Ftrace }).ftrace = await Ftrace.create(rm);
    (rm as { events: EventLayer }).events = new EventLayer(rm);
    return rm;
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
    this.checkCpu(cpu);
    if (this.machine.isOnline(cpu)) return;
    for (const tb of this.traceBuffers()) await this.prepareCpu(tb, cpu);
    await this.machine.cpuUp(cpu, !this.everOnline.has(cpu));
    this.everOnline.add(cpu);
  }

  // cpu_down(): the CPU's worker is parked; its buffers stay, with their data. The last online CPU
  // cannot go down (EBUSY); cpu0 has no online file, like x86 (see cpuHotpluggable).
  async cpuDown(cpu: number): Promise<void> {
    this.checkCpu(cpu);
    if (!this.cpuHotpluggable(cpu)) throw new RingtraceError('EPERM', `CPU ${cpu} cannot be taken offline (the boot CPU is not hotpluggable)`);
    if (!this.machine.isOnline(cpu)) return;
    if (this.machine.onlineCpus().length === 1) throw new RingtraceError('EBUSY', `CPU ${cpu} is the last online CPU`);
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
  async createInstance(name: string, opts: Partial<BufferDefaults> = {}): Promise<TraceBuffer> {
    if (!/^[^/\s]+$/.test(name) || name === '.' || name === '..') throw new RingtraceError('EINVAL', `bad instance name "${name}"`);
    if (this.instances.has(name)) throw new RingtraceError('EEXIST', `instance "${name}" already exists`);
    const tb = new TraceBuffer(this.machine, name, {
      sizeBytes: (opts.bufferSizeKb ?? DEFAULT_BUFFER_SIZE_KB) * 1024,
      subbufSize: opts.subbufSize ?? 4096,
      overwrite: opts.overwrite ?? true,
      clock: opts.clock ?? 'local',
    });
    this.instances.set(name, tb);
    for (const cpu of this.machine.onlineCpus()) await this.prepareCpu(tb, cpu);
    return tb;
  }

  // instance_rmdir(): EBUSY while a reader holds it open; its memory goes after a grace period
  async removeInstance(name: string): Promise<void> {
    const tb = this.instances.get(name);
    if (!tb) throw new RingtraceError('ENOENT', `instance "${name}" does not exist`);
    if (tb.busy) throw new RingtraceError('EBUSY', `instance "${name}" is in use`);
    await this.ftrace.releaseTraceArray(tb);
    await this.events.releaseTraceArray(tb);
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
  async run(cpu: number, workload: Workload, opts: { durationMs?: number } = {}): Promise<WorkloadResult> {
    const m = this.machine;
    const res = m.arena.alloc(RES_SIZE);
    let words: Int32Array;
    try {
      words = workload.encode((b) => b ?? this.buffer, res);
    } catch (err) {
      // a refused workload leaves nothing allocated behind
      m.arena.release(res, RES_SIZE);
      throw err;
    }
    const prog = m.arena.alloc(words.byteLength + 4);
    m.mem.i32.set(words, prog >> 2);
    try {
      const ret = await m.runProgram(cpu, prog, opts.durationMs);
      if (ret === EFAULT_RET) throw new KernelOopsError(cpu, m.dmesg());
      if (ret !== 0) throw new RingtraceError('EINVAL', `CPU ${cpu} rejected the workload program (${ret})`);
      return {
        written: m.mem.load64(res + RES_WRITTEN),
        failed: m.mem.load64(res + RES_FAILED),
        nested: m.mem.load64(res + RES_NESTED),
        bytes: m.mem.load64(res + RES_BYTES),
        pages: m.mem.load64(res + RES_PAGES),
      };
    } finally {
      m.arena.release(prog, words.byteLength + 4);
      m.arena.release(res, RES_SIZE);
    }
  }

  // Stop a CPU's long-running workload now.
  stop(cpu: number): void {
    this.machine.stop(cpu);
  }

  // Write from this JavaScript thread as CPU `cpu` (the embedding case): the thread takes the CPU's
  // place as the only writer of its buffers until release().
  attachWriter(cpu: number, buffer: TraceBuffer = this.buffer): Writer {
    return new Writer(this, cpu, buffer);
  }

  dmesg(): string[] {
    return this.machine.dmesg();
  }

  async close(): Promise<void> {
    this.ftrace?.close();
    await this.machine.close();
  }
}

let attached: Writer | undefined;

// Copy a payload into shared memory (`at` is 4-byte aligned). For small events, word stores beat both a
// byte loop and TypedArray.prototype.set's setup.
function copyIn(u8: Uint8Array, u32: Uint32Array, at: number, data: Uint8Array): void {
  const len = data.length;
  if (len > 64) {
    u8.set(data, at);
    return;
  }
  let i = 0;
  for (; i + 4 <= len; i += 4) u32[(at + i) >> 2] = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
  for (; i < len; i++) u8[at + i] = data[i];
}

export class Writer {
  private readonly src: number;
  private readonly cap: number;
  private released = false;
  // Views and addresses taken once: the hot path is one call into Wasm, and these stay valid (the
  // scratch area and the buffer's fields were allocated before any later growth of the memory).
  private readonly u8: Uint8Array;
  private readonly u32: Uint32Array;
  private readonly i32: Int32Array;
  private readonly tb: number;
  private readonly clockIdx: number;
  private readonly maxIdx: number;
  private readonly writeOneFn: RingMachine['machine']['exports']['writeOne'];
  private readonly evEmitFn: RingMachine['machine']['exports']['evEmit'];

  constructor(private readonly rm: RingMachine, readonly cpu: number, readonly buffer: TraceBuffer) {
    const m = rm.machine;
    if (!m.isOnline(cpu)) throw new RingtraceError('ENODEV', `CPU ${cpu} is offline`);
    if (attached) throw new RingtraceError('EBUSY', `this thread already writes as CPU ${attached.cpu}; release() that writer first`);
    if (!buffer.hasCpu(cpu)) throw new RingtraceError('ENODEV', `buffer "${buffer.name}" has no buffer for CPU ${cpu}`);
    this.cap = Math.max(buffer.maxDataSize, 4096) * 4;
    this.src = m.arena.alloc(this.cap);
    ({ u8: this.u8, u32: this.u32, i32: this.i32 } = m.mem);
    this.tb = buffer.addr;
    this.clockIdx = (buffer.addr + TB_CLOCK) >> 2;
    this.maxIdx = (buffer.addr + TB_MAX_DATA_SIZE) >> 2;
    this.writeOneFn = m.exports.writeOne;
    this.evEmitFn = m.exports.evEmit;
    m.exports.cpuInit(cpu);
    m.exports.sessionBegin();
    attached = this;
  }

  // The buffer's clock and size limit are read from shared memory at every call (a clock change or a
  // sub-buffer resize may happen while the writer is attached); a real clock (local or global) needs a
  // fresh reading per call, since calls can be far apart.
  private checkLength(len: number): void {
    const max = this.i32[this.maxIdx];
    if (len === 0 || len > max) throw new RingtraceError('EINVAL', `event size ${len} must be 1..${max} bytes`);
  }

  // ring_buffer_write(): false when the event was not recorded (full, recording off)
  write(data: Uint8Array): boolean {
    const len = data.length;
    const i32 = this.i32;
    if (this.released || len === 0 || len > i32[this.maxIdx]) return this.refuse(len);
    const src = this.src;
    copyIn(this.u8, this.u32, src, data);
    const clock = i32[this.clockIdx];
    return this.writeOneFn(this.tb, len, src, clock !== CLOCK_COUNTER && clock !== CLOCK_VIRTUAL ? 1 : 0) === 0;
  }

  // An event through its tracepoint (trace_event_call at `call`, fields in `payload` after struct
  // trace_entry), as this CPU: every trace_array that has it enabled gets it. False when it is enabled
  // nowhere.
  emit(call: number, payload: Uint8Array): boolean {
    const len = payload.length;
    if (this.released || len > this.cap) return this.refuse(len);
    copyIn(this.u8, this.u32, this.src, payload);
    const clock = this.i32[this.clockIdx];
    return this.evEmitFn(call, this.src, len, clock !== CLOCK_COUNTER && clock !== CLOCK_VIRTUAL ? 1 : 0) === 0;
  }

  // The writer's staging area in shared memory, for encoders that write a record in place
  get scratch(): { addr: number; size: number } {
    return { addr: this.src, size: this.cap };
  }

  // emit() of the `len` bytes already in the staging area
  emitScratch(call: number, len: number): boolean {
    if (this.released) return this.refuse(len);
    const clock = this.i32[this.clockIdx];
    return this.evEmitFn(call, this.src, len, clock !== CLOCK_COUNTER && clock !== CLOCK_VIRTUAL ? 1 : 0) === 0;
  }

  private refuse(len: number): never {
    if (this.released) throw new RingtraceError('EINVAL', 'this writer was released');
    this.checkLength(len);
    throw new RingtraceError('EINVAL', `event size ${len} refused`);
  }

  // Many events in one call; returns how many were recorded.
  writeBatch(events: Uint8Array[]): number {
    if (this.released) this.refuse(1);
    const m = this.rm.machine;
    const { u8, u32 } = this;
    let total = 0;
    let off = this.src;
    let count = 0;
    for (const data of events) {
      const len = data.length;
      this.checkLength(len);
      const need = 4 + ((len + 3) & ~3);
      if (off + need > this.src + this.cap) {
        total += m.exports.writeBatch(this.tb, this.src, count);
        off = this.src;
        count = 0;
      }
      u32[off >> 2] = len;
      copyIn(u8, u32, off + 4, data);
      off += need;
      count++;
    }
    if (count) total += m.exports.writeBatch(this.tb, this.src, count);
    return total;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    const m = this.rm.machine;
    m.exports.sessionEnd();
    m.exports.cpuInit(-1);
    m.arena.release(this.src, this.cap);
    attached = undefined;
  }
}

export async function createMachine(opts: MachineOptions = {}): Promise<RingMachine> {
  return RingMachine.create(opts);
}

export { Workload };
export type { WorkloadResult };
