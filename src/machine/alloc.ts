// The arena allocator. Only the host allocates (buffer pages, per-CPU buffers, iterators, programs), so
// its bookkeeping lives on the host; the memory it hands out is shared. Freed blocks are kept per size
// and reused: buffer pages come and go in a few sizes.
import { Mem, MAX_MEMORY_BYTES, align } from '../layout.ts';
import { WASM_PAGE } from '../../assembly/abi.ts';
import { RingtraceError } from '../errors.ts';

export class Arena {
  private top: number;
  private readonly free = new Map<number, number[]>();
  private used = 0;

  constructor(private readonly mem: Mem, start: number) {
    this.top = start;
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
      throw new RingtraceError('ENOMEM', `cannot allocate ${size} bytes: the shared memory is limited to ${MAX_MEMORY_BYTES >> 20} MiB`);
    }
    if (end > this.mem.size) {
      this.mem.memory.grow(Math.ceil((end - this.mem.size) / WASM_PAGE));
      this.mem.refresh();
    }
    this.top = end;
    this.used += size;
    return at;
  }

  release(addr: number, size: number): void {
    size = align(size, 64);
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(addr);
    this.used -= size;
  }

  get bytesInUse(): number {
    return this.used;
  }
}
