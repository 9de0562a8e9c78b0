// Event filters (kernel/trace/trace_events_filter.c): the kernel's grammar — predicates `FIELD OP VALUE`
// with ==, !=, <, <=, >, >=, & on numbers and ==, !=, ~ (glob) on strings, combined with &&, ||, !
// and parentheses — parsed into the kernel's kind of program (each predicate jumps on one result) and
// run by the CPU that writes the event (assembly/events.ts). Errors go into the filter file and
// error_log with the kernel's messages.
import type { TraceBuffer } from '../ring/trace-buffer.ts';
import { RingtraceError } from '../errors.ts';
import { abi } from '../layout.ts';
import type { Block, EventCall, EventLayer } from './events.ts';
import type { ErrorLog } from './error-log.ts';
import type { EventField } from './types.ts';

const {
  FP_COUNT, FP_PREDS, FPR_OP, FPR_OFFSET, FPR_FIELD_SIZE, FPR_FLAGS, FPR_VAL, FPR_WHEN, FPR_TARGET, FPR_SIZE, FPF_SIGNED,
  FPF_NOT, FPF_DATA_LOC, FOP_EQ, FOP_LT, FOP_LE, FOP_GT, FOP_GE, FOP_BAND, FOP_STR_EQ, FOP_GLOB,
} = abi;

// err_text[] of trace_events_filter.c
export const FILT_ERR = {
  INVALID_OP: 'Illegal operation for field type',
  TOO_MANY_OPEN: "Too many '('",
  TOO_MANY_CLOSE: "Too few '('",
  MISSING_QUOTE: 'Missing matching quote',
  OPERAND_TOO_LONG: 'Operand too long',
  EXPECT_STRING: 'Expecting string field',
  EXPECT_DIGIT: 'Expecting numeric field',
  ILLEGAL_FIELD_OP: 'Illegal operation for field type',
  FIELD_NOT_FOUND: 'Field not found',
  ILLEGAL_INTVAL: 'Illegal integer value',
  TOO_MANY_PREDS: 'Too many terms in predicate expression',
  INVALID_FILTER: 'Meaningless filter expression',
  INVALID_VALUE: 'Invalid value (did you forget quotes)?',
} as const;

export class FilterParseError extends Error {
  constructor(readonly errText: string, readonly pos: number) {
    super(errText);
  }
}

// The fields every event has (trace_define_common_fields)
const COMMON: EventField[] = [
  { type: 'unsigned short', name: 'common_type', offset: 0, size: 2, signed: false, len: 0, dataLoc: false, string: false },
  { type: 'unsigned char', name: 'common_flags', offset: 2, size: 1, signed: false, len: 0, dataLoc: false, string: false },
  { type: 'unsigned char', name: 'common_preempt_count', offset: 3, size: 1, signed: false, len: 0, dataLoc: false, string: false },
  { type: 'int', name: 'common_pid', offset: 4, size: 4, signed: true, len: 0, dataLoc: false, string: false },
];

type Node =
  | { kind: 'pred'; field: EventField; op: string; num: bigint; str: string }
  | { kind: 'and' | 'or'; a: Node; b: Node }
  | { kind: 'not'; a: Node };

const MAX_FILTER_PRED = 16384;
const OPS = ['==', '!=', '<=', '>=', '<', '>', '&', '~'];

class Parser {
  pos = 0;
  preds = 0;
  constructor(readonly s: string, readonly fields: readonly EventField[]) {}

  private ws(): void {
    while (this.pos < this.s.length && /\s/.test(this.s[this.pos])) this.pos++;
  }

  private peek(t: string): boolean {
    this.ws();
    return this.s.startsWith(t, this.pos);
  }

  parse(): Node {
    const n = this.or();
    this.ws();
    if (this.pos < this.s.length) {
      if (this.s[this.pos] === ')') throw new FilterParseError(FILT_ERR.TOO_MANY_CLOSE, this.pos);
      throw new FilterParseError(FILT_ERR.INVALID_FILTER, this.pos);
    }
    return n;
  }

  private or(): Node {
    let a = this.and();
    while (this.peek('||')) {
      this.pos += 2;
      a = { kind: 'or', a, b: this.and() };
    }
    return a;
  }

  private and(): Node {
    let a = this.unary();
    while (this.peek('&&')) {
      this.pos += 2;
      a = { kind: 'and', a, b: this.unary() };
    }
    return a;
  }

