// Writing as a CPU from a JavaScript thread: the machine's own thread (RingMachine.attachWriter) or a
// thread of the user's (a worker_threads worker, a Deno or Web Worker) that was posted the machine's
// handle. The kernel's rule holds: one writer per CPU buffer (see machine/writer-claim.ts).
import { Mem } from './layout.ts';
import { instantiateRingtrace, type RingExports } from './machine/wasm.ts';
import { RingtraceError } from './errors.ts';
import {
  claimWriter, claimWriterNow, releaseWriter, writerHolder, beat, newWriterToken, WRITER_BEAT_MS,
} from './machine/writer-claim.ts';
import {
  LAYOUT_BASE, H_MAGIC, MACHINE_MAGIC, H_NR_CPU_IDS, H_CPU_TABLE, H_EPOCH_MS, H_ONLINE_MASK, H_TB_LIST, TBL_COUNT,
  TBL_ENTRIES, CPU_DESC_SIZE, CPU_WRITER_SCRATCH, CPU_WRITER_SCRATCH_SIZE, TB_CLOCK, TB_MAX_DATA_SIZE, TB_CPUMASK,
  TB_BUFFERS, CLOCK_COUNTER, CLOCK_VIRTUAL, WRITER_CLOSED, WRITER_LOST, WRITER_FRESH_CLOCK, WRITER_TURN_BEGIN,
} from '../assembly/abi.ts';

// What a thread needs to write into a machine: its shared memory, its compiled module, and where its
// trace_buffers are. Structured-cloneable: post it to a worker as it is.
export interface MachineHandle {
  readonly memory: WebAssembly.Memory;
  readonly module: WebAssembly.Module;
  readonly buffer: number; // the top-level trace_buffer
  readonly instances: Readonly<Record<string, number>>; // instances/NAME's trace_buffers when the handle was made
}

export interface AttachOptions {
  cpu: number;
  instance?: string; // write into instances/NAME instead of the top-level buffer
}

// The batch area each CPU's attached writer uses (CPU_WRITER_SCRATCH); events larger than what it
// holds are written in place (reserve, copy, commit).
export const WRITER_SCRATCH_BYTES = 16384;
// up to this size an event is copied into the scratch area and written in one call
const SMALL_EVENT = 64;

// Copy a payload into shared memory (`at` is 4-byte aligned). For small events, word stores beat both a
// byte loop and TypedArray.prototype.set's setup.
function copyIn(u8: Uint8Array, u32: Uint32Array, at: number, data: Uint8Array): void {
  const len = data.length;
  if (len > SMALL_EVENT) {
    u8.set(data, at);
    return;
  }
  let i = 0;
  for (; i + 4 <= len; i += 4) u32[(at + i) >> 2] = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
  for (; i < len; i++) u8[at + i] = data[i];
}

function eventBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  const what = data === null ? 'null' : Array.isArray(data) ? 'an array' : typeof data;
  throw new RingtraceError('EINVAL', `an event is a Uint8Array of bytes, not ${what}`);
}

function unrefTimer(t: ReturnType<typeof setInterval>): void {
  if (typeof t === 'object' && t !== null && 'unref' in t) (t as { unref(): void }).unref();
  else (globalThis as { Deno?: { unrefTimer(id: number): void } }).Deno?.unrefTimer(t as unknown as number);
}

// Node's `process` (also in Deno): a thread that ends normally or by an uncaught error releases its
// writer at 'exit'. Worker.terminate() runs no handler: the lease covers that case.
const proc = (globalThis as { process?: { once(e: 'exit', f: () => void): void; off(e: 'exit', f: () => void): void } }).process;

interface Target {
  mem: Mem;
  exports: RingExports;
  cpu: number;
  desc: number;
  tb: number;
  token: number;
}

