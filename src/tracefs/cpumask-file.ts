// tracing_cpumask (kernel/trace/trace.c: tracing_cpumask_read / tracing_set_cpumask): which CPUs a
// trace_array records on; a CPU taken out has its ring buffer's recording disabled
// (ring_buffer_record_disable_cpu), one taken back in re-enabled.
import { RingtraceError } from '../errors.ts';
import { TRACE_MODE_WRITE, file } from './node.ts';
import { printable } from './parse.ts';
import type { TraceArray, TraceArrayFile } from './trace-array.ts';
import type { TraceBuffer } from '../ring/trace-buffer.ts';

const masks = new WeakMap<TraceBuffer, bigint>();

function all(nr: number): bigint {
  return (1n << BigInt(nr)) - 1n;
}

export function tracingCpumask(tr: TraceArray): bigint {
  return masks.get(tr.buffer) ?? all(tr.rm.nrCpuIds);
}

// "%*pb": hex in 32-bit chunks separated by commas, the first as wide as its bits need
export function bitmapString(mask: bigint, nbits: number): string {
  const chunks: string[] = [];
  for (let lo = 0; lo < nbits; lo += 32) {
    const bits = Math.min(32, nbits - lo);
    chunks.unshift(((mask >> BigInt(lo)) & ((1n << BigInt(bits)) - 1n)).toString(16).padStart(Math.ceil(bits / 4), '0'));
  }
  return chunks.join(',');
}

// bitmap_parse(): hex chunks of up to 32 bits separated by commas, the last one lowest; bits past
// nr_cpu_ids are EOVERFLOW
export function bitmapParse(text: string, nbits: number): bigint {
  const s = text.trim();
  if (!/^[0-9a-fA-F]{1,8}(,[0-9a-fA-F]{1,8})*$/.test(s)) throw new RingtraceError('EINVAL', `"${printable(text)}" is not a CPU mask in hex`);
  let mask = 0n;
  for (const chunk of s.split(',')) mask = (mask << 32n) | BigInt(`0x${chunk}`);
  if (mask >> BigInt(nbits)) throw new RingtraceError('EOVERFLOW', `"${printable(s)}" names CPUs past ${nbits - 1}`);
  return mask;
}

// tracing_set_cpumask(): record_disable_cpu for CPUs leaving the mask, enable for those coming back
function setCpumask(tr: TraceArray, text: string): void {
  const nr = tr.rm.nrCpuIds;
  const next = bitmapParse(text, nr);
  const cur = tracingCpumask(tr);
  for (let cpu = 0; cpu < nr; cpu++) {
    const bit = 1n << BigInt(cpu);
    if ((cur & bit) === (next & bit)) continue;
    // the snapshot buffer too (kernel commit "tracing: Fix tracing_cpumask and snapshot")
    const snap = tr.rm.events.snapshots.of(tr.buffer);
    for (const tb of snap ? [tr.buffer, snap] : [tr.buffer]) {
      if (!tb.hasCpu(cpu)) continue;
      if (cur & bit) tb.recordDisableCpu(cpu);
      else tb.recordEnableCpu(cpu);
    }
  }
  masks.set(tr.buffer, next);
  const out = new Set<number>();
  for (let cpu = 0; cpu < nr; cpu++) if (!(next & (1n << BigInt(cpu)))) out.add(cpu);
  tr.rm.events.snapshots.maskedOut.set(tr.buffer, out);
}

export const CPUMASK_FILES: readonly TraceArrayFile[] = [
  ['tracing_cpumask', (tr) => file({
    mode: TRACE_MODE_WRITE,
    read: () => `${bitmapString(tracingCpumask(tr), tr.rm.nrCpuIds)}\n`,
    write: async (t) => setCpumask(tr, t),
  })],
];
