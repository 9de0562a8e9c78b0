// An independent decoder of ring-buffer sub-buffer pages (what ring_buffer_read_page() hands out and
// per_cpu/cpuN/trace_pipe_raw returns), written only from the kernel's documented format:
//
//   events/header_page (ring_buffer_print_page_header):
//     u64 timestamp at offset 0, local_t commit at offset 8 (8 bytes on a 64-bit kernel), data at 16.
//     commit carries RB_MISSED_EVENTS (bit 31) and RB_MISSED_STORED (bit 30); when STORED, the count
//     of missed events (an unsigned long) follows the data at data[commit].
//   events/header_event (ring_buffer_print_entry_header):
//     u32 { type_len:5, time_delta:27 }, then u32 array[].
//     type_len 29 padding: time_delta 0 is the "null" padding (the rest of the page is empty),
//       otherwise array[0] is the length of the padding after its 4-byte header (rb_event_length).
//     type_len 30 time extend: delta = array[0] << 27 | time_delta, 8 bytes in all.
//     type_len 31 absolute time stamp: array[0] << 27 | time_delta, only 59 bits (rb_fix_abs_ts()
//       restores the top bits from the page stamp), 8 bytes in all.
//     type_len 1..28: data of type_len * 4 bytes from array[0].
//     type_len 0: array[0] is the data length plus 4 (it counts itself: rb_event_data_length() adds
//       only the 4-byte header to it, and ring_buffer_event_length() takes 4 off again for lengths
//       above RB_MAX_SMALL_DATA + 4), the data starts at array[1].
//     Everything is 4-byte aligned (RB_ALIGNMENT).
//
// Timestamps are computed as the kernel's consuming reader does (rb_update_read_stamp() and
// rb_buffer_peek()): start from the page's time stamp; a data event adds its time_delta; a time
// extend adds its 59-bit delta; an absolute stamp replaces the running stamp; padding adds nothing.
//
// Deliberately imports nothing from assembly/ or src/: the constants are spelled out here.

export const BUF_PAGE_HDR_SIZE = 16;
export const RB_MISSED_EVENTS = 0x80000000;
export const RB_MISSED_STORED = 0x40000000;
export const RB_MISSED_FLAGS = RB_MISSED_EVENTS | RB_MISSED_STORED;

export const TYPE_LEN_BITS = 5;
export const TS_SHIFT = 27;
export const RINGBUF_TYPE_DATA_TYPE_LEN_MAX = 28;
export const RINGBUF_TYPE_PADDING = 29;
export const RINGBUF_TYPE_TIME_EXTEND = 30;
export const RINGBUF_TYPE_TIME_STAMP = 31;
export const RB_ALIGNMENT = 4;
export const RB_MAX_SMALL_DATA = RB_ALIGNMENT * RINGBUF_TYPE_DATA_TYPE_LEN_MAX; // 112
const TS_MSB = 0xf8n << 56n;

export type DecodedType = 'data' | 'padding' | 'time_extend' | 'time_stamp';

export interface DecodedEvent {
  offset: number; // of the event header within the data area
  type: DecodedType;
  typeLen: number;
  ts: number; // absolute stamp after this event (for data: the event's stamp)
  data: Uint8Array; // data events: the payload as ring_buffer_event_length() reports it; else empty
  length: number; // bytes the event occupies in the page (rb_event_length)
}

export interface DecodedPage {
  timestamp: number;
  commit: number; // bytes of data (flags removed)
  commitRaw: bigint; // the whole 8-byte commit word
  missedEvents: boolean; // RB_MISSED_EVENTS
  missedStored: boolean; // RB_MISSED_STORED
  missedCount: number | null; // the count stored after the data, when RB_MISSED_STORED
  events: DecodedEvent[];
}

export class DecodeError extends Error {}

