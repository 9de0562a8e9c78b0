// What an event is to the event layer: its fields (struct trace_event_fields, after the common ones of
// struct trace_entry), the print fmt its format file shows, and the printer of the trace output
// (trace_raw_output_<event>, or the ftrace entries' trace_print_* functions).
import type { SymbolSource } from '../trace/output.ts';
import { abi } from '../layout.ts';

export interface EventField {
  type: string; // as the format file shows it: "pid_t", "char[16]" for arrays, "__data_loc char[]"
  name: string;
  offset: number;
  size: number;
  signed: boolean;
  len: number; // array length (0: not an array, or a dynamic one)
  dataLoc: boolean; // a __data_loc field: u32 (length << 16 | offset of the data in the entry)
  string: boolean; // what filters compare as a string (char arrays, __data_loc char[])
}

// The event's record, for its printer: fields by name, strings decoded.
export interface EventRecord {
  readonly data: Uint8Array; // the whole entry, struct trace_entry first
  readonly view: DataView;
  num(name: string): bigint; // an integer field, sign-extended per its type
  str(name: string): string; // a char array (up to its NUL) or __data_loc string
  arr(name: string): bigint[]; // an unsigned long array
}

export interface EventDef {
  system: string;
  name: string;
  type?: number; // the static type of an ftrace entry (enum trace_type); others get one at registration
  fields: readonly EventField[];
  printFmt: string; // the print fmt line's text after "print fmt: "
  // the text after the context columns (with its "\n"); default: "NAME: " then printArgs
  print?(rec: EventRecord, syms: SymbolSource): string;
  // the TP_printk part of the default printer
  printArgs?(rec: EventRecord, syms: SymbolSource): string;
}

// A field layout builder: fields are laid out after struct trace_entry with their natural alignment,
// as the C compiler lays out the entry struct.
export interface FieldSpec {
  type: string; // C type as the format file prints it (without an array suffix)
  name: string;
  len?: number; // fixed array length
  dataLoc?: boolean; // __string / __dynamic_array: a __data_loc u32
  dynamic?: boolean; // a trailing flexible array (the ftrace entries' __dynamic_array): size 0
}

const SIZES: Record<string, [size: number, signed: boolean]> = {
  char: [1, false], // the kernel builds with -funsigned-char since 6.2
  'unsigned char': [1, false],
  u8: [1, false],
  s8: [1, true],
  short: [2, true],
  'unsigned short': [2, false],
  u16: [2, false],
  s16: [2, true],
  int: [4, true],
  'unsigned int': [4, false],
  pid_t: [4, true],
  u32: [4, false],
  s32: [4, true],
  bool: [1, false],
  long: [8, true],
  'unsigned long': [8, false],
  'long long': [8, true],
  'unsigned long long': [8, false],
  u64: [8, false],
  s64: [8, true],
  'void *': [8, false],
  'const char *': [8, false],
};

export function typeInfo(type: string): [size: number, signed: boolean] {
  const t = SIZES[type];
  if (!t) throw new Error(`events: unknown field type "${type}"`);
  return t;
}

export function layoutFields(specs: readonly FieldSpec[]): EventField[] {
  let off = abi.ENT_SIZE;
  const out: EventField[] = [];
  for (const s of specs) {
    if (s.dataLoc) {
      off = (off + 3) & ~3;
      out.push({ type: `__data_loc ${s.type}[]`, name: s.name, offset: off, size: 4, signed: typeInfo(s.type)[1], len: 0, dataLoc: true, string: s.type === 'char' });
      off += 4;
      continue;
    }
    const [size, signed] = typeInfo(s.type);
    off = (off + size - 1) & ~(size - 1);
    const len = s.len ?? 0;
    const total = s.dynamic ? 0 : size * (len || 1);
    out.push({
      type: len || s.dynamic ? `${s.type}[${s.dynamic ? '' : len}]` : s.type,
      name: s.name,
      offset: off,
      size: total,
      signed,
      len,
      dataLoc: false,
      string: s.type === 'char' && (len > 0 || !!s.dynamic),
    });
    off += total;
  }
  return out;
}

// The entry's size without its dynamic data (the fixed part a writer fills)
export function fixedSize(fields: readonly EventField[]): number {
  let end = abi.ENT_SIZE;
  for (const f of fields) end = Math.max(end, f.offset + f.size);
  return end;
}