  private unary(): Node {
    this.ws();
    if (this.peek('!') && !this.peek('!=')) {
      this.pos++;
      return { kind: 'not', a: this.unary() };
    }
    if (this.peek('(')) {
      const open = this.pos;
      this.pos++;
      const n = this.or();
      if (!this.peek(')')) throw new FilterParseError(FILT_ERR.TOO_MANY_OPEN, open);
      this.pos++;
      return n;
    }
    return this.pred();
  }

  // parse_pred(): FIELD OP VALUE
  private pred(): Node {
    this.ws();
    const start = this.pos;
    const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(this.s.slice(this.pos));
    if (!m) throw new FilterParseError(this.pos >= this.s.length ? FILT_ERR.INVALID_FILTER : FILT_ERR.FIELD_NOT_FOUND, start);
    this.pos += m[0].length;
    this.ws();
    // parse_pred() looks the field up once past its name and the blanks after it, and reports there
    const field = this.fields.find((f) => f.name === m[0]);
    if (!field) throw new FilterParseError(FILT_ERR.FIELD_NOT_FOUND, this.pos);
    const opPos = this.pos;
    const op = OPS.find((o) => this.s.startsWith(o, this.pos));
    if (!op) throw new FilterParseError(FILT_ERR.INVALID_OP, opPos);
    this.pos += op.length;
    this.ws();
    const valPos = this.pos;
    let value: string;
    const q = this.s[this.pos];
    if (q === '"' || q === "'") {
      const end = this.s.indexOf(q, this.pos + 1);
      if (end < 0) throw new FilterParseError(FILT_ERR.MISSING_QUOTE, this.pos);
      value = this.s.slice(this.pos + 1, end);
      this.pos = end + 1;
    } else {
      const vm = /^[^\s()&|]*/.exec(this.s.slice(this.pos))!;
      value = vm[0];
      this.pos += value.length;
    }
    if (++this.preds > MAX_FILTER_PRED) throw new FilterParseError(FILT_ERR.TOO_MANY_PREDS, start);
    if (field.string) {
      if (op !== '==' && op !== '!=' && op !== '~') throw new FilterParseError(FILT_ERR.ILLEGAL_FIELD_OP, opPos);
      if (value.length >= 256) throw new FilterParseError(FILT_ERR.OPERAND_TOO_LONG, valPos);
      return { kind: 'pred', field, op, num: 0n, str: value };
    }
    if (op === '~') throw new FilterParseError(FILT_ERR.ILLEGAL_FIELD_OP, opPos);
    if (q === '"' || q === "'") throw new FilterParseError(FILT_ERR.EXPECT_DIGIT, valPos);
    return { kind: 'pred', field, op, num: parseNumber(value, field, valPos), str: '' };
  }
}