export function decodePage(page: Uint8Array): DecodedPage {
  if (page.byteLength < BUF_PAGE_HDR_SIZE) throw new DecodeError(`page of ${page.byteLength} bytes has no header`);
  const dv = new DataView(page.buffer, page.byteOffset, page.byteLength);
  const dataSize = page.byteLength - BUF_PAGE_HDR_SIZE;
  const timestamp = dv.getBigUint64(0, true);
  const commitRaw = dv.getBigUint64(8, true);
  const low = Number(commitRaw & 0xffffffffn);
  const missedEvents = (low & RB_MISSED_EVENTS) !== 0;
  const missedStored = (low & RB_MISSED_STORED) !== 0;
  const commit = low & ~RB_MISSED_FLAGS & 0x3fffffff;
  if (commit > dataSize) throw new DecodeError(`commit ${commit} beyond the ${dataSize}-byte data area`);

  const events: DecodedEvent[] = [];
  let ts = timestamp;
  let pos = 0;
  const D = BUF_PAGE_HDR_SIZE;
  while (pos < commit) {
    if (pos + 4 > commit) throw new DecodeError(`truncated event header at ${pos}`);
    const hdr = dv.getUint32(D + pos, true);
    const typeLen = hdr & 31;
    const delta = hdr >>> TYPE_LEN_BITS;
    const array0 = () => {
      if (pos + 8 > commit) throw new DecodeError(`event at ${pos} (type_len ${typeLen}) runs past commit ${commit}`);
      return dv.getUint32(D + pos + 4, true);
    };
    if (typeLen === RINGBUF_TYPE_PADDING) {
      if (delta === 0) {
        // rb_null_event(): the rest of the page is empty
        events.push({ offset: pos, type: 'padding', typeLen, ts: Number(ts), data: new Uint8Array(0), length: commit - pos });
        break;
      }
      const length = array0() + 4;
      events.push({ offset: pos, type: 'padding', typeLen, ts: Number(ts), data: new Uint8Array(0), length });
      pos += length;
      continue;
    }
    if (typeLen === RINGBUF_TYPE_TIME_EXTEND) {
      ts += (BigInt(array0()) << BigInt(TS_SHIFT)) + BigInt(delta);
      events.push({ offset: pos, type: 'time_extend', typeLen, ts: Number(ts), data: new Uint8Array(0), length: 8 });
      pos += 8;
      continue;
    }
    if (typeLen === RINGBUF_TYPE_TIME_STAMP) {
      let abs = (BigInt(array0()) << BigInt(TS_SHIFT)) + BigInt(delta);
      // rb_fix_abs_ts(abs, page time stamp)
      if (timestamp & TS_MSB) {
        abs |= timestamp & TS_MSB;
        if (abs < timestamp) abs += 1n << 59n;
      }
      ts = abs;
      events.push({ offset: pos, type: 'time_stamp', typeLen, ts: Number(ts), data: new Uint8Array(0), length: 8 });
      pos += 8;
      continue;
    }
    // data
    let start: number;
    let dataLen: number;
    let length: number;
    if (typeLen === 0) {
      const a0 = array0();
      length = a0 + 4;
      start = pos + 8;
      dataLen = a0 - 4;
      if (a0 <= RB_MAX_SMALL_DATA + 4) throw new DecodeError(`type_len 0 event at ${pos} with a small length ${a0}`);
    } else {
      length = typeLen * 4 + 4;
      start = pos + 4;
      dataLen = typeLen * 4;
    }
    if (length % RB_ALIGNMENT !== 0) throw new DecodeError(`event at ${pos} has an unaligned length ${length}`);
    if (pos + length > commit) throw new DecodeError(`event at ${pos} (${length} bytes) runs past commit ${commit}`);
    ts += BigInt(delta);
    events.push({ offset: pos, type: 'data', typeLen, ts: Number(ts), data: page.slice(D + start, D + start + dataLen), length });
    pos += length;
  }

  let missedCount: number | null = null;
  if (missedStored) {
    if (commit + 8 > dataSize) throw new DecodeError('RB_MISSED_STORED without room for the count');
    missedCount = Number(dv.getBigUint64(D + commit, true));
  }
  return { timestamp: Number(timestamp), commit, commitRaw, missedEvents, missedStored, missedCount, events };
}

// Only the data events, with their stamps.
export function dataEvents(page: DecodedPage): { ts: number; data: Uint8Array }[] {
  return page.events.filter((e) => e.type === 'data').map((e) => ({ ts: e.ts, data: e.data }));
}

// The stress/write workloads' self-checking item (assembly/workload.ts fillItem, modelled on the
// kernel's rb_item): u32 size, u32 per-CPU sequence, u32 cpu, then bytes (seq + i) & 0xff for i from 12.
// Returns the header fields when it verifies, else a string saying what is wrong. `data` may be longer than size (rounded up to 4).
export function checkItem(data: Uint8Array, cpu?: number): { size: number; seq: number; cpu: number } | string {
  if (data.byteLength < 12) return `item of ${data.byteLength} bytes is shorter than its 12-byte header`;
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const size = dv.getUint32(0, true);
  const seq = dv.getUint32(4, true);
  const itemCpu = dv.getUint32(8, true);
  if (size < 12 || size > data.byteLength) return `item size ${size} does not fit its ${data.byteLength}-byte event`;
  // rb_calculate_event_length() rounds the payload up to 4 bytes, and ring_buffer_event_length()
  // reports the rounded length: never more than 3 bytes beyond the item (its sizes are >= 12)
  if (data.byteLength - size > 3) return `item size ${size} in a ${data.byteLength}-byte event`;
  if (cpu !== undefined && itemCpu !== cpu) return `item seq ${seq} says CPU ${itemCpu}, read from CPU ${cpu}`;
  for (let i = 12; i < size; i++) {
    if (data[i] !== ((seq + i) & 0xff)) return `item seq ${seq} (CPU ${itemCpu}): byte ${i} is ${data[i]}, expected ${(seq + i) & 0xff}`;
  }
  return { size, seq, cpu: itemCpu };
}
