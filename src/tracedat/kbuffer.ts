// Records out of the CPU data of a trace.dat: each sub-buffer decoded as libtraceevent's kbuffer does
// (kbuffer-parse.c), with the layout events/header_page and events/header_event describe: u64 page
// time stamp, an 8-byte commit word whose bits 31 and 30 are RB_MISSED_EVENTS / RB_MISSED_STORED (the
// count follows the data when stored), then 4-byte-aligned events {type_len:5, time_delta:27}.
import { RingtraceError } from '../errors.ts';

const TS_SHIFT = 27n;
const TYPE_PADDING = 29;
const TYPE_TIME_EXTEND = 30;
const TYPE_TIME_STAMP = 31;
const MISSED_EVENTS = 0x80000000;
const MISSED_STORED = 0x40000000;
const TS_MSB = 0xf8n << 56n;

export interface TraceRecord {
  cpu: number;
  ts: number; // in the clock's units (ns for the ns clocks)
  data: Uint8Array; // the event payload (struct trace_entry first)
  // events lost before this one: a count, -1 when the page only says some were lost, else 0
  // (kbuffer_missed_events, reported with the first record of a page)
  missed: number;
  page: number; // index of the sub-buffer within the CPU's data
}

function bigAt(dv: DataView, at: number, le: boolean): bigint {
  return dv.getBigUint64(at, le);
}

// The data records of one CPU's pages, in order.
export function decodeCpuData(data: Uint8Array, cpu: number, pageSize: number, littleEndian = true, longSize = 8): TraceRecord[] {
  const out: TraceRecord[] = [];
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const hdr = 8 + longSize;
  const fail = (page: number, msg: string) => new RingtraceError('EINVAL', `CPU ${cpu} sub-buffer ${page}: ${msg}`);
  for (let base = 0, page = 0; base + hdr <= data.length; base += pageSize, page++) {
    const pageTs = bigAt(dv, base, littleEndian);
    const commitWord = longSize === 8 ? Number(bigAt(dv, base + 8, littleEndian) & 0xffffffffn) : dv.getUint32(base + 8, littleEndian);
    const size = commitWord & ~(MISSED_EVENTS | MISSED_STORED) & 0x3fffffff;
    if (size > pageSize - hdr) throw fail(page, `commit ${size} is beyond the ${pageSize - hdr}-byte data area`);
    const start = base + hdr;
    let missed = 0;
    if (commitWord & MISSED_EVENTS) {
      missed = -1;
      if (commitWord & MISSED_STORED && start + size + longSize <= base + pageSize) {
        missed = longSize === 8 ? Number(bigAt(dv, start + size, littleEndian)) : dv.getUint32(start + size, littleEndian);
      }
    }
    let ts = pageTs;
    let pos = 0;
    while (pos < size) {
      const at = start + pos;
      const word = dv.getUint32(at, littleEndian);
      const typeLen = word & 31;
      const delta = BigInt(word >>> 5);
      const array0 = () => {
        if (pos + 8 > size) throw fail(page, `event at ${pos} runs past the commit ${size}`);
        return BigInt(dv.getUint32(at + 4, littleEndian));
      };
      if (typeLen === TYPE_PADDING) {
        if (delta === 0n) break; // the rest of the page is empty
        pos += Number(array0()) + 4;
        continue;
      }
      if (typeLen === TYPE_TIME_EXTEND) {
        ts += (array0() << TS_SHIFT) + delta;
        pos += 8;
        continue;
      }
      if (typeLen === TYPE_TIME_STAMP) {
        // an absolute stamp of 59 bits: the top bits come from the page's stamp
        let abs = (array0() << TS_SHIFT) + delta;
        if (pageTs & TS_MSB) {
          abs |= pageTs & TS_MSB;
          if (abs < pageTs) abs += 1n << 59n;
        }
        ts = abs;
        pos += 8;
        continue;
      }
      let len: number;
      let payload: number;
      if (typeLen === 0) {
        len = Number(array0());
        payload = at + 8;
        len -= 4;
      } else {
        len = typeLen * 4;
        payload = at + 4;
      }
      const next = payload - start + len;
      if (len < 0 || next > size) throw fail(page, `event at ${pos} (${len} bytes) runs past the commit ${size}`);
      ts += delta;
      out.push({ cpu, ts: Number(ts), data: data.subarray(payload, payload + len), missed, page });
      missed = 0;
      pos = next;
    }
  }
  return out;
}

// Lists (of CPUs, of buffers) merged by time stamp, the earlier list first on a tie, as trace-cmd
// report reads them (tracecmd_read_next_data picks the CPU with the oldest next record, and
// tracecmd_iterate_events_multi the handle).
export function mergeByTime<T extends { ts: number }>(perCpu: T[][]): T[] {
  const idx = perCpu.map(() => 0);
  const out: T[] = [];
  for (;;) {
    let best = -1;
    for (let i = 0; i < perCpu.length; i++) {
      const r = perCpu[i][idx[i]];
      if (r && (best < 0 || r.ts < perCpu[best][idx[best]].ts)) best = i;
    }
    if (best < 0) return out;
    out.push(perCpu[best][idx[best]++]);
  }
}
