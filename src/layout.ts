// The host's side of the shared memory: typed access to the layout defined once in assembly/abi.ts.
export * as abi from '../assembly/abi.ts';
import { LAYOUT_BASE, H_SIZE, MAX_CPUS, CPU_DESC_SIZE, LOG_REGION, TBL_SIZE, WASM_PAGE, MAX_MEMORY_PAGES } from '../assembly/abi.ts';

// Views over the shared memory; recreated after memory.grow, since old views keep their old length.
export class Mem {
  i32!: Int32Array;
  u32!: Uint32Array;
  u8!: Uint8Array;
  i64!: BigInt64Array;
  f64!: Float64Array;
  private byteLength = 0;

  constructor(readonly memory: WebAssembly.Memory) {
    this.refresh();
  }

  refresh(): void {
    const buf = this.memory.buffer as unknown as SharedArrayBuffer;
    if (buf.byteLength === this.byteLength) return;
    this.byteLength = buf.byteLength;
    this.i32 = new Int32Array(buf);
    this.u32 = new Uint32Array(buf);
    this.u8 = new Uint8Array(buf);
    this.i64 = new BigInt64Array(buf);
    this.f64 = new Float64Array(buf);
  }

  get size(): number {
    return this.byteLength;
  }

  load32(addr: number): number {
    return Atomics.load(this.i32, addr >> 2);
  }
  loadU32(addr: number): number {
    return Atomics.load(this.i32, addr >> 2) >>> 0;
  }
  store32(addr: number, v: number): void {
    Atomics.store(this.i32, addr >> 2, v | 0);
  }
  add32(addr: number, v: number): number {
    return Atomics.add(this.i32, addr >> 2, v);
  }
  or32(addr: number, v: number): number {
    return Atomics.or(this.i32, addr >> 2, v);
  }
  load64(addr: number): number {
    return Number(Atomics.load(this.i64, addr >> 3));
  }
  loadU64(addr: number): bigint {
    return BigInt.asUintN(64, Atomics.load(this.i64, addr >> 3));
  }
  store64(addr: number, v: number | bigint): void {
    Atomics.store(this.i64, addr >> 3, BigInt(v));
  }
  notify(addr: number, count = Infinity): number {
    return Atomics.notify(this.i32, addr >> 2, count);
  }
}

// Fixed part of the layout: header, CPU descriptors, log; everything after it is the arena.
export function fixedLayout(nrCpuIds: number) {
  if (nrCpuIds > MAX_CPUS) throw new RangeError(`at most ${MAX_CPUS} CPUs`);
  const cpuTable = LAYOUT_BASE + H_SIZE;
  const log = cpuTable + nrCpuIds * CPU_DESC_SIZE;
  const tbList = log + LOG_REGION;
  const arena = align(tbList + TBL_SIZE, 4096);
  return { cpuTable, log, tbList, arena };
}

export function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

export const MAX_MEMORY_BYTES = MAX_MEMORY_PAGES * WASM_PAGE;
