// snapshot, per_cpu/cpuN/snapshot and per_cpu/cpuN/snapshot_raw (kernel/trace/trace.c:
// tracing_snapshot_write, print_snapshot_help, snapshot_raw_open)
import { RingtraceError } from '../errors.ts';
import { TRACE_MODE_READ, TRACE_MODE_WRITE, file } from './node.ts';
import { kstrtoulFromUser } from './parse.ts';
import { traceRead } from './trace-files.ts';
import { pipeRawRead } from './buffer-files.ts';
import type { PerCpuFile, TraceArray, TraceArrayFile } from './trace-array.ts';

// show_snapshot_main_help() / show_snapshot_percpu_help()
const MAIN_HELP =
  '# echo 0 > snapshot : Clears and frees snapshot buffer\n' +
  '# echo 1 > snapshot : Allocates snapshot buffer, if not already allocated.\n' +
  '#                      Takes a snapshot of the main buffer.\n' +
  '# echo 2 > snapshot : Clears snapshot buffer (but does not allocate or free)\n' +
  "#                      (Doesn't have to be '2' works with any number that\n" +
  "#                       is not a '0' or '1')\n";
const PERCPU_HELP =
  '# echo 0 > snapshot : Invalid for per_cpu snapshot file.\n' +
  '# echo 1 > snapshot : Allocates snapshot buffer, if not already allocated.\n' +
  '#                     Takes a snapshot of the main buffer for this cpu.\n' +
  "# echo 2 > snapshot : Clears this cpu's snapshot buffer (but does not allocate)\n" +
  "#                     (Doesn't have to be '2' works with any number that\n" +
  "#                      is not a '0' or '1')\n";

function tracerName(tr: TraceArray): string {
  return tr.rm.ftrace?.currentTracer(tr.buffer) ?? 'nop';
}

// s_show() of the snapshot file: the help while the snapshot is empty (or not allocated), else the
// snapshot's events under the usual header
function snapshotRead(tr: TraceArray, cpu?: number): string {
  const snap = tr.rm.events.snapshots.of(tr.buffer);
  const empty = !snap || snap.bufferCpus().filter((c) => cpu === undefined || c === cpu).every((c) => snap.empty(c));
  if (empty) {
    return (
      `# tracer: ${tracerName(tr)}\n#\n` +
      (snap ? '#\n# * Snapshot is allocated *\n#\n' : '#\n# * Snapshot is freed *\n#\n') +
      '# Snapshot commands:\n' +
      (cpu === undefined ? MAIN_HELP : PERCPU_HELP)
    );
  }
  return traceRead({ ...tr, buffer: snap }, cpu, tracerName(tr));
}

// tracing_snapshot_write(): 0 frees (not per CPU), 1 allocates and swaps, anything else clears
async function snapshotWrite(tr: TraceArray, text: string, cpu?: number): Promise<void> {
  const val = kstrtoulFromUser(text);
  const snaps = tr.rm.events.snapshots;
  if (val === 0n) {
    if (cpu !== undefined) throw new RingtraceError('EINVAL', 'a per-CPU snapshot cannot be freed');
    await snaps.free(tr.buffer);
    return;
  }
  if (val === 1n) {
    if (cpu !== undefined && !tr.buffer.hasCpu(cpu)) throw new RingtraceError('EINVAL', `CPU ${cpu} has no buffer`);
    await snaps.take(tr.buffer, cpu);
    return;
  }
  const snap = snaps.of(tr.buffer);
  if (!snap) return;
  if (cpu === undefined) await snap.reset();
  else if (snap.hasCpu(cpu)) await snap.reset(cpu);
}

export const SNAPSHOT_FILES: readonly TraceArrayFile[] = [
  ['snapshot', (tr) => file({ mode: TRACE_MODE_WRITE, read: () => snapshotRead(tr), write: (t) => snapshotWrite(tr, t) })],
];

export const PER_CPU_SNAPSHOT_FILES: readonly PerCpuFile[] = [
  ['snapshot', (tr, cpu) => file({ mode: TRACE_MODE_WRITE, read: () => snapshotRead(tr, cpu), write: (t) => snapshotWrite(tr, t, cpu) })],
  ['snapshot_raw', (tr, cpu) => file({
    mode: TRACE_MODE_READ,
    readBinary: () => {
      const snap = tr.rm.events.snapshots.of(tr.buffer);
      if (!snap) throw new RingtraceError('ENODEV', 'no snapshot is allocated');
      return pipeRawRead({ ...tr, buffer: snap }, cpu);
    },
  })],
];
