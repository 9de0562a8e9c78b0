// Event formats as libtraceevent reads them (event-parse.c: tep_parse_event): the fields of an
// events/SYSTEM/EVENT/format file, reading a field from a record, and printing a record by its
// "print fmt" (a printf format with REC->field arguments, __get_str(), casts) with the kallsyms of
// the file for %ps/%pS. A print fmt this does not understand prints the fields as name=value pairs.
import { RingtraceError } from '../errors.ts';
import { evalPrintArg } from './print-args.ts';

export interface EventField {
  name: string;
  type: string; // as declared, e.g. "unsigned long", "char comm[16]", "__data_loc char[] name"
  offset: number;
  size: number;
  signed: boolean;
  common: boolean; // one of struct trace_entry's common_* fields
  dataLoc: boolean; // __data_loc: a u32 (length << 16 | offset) pointing into the record
  array: boolean; // a fixed array, e.g. char comm[16]
}

export interface EventFormat {
  system: string;
  name: string;
  id: number;
  fields: EventField[];
  printFmt: string; // the format string, unquoted
  printArgs: string[]; // the argument expressions
}

// Split at top-level commas (outside parentheses and quotes)
function splitArgs(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote = '';
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      cur += c;
      if (c === '\\') cur += s[++i] ?? '';
      else if (c === quote) quote = '';
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (c === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
      continue;
    }
    cur += c;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function unescape(s: string): string {
  return s.replace(/\\(n|t|\\|"|')/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}

// "print fmt: \"...\", args" -> the format and its arguments
function parsePrintFmt(text: string): { fmt: string; args: string[] } {
  const m = /^\s*"((?:[^"\\]|\\.)*)"\s*(?:,([\s\S]*))?$/.exec(text);
  if (!m) return { fmt: '', args: [] };
  return { fmt: unescape(m[1]), args: m[2] ? splitArgs(m[2]) : [] };
}

export function parseEventFormat(text: string, system: string): EventFormat {
  const name = /^name:\s*(\S+)/m.exec(text)?.[1];
  const id = /^ID:\s*(\d+)/m.exec(text)?.[1];
  if (!name || id === undefined) throw new RingtraceError('EINVAL', `an event format without name or ID in system ${system}`);
  const fields: EventField[] = [];
  const re = /^\s*field:(.*?);\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d+);/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const decl = m[1].trim();
    const dataLoc = decl.startsWith('__data_loc');
    const arr = /\[[^\]]*\]\s*$/.test(decl);
    // "TYPE NAME", "TYPE NAME[N]", "__data_loc TYPE[] NAME": the last identifier once any [..] after it is gone
    const nm = /([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(decl.replace(/\[[^\]]*\]\s*$/, ''));
    const fieldName = nm?.[1] ?? decl;
    fields.push({
      name: fieldName,
      type: decl,
      offset: Number(m[2]),
      size: Number(m[3]),
      signed: m[4] === '1',
      common: fieldName.startsWith('common_'),
      dataLoc,
      array: !dataLoc && arr,
    });
  }
  const pf = /^print fmt:\s*([\s\S]*?)\s*$/m.exec(text);
  const { fmt, args } = parsePrintFmt(pf?.[1] ?? '');
  return { system, name, id: Number(id), fields, printFmt: fmt, printArgs: args };
}

// What a printer needs besides the record: symbols and task names.
export interface SymbolTable {
  functionAt(addr: bigint): { name: string; addr: bigint } | null;
}

// /proc/kallsyms text, searchable by address (tep_find_function: the symbol at or below the address)
export class Kallsyms implements SymbolTable {
  private readonly addrs: bigint[] = [];
  private readonly names: string[] = [];

  constructor(text: string) {
    const rows: [bigint, string][] = [];
    for (const line of text.split('\n')) {
      const m = /^([0-9a-fA-F]+)\s+\S\s+(\S+)/.exec(line);
      if (m) rows.push([BigInt('0x' + m[1]), m[2]]);
    }
    rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const [a, n] of rows) {
      this.addrs.push(a);
      this.names.push(n);
    }
  }

  functionAt(addr: bigint): { name: string; addr: bigint } | null {
    let lo = 0;
    let hi = this.addrs.length - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.addrs[mid] <= addr) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return best < 0 ? null : { name: this.names[best], addr: this.addrs[best] };
  }
}

const decoder = new TextDecoder();

function view(data: Uint8Array): DataView {
  return new DataView(data.buffer, data.byteOffset, data.byteLength);
}

