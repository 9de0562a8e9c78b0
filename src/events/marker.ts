// trace_marker and trace_marker_raw (kernel/trace/trace.c: tracing_mark_write, write_marker_to_buffer,
// tracing_mark_raw_write): user space writes print / raw_data events into a trace_array's buffer. The
// write runs on a CPU as the task that CPU runs.
import type { RingMachine } from '../api.ts';
import type { TraceBuffer } from '../ring/trace-buffer.ts';
import { RingtraceError } from '../errors.ts';
import { abi } from '../layout.ts';
import { Workload } from '../machine/workload.ts';

const { ENT_SIZE, TRACE_PRINT, TRACE_RAW_DATA } = abi;

export const TRACE_MARKER_MAX_SIZE = 4096;
// sizeof(struct print_entry) (trace_entry, ip) and sizeof(struct raw_data_entry) (trace_entry, id)
const PRINT_ENTRY_SIZE = 16;
const RAW_DATA_ENTRY_SIZE = 12;

export function markerCpu(rm: RingMachine, cpu?: number): number {
  if (cpu === undefined) return rm.onlineCpus()[0];
  if (!rm.onlineCpus().includes(cpu)) throw new RingtraceError('ENODEV', `CPU ${cpu} is offline`);
  return cpu;
}

function markIp(rm: RingMachine, fn: string): bigint {
  return rm.ftrace?.lookupName(fn)[0]?.ip ?? 0n;
}

// One entry through the CPU; false when the ring buffer refused it (recording off, full)
async function writeEntry(rm: RingMachine, buffer: TraceBuffer, cpu: number, entry: { type: number; payload: Uint8Array; triggers?: string; newlineAt?: number }): Promise<boolean> {
  const res = await rm.run(cpu, new Workload().entry({ ...entry, buffer }));
  return res.written === 1;
}

// A print entry's payload (struct print_entry after trace_entry: ip, then the text with "\n" added
// unless it ends with one, and a NUL); newlineAt is where a "\n" was added, 0 when none was
// (write_marker_to_buffer(), __trace_puts())
export function printEntryPayload(ip: bigint, text: Uint8Array): { payload: Uint8Array; newlineAt: number } {
  const cnt = text.length;
  const payload = new Uint8Array(PRINT_ENTRY_SIZE - ENT_SIZE + cnt + 2);
  new DataView(payload.buffer).setBigUint64(0, ip, true);
  payload.set(text, 8);
  const added = cnt === 0 || text[cnt - 1] !== 0x0a;
  if (added) payload[8 + cnt] = 0x0a;
  return { payload, newlineAt: added ? 8 + cnt : 0 };
}

// __trace_array_puts(): a print entry the kernel itself writes (as tracing_snapshot_instance_cond
// does), with no triggers
export function tracePutsWorkload(rm: RingMachine, buffer: TraceBuffer, text: string, fn: string): Workload {
  const { payload } = printEntryPayload(markIp(rm, fn), new TextEncoder().encode(text));
  return new Workload().entry({ type: TRACE_PRINT, payload, buffer });
}

// write_marker_to_buffer(): one write(2) of trace_marker. The entry is the text plus "\n" (unless it
// ends with one) and a NUL; text too long for one event is cut to what fits, and write(2) returns how
// many bytes it took (the caller writes the rest again, as a shell's echo does).
export async function markerWriteOnce(rm: RingMachine, buffer: TraceBuffer, bytes: Uint8Array, cpu?: number): Promise<number> {
  let cnt = Math.min(bytes.length, TRACE_MARKER_MAX_SIZE);
  const meta = PRINT_ENTRY_SIZE + 2;
  const max = buffer.maxDataSize;
  if (cnt + meta > max) cnt = max - meta;
  const { payload, newlineAt } = printEntryPayload(markIp(rm, 'tracing_mark_write'), bytes.subarray(0, cnt));
  // the triggers of events/ftrace/print (tr->trace_marker_file) run on the entry before its commit;
  // ring buffer disabled: "return as if not open for write"
  const entry = { type: TRACE_PRINT, payload, triggers: 'ftrace:print', newlineAt };
  if (!(await writeEntry(rm, buffer, markerCpu(rm, cpu), entry))) throw new RingtraceError('EBADF', 'the ring buffer is not recording');
  return cnt;
}

// tracing_mark_write() until everything is written, like write(2) loops of a user program
export async function markerWrite(rm: RingMachine, buffer: TraceBuffer, bytes: Uint8Array, cpu?: number): Promise<void> {
  let off = 0;
  do off += await markerWriteOnce(rm, buffer, bytes.subarray(off), cpu);
  while (off < bytes.length);
}

// tracing_mark_raw_write(): a u32 id and data, all or nothing
export async function markerRawWrite(rm: RingMachine, buffer: TraceBuffer, bytes: Uint8Array, cpu?: number): Promise<void> {
  if (bytes.length < 4) throw new RingtraceError('EINVAL', `${bytes.length} bytes: a raw marker starts with a 4-byte id`);
  if (bytes.length > TRACE_MARKER_MAX_SIZE) throw new RingtraceError('EINVAL', `${bytes.length} bytes is more than ${TRACE_MARKER_MAX_SIZE}`);
  if (RAW_DATA_ENTRY_SIZE - 4 + bytes.length > buffer.maxDataSize) throw new RingtraceError('EBADF', `${bytes.length} bytes do not fit in one event`);
  if (!(await writeEntry(rm, buffer, markerCpu(rm, cpu), { type: TRACE_RAW_DATA, payload: bytes }))) throw new RingtraceError('EBADF', 'the ring buffer is not recording');
}