export class Writer {
  readonly cpu: number;
  private released = false;
  private gone?: RingtraceError; // why this writer lost its CPU (taken over, the machine closed)
  // Views and addresses taken once: the hot path is one call into Wasm (views are renewed when an
  // event lands beyond them after the memory grew)
  private readonly mem: Mem;
  private readonly x: RingExports;
  private u8: Uint8Array;
  private u32: Uint32Array;
  private readonly i32: Int32Array;
  private readonly tb: number;
  private readonly desc: number;
  private readonly token: number;
  private readonly src: number;
  private readonly cap: number;
  private readonly clockIdx: number;
  private readonly maxIdx: number;
  private readonly heartbeat: ReturnType<typeof setInterval>;
  private readonly onExit = () => this.release();
  // The writer's RCU read side spans its thread's turn (see assembly/writer.ts): opened by the turn's
  // first call, closed by a microtask when the turn ends.
  private inTurn = false;
  private readonly endTurn = () => {
    if (!this.inTurn) return;
    this.inTurn = false;
    this.x.writerTurnEnd();
  };

  // The claim is taken (claimWriter) before a Writer is made; release() gives it back.
  private constructor(t: Target, private readonly onRelease?: () => void) {
    this.cpu = t.cpu;
    this.mem = t.mem;
    this.x = t.exports;
    ({ u8: this.u8, u32: this.u32, i32: this.i32 } = t.mem);
    this.tb = t.tb;
    this.desc = t.desc;
    this.token = t.token;
    this.src = t.mem.load32(t.desc + CPU_WRITER_SCRATCH);
    this.cap = t.mem.load32(t.desc + CPU_WRITER_SCRATCH_SIZE);
    this.clockIdx = (t.tb + TB_CLOCK) >> 2;
    this.maxIdx = (t.tb + TB_MAX_DATA_SIZE) >> 2;
    t.exports.cpuInit(t.cpu);
    t.exports.writerAttach(t.token);
    this.heartbeat = setInterval(() => {
      const holder = writerHolder(this.mem, this.desc);
      if (holder === this.token) beat(this.mem, this.desc);
      else this.detach(holder);
    }, WRITER_BEAT_MS);
    unrefTimer(this.heartbeat);
    proc?.once('exit', this.onExit);
  }

  // A writer on this thread for a CPU of the machine behind `handle` (any thread; the claim may take
  // over from a writer whose thread ended without release()).
  static async attach(handle: MachineHandle, opts: AttachOptions): Promise<Writer> {
    const t = openTarget(handle, opts);
    await claimWriter(t.mem, t.cpu, t.desc, t.token);
    return new Writer(t);
  }

  // The same without waiting: EBUSY while any writer holds the CPU (the machine's own thread).
  static attachNow(mem: Mem, exports: RingExports, cpu: number, tb: number, onRelease: () => void): Writer {
    const t = { mem, exports, cpu, desc: cpuDesc(mem, cpu), tb, token: newWriterToken(mem) };
    checkTarget(t);
    claimWriterNow(mem, cpu, t.desc, t.token);
    return new Writer(t, onRelease);
  }

  // The flags of a call. The buffer's clock and size limit are read from shared memory at every call
  // (a clock change or a sub-buffer resize may happen while the writer is attached); a real clock
  // (local or global) needs a fresh reading per call, since calls can be far apart.
  private flags(): number {
    const clock = this.i32[this.clockIdx];
    let f = clock !== CLOCK_COUNTER && clock !== CLOCK_VIRTUAL ? WRITER_FRESH_CLOCK : 0;
    if (!this.inTurn) {
      this.inTurn = true;
      queueMicrotask(this.endTurn);
      f |= WRITER_TURN_BEGIN;
    }
    return f;
  }

  private checkLength(len: number): void {
    if (this.released) throw this.gone ?? new RingtraceError('EINVAL', 'this writer was released');
    const max = this.i32[this.maxIdx];
    if (len === 0 || len > max) throw new RingtraceError('EINVAL', `event size ${len} must be 1..${max} bytes`);
  }