// kstrtoll / kstrtoull with base 0: decimal, 0x hex, 0 octal
function parseNumber(v: string, field: EventField, pos: number): bigint {
  const m = /^(-?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(v);
  if (!m || (m[1] && !field.signed)) throw new FilterParseError(v === '' || /^[A-Za-z_]/.test(v) ? FILT_ERR.INVALID_VALUE : FILT_ERR.ILLEGAL_INTVAL, pos);
  const digits = m[2];
  const mag = /^0[0-7]+$/.test(digits) ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
  const val = m[1] ? -mag : mag;
  const bits = BigInt(field.size * 8);
  return BigInt.asUintN(64, field.signed ? BigInt.asIntN(Number(bits), val) : val);
}

interface Pred {
  op: number;
  flags: number;
  field: EventField;
  num: bigint;
  str: Uint8Array;
  when: number;
  target: number; // a label until resolved
}

// Lay out a tree as a jump program: compile(node, T, F) with the fall-through going to the next
// code, which is always one of T and F (so one jump per predicate suffices, as in the kernel's prog)
function compile(root: Node): Pred[] {
  const preds: Pred[] = [];
  const labels: number[] = [];
  const END = -1;
  const newLabel = () => labels.push(-2) - 1;
  const place = (l: number) => (labels[l] = preds.length);
  const enc = new TextEncoder();
  // a '!' is pushed down to the predicates (De Morgan), as the kernel inverts them (pred->not)
  const walk = (n: Node, t: number, f: number, next: number, inv: boolean): void => {
    if (n.kind === 'not') return walk(n.a, t, f, next, !inv);
    if (n.kind !== 'pred') {
      const lb = newLabel();
      if ((n.kind === 'and') !== inv) walk(n.a, lb, f, lb, inv);
      else walk(n.a, t, lb, lb, inv);
      place(lb);
      return walk(n.b, t, f, next, inv);
    }
    const { field, op } = n;
    let fop: number;
    let flags = field.signed ? FPF_SIGNED : 0;
    if (field.dataLoc) flags |= FPF_DATA_LOC;
    if ((op === '!=') !== inv) flags |= FPF_NOT;
    if (field.string) fop = op === '~' ? FOP_GLOB : FOP_STR_EQ;
    else fop = ({ '==': FOP_EQ, '!=': FOP_EQ, '<': FOP_LT, '<=': FOP_LE, '>': FOP_GT, '>=': FOP_GE, '&': FOP_BAND } as Record<string, number>)[op];
    // jump on the result that does not fall through
    const when = next === f ? 1 : 0;
    preds.push({ op: fop, flags, field, num: n.num, str: enc.encode(n.str), when, target: when ? t : f });
  };
  walk(root, END, END, END, false);
  for (const p of preds) p.target = p.target === END ? preds.length : labels[p.target];
  return preds;
}

// The program in shared memory: predicates, then the string patterns
function writeProgram(layer: EventLayer, preds: Pred[]): Block {
  const m = layer.rm.machine;
  const strBytes = preds.reduce((n, p) => n + ((p.str.length + 7) & ~7), 0);
  const size = FP_PREDS + preds.length * FPR_SIZE + strBytes;
  const addr = m.arena.alloc(size);
  m.mem.u8.fill(0, addr, addr + size);
  m.mem.store32(addr + FP_COUNT, preds.length);
  let str = addr + FP_PREDS + preds.length * FPR_SIZE;
  preds.forEach((p, i) => {
    const a = addr + FP_PREDS + i * FPR_SIZE;
    m.mem.store32(a + FPR_OP, p.op);
    m.mem.store32(a + FPR_OFFSET, p.field.offset);
    m.mem.store32(a + FPR_FIELD_SIZE, p.field.size);
    m.mem.store32(a + FPR_FLAGS, p.flags);
    m.mem.store32(a + FPR_WHEN, p.when);
    m.mem.store32(a + FPR_TARGET, p.target);
    if (p.op === FOP_STR_EQ || p.op === FOP_GLOB) {
      m.mem.u8.set(p.str, str);
      m.mem.store32(a + FPR_VAL, str);
      m.mem.store32(a + FPR_VAL + 4, p.str.length);
      str += (p.str.length + 7) & ~7;
    } else {
      m.mem.store64(a + FPR_VAL, p.num);
    }
  });
  return { addr, size };
}

// create_filter() for an event: the program, or a FilterParseError
export function compileFilter(layer: EventLayer, call: EventCall, text: string): Block {
  const root = new Parser(text, [...COMMON, ...call.fields]).parse();
  return writeProgram(layer, compile(root));
}

// print_event_filter(): the filter string (with its parse error, if it had one) or "none"
export function filterRead(layer: EventLayer, buffer: TraceBuffer, call: EventCall): string {
  const f = layer.file(buffer, call).filter;
  return f ? `${f.text}\n` : 'none\n';
}

// apply_event_filter(): "0" removes the filter; a filter that does not parse is kept as its text with
// the error (append_filter_err), disables filtering, goes into error_log, and the write fails
export async function applyEventFilter(layer: EventLayer, buffer: TraceBuffer, call: EventCall, input: string, log: ErrorLog): Promise<void> {
  const text = input.trim();
  if (text === '0') return layer.setFilterProgram(buffer, call, null);
  if (text === '') throw new RingtraceError('EINVAL', 'empty filter');
  let prog: Block;
  try {
    prog = compileFilter(layer, call, text);
  } catch (err) {
    if (!(err instanceof FilterParseError)) throw err;
    const pos = Math.min(err.pos, text.length);
    await layer.setFilterProgram(buffer, call, { text: `${text}\n${' '.repeat(pos)}^\nparse_error: ${err.errText}\n`, prog: null });
    log.log({ tsNs: layer.uptimeNs(), loc: 'event filter parse error', cmd: text, errText: err.errText, pos });
    throw new RingtraceError('EINVAL', `filter "${text}": ${err.errText} at ${pos}`);
  }
  await layer.setFilterProgram(buffer, call, { text, prog });
}
