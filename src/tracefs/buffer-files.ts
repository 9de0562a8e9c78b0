// tracefs files of the ring buffer (kernel/trace/trace.c): tracing_on, buffer_size_kb,
// buffer_total_size_kb, buffer_subbuf_size_kb, trace_clock, options/overwrite and per_cpu/cpuN/{
// buffer_size_kb, stats, trace_pipe_raw}.
import { RingtraceError } from '../errors.ts';
import { CLOCKS, type TraceBuffer } from '../ring/trace-buffer.ts';
import { abi, MAX_MEMORY_BYTES } from '../layout.ts';
import { TRACE_MODE_READ, TRACE_MODE_WRITE, file } from './node.ts';
import { formatSecUsec, fls, kstrtoulFromUser, strstrip, userString } from './parse.ts';
import type { PerCpuFile, TraceArray, TraceArrayFile } from './trace-array.ts';

const { SYS_PAGE_SIZE, SUBBUF_ORDER_MAX } = abi;

// per_cpu_ptr(tr->array_buffer.data, cpu)->entries: since update_buffer_entries() this is
// ring_buffer_size() of the CPU. A possible CPU that never came online has no ring buffer; the kernel
// keeps the size last set for all CPUs there. We report the size trace_rb_cpu_prepare() will give it
// when it comes up (the size the others share, or 2 sub-buffers if they differ), which is the same
// value unless a single CPU was resized.
function cpuEntries(tb: TraceBuffer, cpu: number): number {
  if (tb.hasCpu(cpu)) return tb.sizeOf(cpu);
  const nrs = new Set(tb.bufferCpus().map((c) => tb.nrPages(c)));
  return (nrs.size === 1 ? [...nrs][0] : 2) * tb.dataSize;
}

function possibleCpus(tr: TraceArray): number[] {
  return Array.from({ length: tr.rm.nrCpuIds }, (_, cpu) => cpu);
}

// tracing_entries_read()
function entriesRead(tr: TraceArray, cpu?: number): string {
  const tb = tr.buffer;
  if (cpu !== undefined) return `${cpuEntries(tb, cpu) >> 10}\n`;
  let size = 0;
  for (const c of possibleCpus(tr)) {
    const entries = cpuEntries(tb, c);
    if (size === 0) size = entries;
    if (size !== entries) return 'X\n';
  }
  return `${size >> 10}\n`;
}

// tracing_entries_write() -> tracing_resize_ring_buffer()
async function entriesWrite(tr: TraceArray, text: string, cpu?: number): Promise<void> {
  const kb = kstrtoulFromUser(text);
  // must have at least 1 entry
  if (kb === 0n) throw new RingtraceError('EINVAL', 'the size must be at least 1 KB');
  const tb = tr.buffer;
  // ring_buffer_resize() of one CPU the buffer has no buffer for returns without doing anything
  if (cpu !== undefined && !tb.hasCpu(cpu)) return;
  const bytes = kb << 10n;
  // the arena must have room for the new pages (the kernel's si_mem_available() test in
  // __rb_allocate_pages()): ring_buffer_resize() checks it before anything changes
  if (bytes > BigInt(MAX_MEMORY_BYTES)) {
    throw new RingtraceError('ENOMEM', `${kb} KB per CPU does not fit in the ${MAX_MEMORY_BYTES / 2 ** 20} MiB shared memory`);
  }
  await tb.resize(Number(bytes), cpu);
}

// tracing_total_entries_read(): every possible CPU's size, in KB
function totalEntriesRead(tr: TraceArray): string {
  let kb = 0;
  for (const c of possibleCpus(tr)) kb += cpuEntries(tr.buffer, c) >> 10;
  return `${kb}\n`;
}

// buffer_subbuf_size_read()
function subbufSizeRead(tr: TraceArray): string {
  return `${tr.buffer.subbufSize / 1024}\n`;
}

// buffer_subbuf_size_write(): KB rounded up to a power-of-two number of system pages, order 0..7;
// tracing is stopped around the change (tracing_stop_tr / tracing_start_tr) and, as in the kernel, a
// new size loses the buffer's data.
async function subbufSizeWrite(tr: TraceArray, text: string): Promise<void> {
  const val = kstrtoulFromUser(text) * 1024n;
  const pages = (val + BigInt(SYS_PAGE_SIZE) - 1n) / BigInt(SYS_PAGE_SIZE);
  // fls(pages - 1) on an unsigned int: 0 pages is fls(0xffffffff) = 32
  const order = pages === 0n ? 32 : fls(pages - 1n);
  if (order > SUBBUF_ORDER_MAX) {
    throw new RingtraceError(
      'EINVAL',
      `"${text.trim()}" KB is not 1 to ${(SYS_PAGE_SIZE << SUBBUF_ORDER_MAX) >> 10} KB (1 to ${1 << SUBBUF_ORDER_MAX} system pages)`,
    );
  }
  const tb = tr.buffer;
  const bytes = SYS_PAGE_SIZE << order;
  if (bytes === tb.subbufSize) return;
  tb.recordDisable();
  try {
    await tb.setSubbufSize(bytes);
  } finally {
    tb.recordEnable();
  }
}

// tracing_clock_show(): every clock, the current one in brackets, separated by spaces
function clockRead(tr: TraceArray): string {
  const current = tr.buffer.clock.name;
  return `${CLOCKS.map((c) => (c.name === current ? `[${c.name}]` : c.name)).join(' ')}\n`;
}