  // ring_buffer_write(): false when the event was not recorded (full, recording off)
  write(data: Uint8Array): boolean {
    const bytes = eventBytes(data);
    const len = bytes.length;
    this.checkLength(len);
    let r: number;
    if (len <= SMALL_EVENT) {
      // a batch of one: [u32 length][payload]
      this.u32[this.src >> 2] = len;
      copyIn(this.u8, this.u32, this.src + 4, bytes);
      r = this.x.writerBatch(this.tb, this.src, 1, this.flags());
    } else {
      r = this.x.writerReserve(this.tb, len, this.flags());
      if (r > 0) {
        if (r + len > this.u8.length) this.renewViews();
        this.u8.set(bytes, r);
        this.x.writerCommit(this.tb);
        return true;
      }
    }
    if (r === WRITER_LOST) this.lost();
    return r > 0;
  }

  // Many events in one call per scratch area's worth; returns how many were recorded. Every event is
  // checked before any is written.
  writeBatch(events: Uint8Array[]): number {
    if (!Array.isArray(events)) throw new RingtraceError('EINVAL', 'writeBatch takes an array of Uint8Array events');
    for (const data of events) this.checkLength(eventBytes(data).length);
    const { u8, u32, src, cap } = this;
    let total = 0;
    let off = src;
    let count = 0;
    const flush = () => {
      const n = this.x.writerBatch(this.tb, src, count, this.flags());
      if (n === WRITER_LOST) this.lost();
      total += n;
      off = src;
      count = 0;
    };
    for (const data of events) {
      const need = 4 + ((data.length + 3) & ~3);
      if (need > cap) {
        if (count) flush();
        if (this.write(data)) total++;
        continue;
      }
      if (off + need > src + cap) flush();
      u32[off >> 2] = data.length;
      copyIn(u8, u32, off + 4, data);
      off += need;
      count++;
    }
    if (count) flush();
    return total;
  }

  // An event through its tracepoint (the trace_event_call at `call`, its fields after struct
  // trace_entry in `payload`), as this CPU: every trace_array that has it enabled gets it. False when
  // it is enabled nowhere.
  emit(call: number, payload: Uint8Array): boolean {
    const bytes = eventBytes(payload);
    if (bytes.length > this.cap) throw new RingtraceError('EINVAL', `event fields of ${bytes.length} bytes do not fit the writer's ${this.cap}-byte area`);
    this.checkLength(bytes.length || 1);
    copyIn(this.u8, this.u32, this.src, bytes);
    return this.emitScratch(call, bytes.length);
  }

  // The writer's staging area in shared memory, for encoders that write a record in place
  get scratch(): { addr: number; size: number } {
    return { addr: this.src, size: this.cap };
  }

  // emit() of the `len` bytes already in the staging area
  emitScratch(call: number, len: number): boolean {
    if (this.released) throw this.gone ?? new RingtraceError('EINVAL', 'this writer was released');
    const r = this.x.writerEmit(call, this.src, len, this.flags());
    if (r === WRITER_LOST) this.lost();
    return r === 0;
  }

  private renewViews(): void {
    this.mem.refresh();
    ({ u8: this.u8, u32: this.u32 } = this.mem);
  }

  private lost(): never {
    this.detach(writerHolder(this.mem, this.desc));
    throw this.gone!;
  }

  // The CPU is no longer this writer's: every later call fails with the reason.
  detach(holder: number): void {
    this.gone = holder === WRITER_CLOSED
      ? new RingtraceError('ENODEV', 'the machine is closed')
      : new RingtraceError('EBUSY', `CPU ${this.cpu} was taken over by another writer (this one showed no life for too long)`);
    this.release();
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.endTurn();
    clearInterval(this.heartbeat);
    proc?.off('exit', this.onExit);
    releaseWriter(this.mem, this.desc, this.token);
    this.x.cpuInit(-1);
    this.onRelease?.();
  }
}

export function cpuDesc(mem: Mem, cpu: number): number {
  return mem.load32(LAYOUT_BASE + H_CPU_TABLE) + cpu * CPU_DESC_SIZE;
}

