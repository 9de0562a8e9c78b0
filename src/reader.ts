// Reading a machine's CPU buffers from any JavaScript thread that was posted its handle (a
// worker_threads worker, a Deno or Web Worker, or the machine's own thread): ring_buffer_consume(),
// ring_buffer_peek() and ring_buffer_read_page(). As in the kernel, readers run anywhere and are
// serialised per CPU buffer by its reader_lock, the same lock in shared memory that the machine's own
// readers take; a read never waits on a writer beyond one event's commit. A reader holds nothing between
// calls, so a thread that ends (or is terminated) between them leaves nothing behind.
import type { Mem } from './layout.ts';
import { guardTraps, type RingExports } from './machine/wasm.ts';
import { RingtraceError } from './errors.ts';
import { consumeLocked, readPageLocked, type TraceEvent } from './ring/cpu-reader.ts';
import { openHandle, checkCpuId, checkLiveBuffer, checkBufferCpu, cpuDesc, type MachineHandle } from './writer.ts';
import { writerHolder } from './machine/writer-claim.ts';
import { TB_BUFFERS, WRITER_CLOSED } from '../assembly/abi.ts';

export interface ReaderOptions {
  instance?: string; // read instances/NAME instead of the top-level buffer
}

export class Reader {
  private closed = false;

  private constructor(private readonly mem: Mem, private readonly x: RingExports, private readonly tb: number) {
    // this thread is no CPU: it reads what the writers have published and never waits for them
    x.rbReaderWait(0);
  }

  static open(handle: MachineHandle, opts: ReaderOptions = {}): Reader {
    const { mem, exports, tb } = openHandle(handle, opts.instance);
    checkLiveBuffer(mem, tb);
    return new Reader(mem, guardTraps(exports), tb);
  }

  // The CPU buffer to read; the writer of that CPU is asked to publish what it has committed.
  private target(cpu: unknown): number {
    if (this.closed) throw new RingtraceError('EINVAL', 'this reader was closed');
    // the host may have grown the memory for buffers made since
    this.mem.refresh();
    const c = checkCpuId(this.mem, cpu);
    if (writerHolder(this.mem, cpuDesc(this.mem, c)) === WRITER_CLOSED) throw new RingtraceError('ENODEV', 'the machine is closed');
    checkBufferCpu(this.mem, this.tb, c);
    this.x.rbRequestPublish(this.mem.load32(this.tb + TB_BUFFERS + c * 4));
    return c;
  }

  // ring_buffer_consume(): the oldest event of the CPU's buffer, removed from it; null when empty
  consume(cpu: number): TraceEvent | null {
    return consumeLocked(this.mem, this.x, this.tb, this.target(cpu), false);
  }

  // ring_buffer_peek(): the same event without removing it
  peek(cpu: number): TraceEvent | null {
    return consumeLocked(this.mem, this.x, this.tb, this.target(cpu), true);
  }

  // ring_buffer_read_page(): a whole sub-buffer in the kernel's format (trace_pipe_raw's), its events
  // consumed; null when there is nothing to read (with `full`, until a page is full)
  readPage(cpu: number, full = false): Uint8Array | null {
    return readPageLocked(this.mem, this.x, this.tb, this.target(cpu), full);
  }

  // Nothing is held between calls: closing only makes later calls fail.
  close(): void {
    this.closed = true;
  }
}

// In a thread that was posted a handle: a reader of the machine's CPU buffers.
export function openReader(handle: MachineHandle, opts?: ReaderOptions): Reader {
  return Reader.open(handle, opts);
}