// tracing_clock_write() -> tracing_set_clock(): the name with whitespace stripped; the buffer is reset
// (even for the clock already in use) since old and new stamps do not compare
async function clockWrite(tr: TraceArray, text: string): Promise<void> {
  const name = strstrip(userString(text, 64));
  if (!CLOCKS.some((c) => c.name === name)) {
    throw new RingtraceError('EINVAL', `unknown clock "${name}" (available: ${CLOCKS.map((c) => c.name).join(' ')})`);
  }
  await tr.buffer.setClock(name);
}

// rb_simple_read(): tracer_tracing_is_on() -> ring_buffer_record_is_set_on()
function tracingOnRead(tr: TraceArray): string {
  return tr.buffer.recordIsSetOn ? '1\n' : '0\n';
}

// rb_simple_write(): any unsigned number, nonzero turns recording on
async function tracingOnWrite(tr: TraceArray, text: string): Promise<void> {
  const on = kstrtoulFromUser(text) !== 0n;
  const tb = tr.buffer;
  if (on === tb.recordIsSetOn) return;
  if (on) tb.recordOn();
  else tb.recordOff();
}

// trace_options_core_read() for TRACE_ITER_OVERWRITE
function overwriteRead(tr: TraceArray): string {
  return tr.buffer.overwrite ? '1\n' : '0\n';
}

// trace_options_core_write(): 0 or 1 only -> set_tracer_flag() -> ring_buffer_change_overwrite()
async function overwriteWrite(tr: TraceArray, text: string): Promise<void> {
  const val = kstrtoulFromUser(text);
  if (val !== 0n && val !== 1n) throw new RingtraceError('EINVAL', `${val} is not 0 or 1`);
  const on = val === 1n;
  if (on !== tr.buffer.overwrite) tr.buffer.setOverwrite(on);
}

// tracing_stats_read(). A possible CPU without a ring buffer reads as all zeros, like the
// ring_buffer_*_cpu() helpers return for a CPU outside buffer->cpumask.
function statsRead(tr: TraceArray, cpu: number): string {
  const tb = tr.buffer;
  const s = tb.hasCpu(cpu)
    ? tb.stats(cpu)
    : { entries: 0, overrun: 0, commitOverrun: 0, bytes: 0, oldestEventTs: 0, nowTs: tb.nowTs(cpu), droppedEvents: 0, readEvents: 0 };
  const ts = (t: number) => (tb.clock.inNs ? formatSecUsec(t) : String(t));
  return (
    `entries: ${s.entries}\n` +
    `overrun: ${s.overrun}\n` +
    `commit overrun: ${s.commitOverrun}\n` +
    `bytes: ${s.bytes}\n` +
    `oldest event ts: ${ts(s.oldestEventTs)}\n` +
    `now ts: ${ts(s.nowTs)}\n` +
    `dropped events: ${s.droppedEvents}\n` +
    `read events: ${s.readEvents}\n`
  );
}

// tracing_buffers_read(), read until empty: every readable page as a whole sub-buffer (consuming).
// No ring buffer for the CPU: ring_buffer_alloc_read_page() fails with ENODEV. Bounded by the ring's
// size so that a CPU writing meanwhile cannot keep the reader going forever.
export function pipeRawRead(tr: TraceArray, cpu: number): Uint8Array {
  const tb = tr.buffer;
  if (!tb.hasCpu(cpu)) throw new RingtraceError('ENODEV', `CPU ${cpu} has no ring buffer (it was never online)`);
  const close = tb.open();
  try {
    const pages: Uint8Array[] = [];
    const limit = tb.nrPages(cpu) + 1;
    for (let i = 0; i < limit; i++) {
      const page = tb.readPage(cpu);
      if (!page) break;
      pages.push(page);
    }
    const out = new Uint8Array(pages.reduce((n, p) => n + p.byteLength, 0));
    let off = 0;
    for (const p of pages) {
      out.set(p, off);
      off += p.byteLength;
    }
    return out;
  } finally {
    close();
  }
}

export const BUFFER_FILES: readonly TraceArrayFile[] = [
  ['tracing_on', (tr) => file({ mode: TRACE_MODE_WRITE, read: () => tracingOnRead(tr), write: (t) => tracingOnWrite(tr, t) })],
  ['buffer_size_kb', (tr) => file({ mode: TRACE_MODE_WRITE, read: () => entriesRead(tr), write: (t) => entriesWrite(tr, t) })],
  ['buffer_total_size_kb', (tr) => file({ mode: TRACE_MODE_READ, read: () => totalEntriesRead(tr) })],
  ['buffer_subbuf_size_kb', (tr) => file({ mode: TRACE_MODE_WRITE, read: () => subbufSizeRead(tr), write: (t) => subbufSizeWrite(tr, t) })],
  ['trace_clock', (tr) => file({ mode: TRACE_MODE_WRITE, read: () => clockRead(tr), write: (t) => clockWrite(tr, t) })],
  ['options/overwrite', (tr) => file({ mode: TRACE_MODE_WRITE, read: () => overwriteRead(tr), write: (t) => overwriteWrite(tr, t) })],
];

export const PER_CPU_BUFFER_FILES: readonly PerCpuFile[] = [
  ['buffer_size_kb', (tr, cpu) => file({ mode: TRACE_MODE_WRITE, read: () => entriesRead(tr, cpu), write: (t) => entriesWrite(tr, t, cpu) })],
  ['stats', (tr, cpu) => file({ mode: TRACE_MODE_READ, read: () => statsRead(tr, cpu) })],
  ['trace_pipe_raw', (tr, cpu) => file({ mode: TRACE_MODE_READ, readBinary: () => pipeRawRead(tr, cpu) })],
];