// A field's value: a number (bigint for 8-byte fields), or a string for char arrays and __data_loc strings
export function fieldValue(f: EventField, data: Uint8Array): bigint | string {
  const dv = view(data);
  if (f.offset + f.size > data.length) return f.array ? '' : 0n;
  if (f.dataLoc) {
    const loc = dv.getUint32(f.offset, true);
    const off = loc & 0xffff;
    const len = loc >>> 16;
    const bytes = data.subarray(off, Math.min(data.length, off + len));
    const nul = bytes.indexOf(0);
    return decoder.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
  }
  if (f.array && /\bchar\b/.test(f.type)) {
    // char buf[] of size 0: the rest of the record (print_entry's buf)
    const bytes = data.subarray(f.offset, f.size ? f.offset + f.size : data.length);
    const nul = bytes.indexOf(0);
    return decoder.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
  }
  switch (f.size) {
    case 1:
      return BigInt(f.signed ? dv.getInt8(f.offset) : dv.getUint8(f.offset));
    case 2:
      return BigInt(f.signed ? dv.getInt16(f.offset, true) : dv.getUint16(f.offset, true));
    case 4:
      return BigInt(f.signed ? dv.getInt32(f.offset, true) : dv.getUint32(f.offset, true));
    case 8:
      return f.signed ? dv.getBigInt64(f.offset, true) : dv.getBigUint64(f.offset, true);
    default:
      return 0n;
  }
}

export function findField(ev: EventFormat, name: string): EventField | undefined {
  return ev.fields.find((f) => f.name === name);
}

function pad(s: string, width: number, left: boolean, zero: boolean): string {
  if (s.length >= width) return s;
  if (left) return s.padEnd(width);
  if (zero) {
    const neg = s.startsWith('-');
    return (neg ? '-' : '') + (neg ? s.slice(1) : s).padStart(width - (neg ? 1 : 0), '0');
  }
  return s.padStart(width);
}

function toUnsigned(v: bigint, bits: number): bigint {
  return v < 0n ? v + (1n << BigInt(bits)) : v;
}

// libtraceevent's %ps / %pS: the symbol, with +0xOFFSET for %pS when not at its start
export function symbolOf(syms: SymbolTable, addr: bigint, withOffset: boolean): string {
  const s = syms.functionAt(addr);
  if (!s) return `0x${addr.toString(16)}`;
  if (withOffset && addr !== s.addr) return `${s.name}+0x${(addr - s.addr).toString(16)}`;
  return s.name;
}

// Print a record by its event's print fmt; null when an argument is beyond this evaluator.
export function printFormatted(ev: EventFormat, data: Uint8Array, syms: SymbolTable): string | null {
  const fmt = ev.printFmt;
  let argi = 0;
  let out = '';
  const re = /%([-+ 0#]*)(\d+|\*)?(?:\.(\d+))?(hh|h|ll|l|L|q|j|z|t)?([diouxXcspS%])(s|S|F|f)?/g;
  let last = 0;
  for (let m = re.exec(fmt); m; m = re.exec(fmt)) {
    out += fmt.slice(last, m.index);
    last = m.index + m[0].length;
    const [, flags, widthText, prec, lenMod, conv, pSuffix] = m;
    if (conv === '%') {
      out += '%';
      continue;
    }
    let width = 0;
    if (widthText === '*') {
      const w = evalPrintArg(ev, data, ev.printArgs[argi++] ?? '');
      if (typeof w !== 'bigint') return null;
      width = Number(w);
    } else if (widthText) width = Number(widthText);
    const v = evalPrintArg(ev, data, ev.printArgs[argi++] ?? '');
    if (v === null) return null;
    const left = flags.includes('-');
    const zero = flags.includes('0');
    let s: string;
    if (conv === 'p') {
      const addr = typeof v === 'bigint' ? toUnsigned(v, 64) : 0n;
      if (pSuffix === 's' || pSuffix === 'f') s = symbolOf(syms, addr, false);
      else if (pSuffix === 'S' || pSuffix === 'F') s = symbolOf(syms, addr, true);
      else s = `0x${addr.toString(16)}`;
    } else if (conv === 's') {
      s = typeof v === 'string' ? v : String(v);
      if (prec !== undefined) s = s.slice(0, Number(prec));
    } else if (conv === 'c') {
      s = typeof v === 'bigint' ? String.fromCharCode(Number(v & 0xffn)) : v.slice(0, 1);
    } else {
      if (typeof v !== 'bigint') return null;
      const bits = lenMod && 'll l L q j z t'.split(' ').includes(lenMod) ? 64 : lenMod === 'h' ? 16 : lenMod === 'hh' ? 8 : 32;
      const mask = (1n << BigInt(bits)) - 1n;
      const u = toUnsigned(v, 64) & mask;
      if (conv === 'd' || conv === 'i') s = String(BigInt.asIntN(bits, u));
      else if (conv === 'u') s = String(u);
      else if (conv === 'o') s = u.toString(8);
      else {
        s = u.toString(16);
        if (conv === 'X') s = s.toUpperCase();
        if (flags.includes('#') && u !== 0n) s = '0x' + s;
      }
      if (prec !== undefined) s = s.padStart(Number(prec), '0');
    }
    if (pSuffix && conv !== 'p') out += pad(s, width, left, zero) + pSuffix;
    else out += pad(s, width, left, zero);
  }
  return out + fmt.slice(last);
}

// The fields of a record as "name=value" (libtraceevent's fallback, tep_print_fields)
export function printFields(ev: EventFormat, data: Uint8Array): string {
  return ev.fields
    .filter((f) => !f.common)
    .map((f) => {
      const v = fieldValue(f, data);
      return `${f.name}=${typeof v === 'string' ? v : f.signed ? String(v) : '0x' + toUnsigned(v, 64).toString(16)}`;
    })
    .join(' ');
}
