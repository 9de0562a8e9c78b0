// One writer per CPU buffer: the claim word of a CPU (CPU_WRITER in its descriptor), taken by
// compare-and-swap by the CPU's own worker for a workload and by writers attached from JavaScript
// threads. A thread that ends without releasing its claim cannot release it; its lease (a heartbeat
// its timer refreshes, and the count of its calls) runs out, and the next claimant takes the CPU over.
import type { Mem } from '../layout.ts';
import { RingtraceError } from '../errors.ts';
import {
  LAYOUT_BASE, H_EPOCH_MS, H_WRITER_TOKEN, CPU_WRITER, CPU_WRITER_ACTIVE, CPU_WRITER_BEAT, CPU_WRITER_CALLS,
  WRITER_FREE, WRITER_WORKLOAD, WRITER_CLOSED,
} from '../../assembly/abi.ts';

export const WRITER_BEAT_MS = 100; // how often an attached writer's thread shows it is alive
export const WRITER_LEASE_MS = 1000; // no heartbeat for this long: the thread may be gone
export const WRITER_WATCH_MS = 250; // ... and no call during this long: it is gone

// Milliseconds since the machine was created, as every thread sees them (H_EPOCH_MS).
export function machineMs(mem: Mem): number {
  return performance.timeOrigin + performance.now() - mem.f64[(LAYOUT_BASE + H_EPOCH_MS) >> 3];
}

export function newWriterToken(mem: Mem): number {
  // tokens stay positive: 0 and the negative values are the other states of CPU_WRITER
  return (Atomics.add(mem.i32, (LAYOUT_BASE + H_WRITER_TOKEN) >> 2, 1) & 0x7fffffff) + 1;
}

function busy(cpu: number, holder: number): RingtraceError {
  if (holder === WRITER_CLOSED) return new RingtraceError('ENODEV', 'the machine is closed');
  if (holder === WRITER_WORKLOAD) return new RingtraceError('EBUSY', `CPU ${cpu} is running a workload (one writer per CPU buffer)`);
  return new RingtraceError('EBUSY', `CPU ${cpu} already has a writer attached (one writer per CPU buffer)`);
}

// Take the CPU now, or EBUSY.
export function claimWriterNow(mem: Mem, cpu: number, desc: number, token: number): void {
  const holder = Atomics.compareExchange(mem.i32, (desc + CPU_WRITER) >> 2, WRITER_FREE, token);
  if (holder !== WRITER_FREE) throw busy(cpu, holder);
  beat(mem, desc);
}

// Take the CPU; an attached writer whose lease ran out is taken over.
export async function claimWriter(mem: Mem, cpu: number, desc: number, token: number): Promise<void> {
  for (;;) {
    const holder = Atomics.compareExchange(mem.i32, (desc + CPU_WRITER) >> 2, WRITER_FREE, token);
    if (holder === WRITER_FREE) break;
    if (!(await reapDeadWriter(mem, desc))) throw busy(cpu, holder);
  }
  beat(mem, desc);
}

// An attached writer whose thread is gone (its lease ran out and it made no call while we watched)
// loses the CPU, and the read side its thread may have left open inside a turn closes, so that a
// grace period waiting for it ends. true when this call freed the CPU.
export async function reapDeadWriter(mem: Mem, desc: number): Promise<boolean> {
  const i32 = mem.i32;
  const claim = (desc + CPU_WRITER) >> 2;
  const holder = Atomics.load(i32, claim);
  if (holder <= 0 || !leaseExpired(mem, desc)) return false;
  const calls = Atomics.load(i32, (desc + CPU_WRITER_CALLS) >> 2);
  await new Promise((resolve) => setTimeout(resolve, WRITER_WATCH_MS));
  if (Atomics.load(i32, (desc + CPU_WRITER_CALLS) >> 2) !== calls || !leaseExpired(mem, desc)) return false;
  if (Atomics.compareExchange(i32, claim, holder, WRITER_FREE) !== holder) return false;
  Atomics.store(i32, (desc + CPU_WRITER_ACTIVE) >> 2, 0);
  Atomics.notify(i32, (desc + CPU_WRITER_ACTIVE) >> 2);
  return true;
}

function leaseExpired(mem: Mem, desc: number): boolean {
  return machineMs(mem) - Atomics.load(mem.i32, (desc + CPU_WRITER_BEAT) >> 2) > WRITER_LEASE_MS;
}

export function beat(mem: Mem, desc: number): void {
  Atomics.store(mem.i32, (desc + CPU_WRITER_BEAT) >> 2, Math.floor(machineMs(mem)));
}

export function writerHolder(mem: Mem, desc: number): number {
  return Atomics.load(mem.i32, (desc + CPU_WRITER) >> 2);
}

// false when the claim was no longer this token's (taken over, or the machine closed)
export function releaseWriter(mem: Mem, desc: number, token: number): boolean {
  return Atomics.compareExchange(mem.i32, (desc + CPU_WRITER) >> 2, token, WRITER_FREE) === token;
}

// close(): no writer writes any more; each one's next call fails
export function closeWriters(mem: Mem, descs: number[]): void {
  for (const desc of descs) Atomics.store(mem.i32, (desc + CPU_WRITER) >> 2, WRITER_CLOSED);
}