// The handle's side, on the thread that was posted it: the machine's memory, an instance of the module
// of its own over it, and the trace_buffer (the top-level one, or instances/NAME).
export interface OpenedHandle {
  mem: Mem;
  exports: RingExports;
  tb: number;
}

export function openHandle(handle: MachineHandle, instance: string | undefined): OpenedHandle {
  if (!handle || !(handle.memory instanceof WebAssembly.Memory) || !(handle.module instanceof WebAssembly.Module)) {
    throw new RingtraceError('EINVAL', 'not a machine handle (make one with machine.handle())');
  }
  const mem = new Mem(handle.memory);
  if (mem.load32(LAYOUT_BASE + H_MAGIC) !== MACHINE_MAGIC) throw new RingtraceError('EINVAL', 'not a machine handle (no machine in this memory)');
  let tb = handle.buffer;
  if (instance !== undefined) {
    tb = handle.instances[instance];
    if (tb === undefined) throw new RingtraceError('ENOENT', `instance "${instance}" is not in this handle`);
  }
  const exports = instantiateRingtrace(handle.module, handle.memory, mem.f64[(LAYOUT_BASE + H_EPOCH_MS) >> 3]);
  return { mem, exports, tb };
}

// EINVAL unless `cpu` is a possible CPU of the machine in `mem`
export function checkCpuId(mem: Mem, cpu: unknown): number {
  const nr = mem.load32(LAYOUT_BASE + H_NR_CPU_IDS);
  if (typeof cpu !== 'number' || !Number.isInteger(cpu) || cpu < 0 || cpu >= nr) {
    throw new RingtraceError('EINVAL', `CPU ${cpu} does not exist (possible CPUs: 0-${nr - 1})`);
  }
  return cpu;
}

function openTarget(handle: MachineHandle, opts: AttachOptions): Target {
  const { mem, exports, tb } = openHandle(handle, opts?.instance);
  const cpu = checkCpuId(mem, opts?.cpu);
  const t = { mem, exports, cpu, desc: cpuDesc(mem, cpu), tb, token: newWriterToken(mem) };
  checkTarget(t);
  return t;
}

function checkTarget(t: Target): void {
  const { mem, cpu, tb } = t;
  checkBufferCpu(mem, tb, cpu);
  if ((mem.loadU32(LAYOUT_BASE + H_ONLINE_MASK + ((cpu >> 5) << 2)) & (1 << (cpu & 31))) === 0) {
    throw new RingtraceError('ENODEV', `CPU ${cpu} is offline`);
  }
  if (mem.load32(t.desc + CPU_WRITER_SCRATCH) === 0) throw new RingtraceError('EINVAL', 'the machine made no writer area for this handle');
}

// ENOENT when the trace_buffer is gone, ENODEV when it has no buffer for `cpu` (never online)
export function checkBufferCpu(mem: Mem, tb: number, cpu: number): void {
  checkLiveBuffer(mem, tb);
  if ((mem.loadU32(tb + TB_CPUMASK + ((cpu >> 5) << 2)) & (1 << (cpu & 31))) === 0 || mem.load32(tb + TB_BUFFERS + cpu * 4) === 0) {
    throw new RingtraceError('ENODEV', `the buffer has no per-CPU buffer for CPU ${cpu}`);
  }
}

export function checkLiveBuffer(mem: Mem, tb: number): void {
  if (!liveBuffer(mem, tb)) throw new RingtraceError('ENOENT', 'that trace buffer no longer exists');
}

// the list of live trace_buffers (H_TB_LIST) names it
function liveBuffer(mem: Mem, tb: number): boolean {
  const list = mem.load32(LAYOUT_BASE + H_TB_LIST);
  const n = mem.load32(list + TBL_COUNT);
  for (let i = 0; i < n; i++) if (mem.load32(list + TBL_ENTRIES + i * 4) === tb) return true;
  return false;
}

// In a thread that was posted a handle: become the writer of a CPU's buffer.
export function attachWriter(handle: MachineHandle, opts: AttachOptions): Promise<Writer> {
  return Writer.attach(handle, opts);
}
