// The arena allocator. Only the host allocates (buffer pages, per-CPU buffers, iterators, programs), so
// its bookkeeping lives on the host; the memory it hands out is shared. Freed blocks are kept per size
// and reused: buffer pages come and go in a few sizes.
//
// A request for many blocks (a resize, a sub-buffer change, a new instance) is checked as a whole with
// reserve() before anything is taken, counting the free blocks that fit and the room above the top, so
// running out of memory is reported at once and leaves nothing half-allocated.
import { Mem, MAX_MEMORY_BYTES, align } from '../layout.ts';
import { WASM_PAGE } from '../../assembly/abi.ts';
import { RingtraceError } from '../errors.ts';

const MIB = 1 << 20;

// Growing the memory recreates every view of it; grow by at least this much at a time.
const GROW_MIN_BYTES = 16 * MIB;

export interface BlockRequest {
  size: number;
  count: number;
}

function mib(bytes: number, round = Math.ceil): string {
  return `${round(bytes / MIB)} MiB`;
}

export class Arena {
  private top: number;
  private readonly free = new Map<number, number[]>();
  private used = 0;

  constructor(private readonly mem: Mem, private readonly start: number) {
    this.top = start;
  }

  // Whether [addr, addr + size) lies in memory the arena has handed out (live or freed).
  contains(addr: number, size: number): boolean {
    return Number.isInteger(addr) && addr >= this.start && addr + size <= this.top;
  }

  // ENOMEM unless every block of `blocks` can be allocated now (alignment 64, as alloc()'s default).
  reserve(blocks: BlockRequest[], what: string): void {
    const bySize = new Map<number, number>();
    for (const b of blocks) {
      if (b.count <= 0) continue;
      const size = align(b.size, 64);
      bySize.set(size, (bySize.get(size) ?? 0) + b.count);
    }
    let fromTop = 0;
    let total = 0;
    for (const [size, count] of bySize) {
      total += size * count;
      fromTop += size * Math.max(0, count - (this.free.get(size)?.length ?? 0));
    }
    const room = MAX_MEMORY_BYTES - align(this.top, 64);
    if (fromTop > room) {
      throw new RingtraceError(
        'ENOMEM',
        `${what} needs ${mib(total)} of shared memory; ${mib(room + this.freeBytes(), Math.floor)} of the ${MAX_MEMORY_BYTES / MIB} MiB are free` +
          (this.freeBytes() ? ` (${mib(this.freeBytes(), Math.floor)} of it in freed blocks of other sizes)` : ''),
      );
    }
  }

  alloc(size: number, alignment = 64): number {
    size = align(size, 64);
    const reuse = this.free.get(size);
    const addr = reuse?.pop();
    if (addr !== undefined) {
      this.mem.u8.fill(0, addr, addr + size);
      this.used += size;
      return addr;
    }
    const at = align(this.top, alignment);
    const end = at + size;
    if (end > MAX_MEMORY_BYTES) {
      throw new RingtraceError('ENOMEM', `cannot allocate ${size} bytes: the shared memory is limited to ${MAX_MEMORY_BYTES / MIB} MiB`);
    }
    if (end > this.mem.size) {
      const want = Math.min(MAX_MEMORY_BYTES, Math.max(end, this.mem.size + GROW_MIN_BYTES, this.mem.size * 1.25));
      if (!this.grow(want) && !this.grow(end)) {
        throw new RingtraceError('ENOMEM', `the system refused to grow the shared memory to ${mib(end)}`);
      }
      this.mem.refresh();
    }
    this.top = end;
    this.used += size;
    return at;
  }

  private grow(bytes: number): boolean {
    try {
      this.mem.memory.grow(Math.ceil((bytes - this.mem.size) / WASM_PAGE));
      return true;
    } catch {
      return false;
    }
  }

  // `count` blocks of `size`: freed ones first, the rest side by side from the top, so the many small
  // blocks of a large request share system pages (touching one page per block faults a page per block)
  allocMany(size: number, count: number): number[] {
    size = align(size, 64);
    const out: number[] = [];
    const reuse = this.free.get(size);
    while (out.length < count && reuse?.length) {
      const addr = reuse.pop()!;
      this.mem.u8.fill(0, addr, addr + size);
      this.used += size;
      out.push(addr);
    }
    const rest = count - out.length;
    if (rest > 0) {
      let run: number;
      try {
        run = this.alloc(size * rest);
      } catch (err) {
        for (const addr of out) this.release(addr, size);
        throw err;
      }
      for (let i = 0; i < rest; i++) out.push(run + i * size);
    }
    return out;
  }

  release(addr: number, size: number): void {
    size = align(size, 64);
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(addr);
    this.used -= size;
  }

  private freeBytes(): number {
    let n = 0;
    for (const [size, list] of this.free) n += size * list.length;
    return n;
  }

  get bytesInUse(): number {
    return this.used;
  }
}
