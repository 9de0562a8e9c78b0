// Reading an event's record by its field definitions (what a printer and the tests see).
import type { EventField, EventRecord } from './types.ts';

const decoder = new TextDecoder();

function cstr(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return decoder.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
}

export function eventRecord(data: Uint8Array, fields: readonly EventField[]): EventRecord {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const byName = new Map(fields.map((f) => [f.name, f]));
  const field = (name: string): EventField => {
    const f = byName.get(name);
    if (!f) throw new Error(`events: no field "${name}"`);
    return f;
  };
  const intAt = (off: number, size: number, signed: boolean): bigint => {
    if (off + size > data.byteLength) return 0n;
    switch (size) {
      case 1:
        return BigInt(signed ? view.getInt8(off) : view.getUint8(off));
      case 2:
        return BigInt(signed ? view.getInt16(off, true) : view.getUint16(off, true));
      case 4:
        return BigInt(signed ? view.getInt32(off, true) : view.getUint32(off, true));
      default:
        return signed ? view.getBigInt64(off, true) : view.getBigUint64(off, true);
    }
  };
  return {
    data,
    view,
    num: (name) => {
      const f = field(name);
      return intAt(f.offset, f.size, f.signed);
    },
    str: (name) => {
      const f = field(name);
      if (f.dataLoc) {
        const loc = view.getUint32(f.offset, true);
        const off = loc & 0xffff;
        return cstr(data.subarray(off, Math.min(data.byteLength, off + (loc >>> 16))));
      }
      return cstr(data.subarray(f.offset, f.size ? f.offset + f.size : data.byteLength));
    },
    arr: (name) => {
      const f = field(name);
      const el = f.len ? f.size / f.len : 8;
      const out: bigint[] = [];
      for (let i = 0; i < f.len; i++) out.push(intAt(f.offset + i * el, el, f.signed));
      return out;
    },
  };
}
