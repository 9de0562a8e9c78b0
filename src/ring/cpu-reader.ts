// The reads of one CPU buffer that copy their result out of the CPU buffer's spare page while holding
// its reader_lock (CPB_SPARE_PAGE): used by the host's read_page and by readers on users' threads, which
// cannot allocate and so share that page under the lock rather than own one each.
import type { Mem } from '../layout.ts';
import type { RingExports } from '../machine/wasm.ts';
import {
  TB_BUFFERS, TB_SUBBUF_SIZE, CPB_SPARE_PAGE, BP_PAGE, BDP_DATA, RD_TS, RD_LOST, RD_LENGTH, RD_DATA,
} from '../../assembly/abi.ts';

export interface TraceEvent {
  cpu: number;
  ts: number; // in the buffer's clock units (ns, or counts for `counter`)
  lost: number; // events lost before this one (consuming reads), or 1 if the iterator was overrun
  data: Uint8Array; // the payload, as ring_buffer_event_length() reports it (rounded up to 4 bytes)
}

// A reader record (RD_*) at `at` as a TraceEvent; `cap` is how many payload bytes the read could copy.
export function readRecord(mem: Mem, at: number, cap: number, cpu: number): TraceEvent {
  const length = Math.min(mem.load32(at + RD_LENGTH), cap);
  if (at + RD_DATA + length > mem.u8.length) mem.refresh();
  return {
    cpu,
    ts: mem.load64(at + RD_TS),
    lost: mem.load64(at + RD_LOST),
    data: mem.u8.slice(at + RD_DATA, at + RD_DATA + length),
  };
}

// Run `read` on `cpu`'s buffer of the trace_buffer at `tb` with its reader_lock held (the reads inside
// work on that CPU buffer even if a snapshot swap moves it meanwhile); `read` gets the spare page's
// slot (a buffer_page's BP_PAGE word) and the sub-buffer size. null when the CPU has no buffer, or
// when the host found the lock held by a reader on a CPU (it never waits on one: nothing this time).
function underReaderLock<T>(mem: Mem, x: RingExports, tb: number, cpu: number, read: (slot: number, subbuf: number) => T): T | null {
  const cb = mem.load32(tb + TB_BUFFERS + cpu * 4);
  if (cb === 0) return null;
  if (!x.rbReaderLock(cb)) return null;
  try {
    return read(mem.load32(cb + CPB_SPARE_PAGE) + BP_PAGE, mem.load32(tb + TB_SUBBUF_SIZE) + BDP_DATA);
  } finally {
    x.rbReaderUnlock(cb);
  }
}

// ring_buffer_consume() (or ring_buffer_peek()) through the spare page
export function consumeLocked(mem: Mem, x: RingExports, tb: number, cpu: number, peek: boolean): TraceEvent | null {
  return underReaderLock(mem, x, tb, cpu, (slot, subbuf) => {
    const area = mem.load32(slot);
    const cap = subbuf - RD_DATA;
    if (!(peek ? x.rbPeek(tb, cpu, area, cap) : x.rbConsume(tb, cpu, area, cap))) return null;
    return readRecord(mem, area, cap, cpu);
  });
}

// ring_buffer_read_page() into the spare page; a copy of the whole sub-buffer in the kernel's format
// (what trace_pipe_raw reads), or null when there is nothing (or, with `full`, no full page) to read.
export function readPageLocked(mem: Mem, x: RingExports, tb: number, cpu: number, full: boolean): Uint8Array | null {
  return underReaderLock(mem, x, tb, cpu, (slot, subbuf) => {
    if (x.rbReadPage(tb, cpu, slot, subbuf, full ? 1 : 0) < 0) return null;
    const page = mem.load32(slot);
    if (page + subbuf > mem.u8.length) mem.refresh();
    return mem.u8.slice(page, page + subbuf);
  });
}
