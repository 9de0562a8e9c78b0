// The arguments of a print fmt, evaluated as libtraceevent does (event-parse.c: process_arg,
// eval_num_arg, print_str_arg): C expressions over REC->field (and REC->array[i]), numbers and strings,
// casts, unary and binary operators, ?:, and the helpers the kernel's TP_printk uses: __get_str,
// __print_flags, __print_symbolic. What is beyond them makes the caller fall back to name=value pairs.
import { fieldValue, findField, type EventFormat } from './events.ts';

export type ArgValue = bigint | string;

class Unsupported extends Error {}

type Tok = { t: 'num' | 'str' | 'id' | 'op'; v: string };

const OPS = ['<<', '>>', '<=', '>=', '==', '!=', '&&', '||', '->', '+', '-', '*', '/', '%', '&', '|', '^', '!', '~', '<', '>', '?', ':', '(', ')', '[', ']', '{', '}', ','];

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const num = /^(0[xX][0-9a-fA-F]+|\d+)[uUlL]*/.exec(src.slice(i));
    if (num) {
      out.push({ t: 'num', v: num[1] });
      i += num[0].length;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let v = '';
      while (j < src.length && src[j] !== '"') {
        if (src[j] === '\\') {
          const n = src[++j];
          v += n === 'n' ? '\n' : n === 't' ? '\t' : n;
        } else v += src[j];
        j++;
      }
      out.push({ t: 'str', v });
      i = j + 1;
      continue;
    }
    const id = /^[A-Za-z_]\w*/.exec(src.slice(i));
    if (id) {
      out.push({ t: 'id', v: id[0] });
      i += id[0].length;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new Unsupported(`'${c}'`);
    out.push({ t: 'op', v: op });
    i += op.length;
  }
  return out;
}

const TYPE_WORDS = new Set(['unsigned', 'signed', 'int', 'long', 'short', 'char', 'void', 'const', 'bool', 'u8', 'u16', 'u32', 'u64', 's8', 's16', 's32', 's64', 'size_t', 'pid_t', 'gfp_t', 'struct']);

const asNum = (v: ArgValue): bigint => {
  if (typeof v !== 'bigint') throw new Unsupported('a string used as a number');
  return v;
};

// One print fmt argument's value for a record
export function evalPrintArg(ev: EventFormat, data: Uint8Array, src: string): ArgValue | null {
  let toks: Tok[];
  try {
    toks = tokenize(src);
  } catch {
    return null;
  }
  let i = 0;
  const peek = (v?: string) => (v === undefined ? toks[i] : toks[i]?.v === v && toks[i].t !== 'str' ? toks[i] : undefined);
  const eat = (v: string) => {
    if (!peek(v)) throw new Unsupported(`expected ${v}`);
    i++;
  };

  const field = (name: string, index: bigint | null): ArgValue => {
    const f = findField(ev, name);
    if (!f) throw new Unsupported(`no field ${name}`);
    if (index === null) return fieldValue(f, data);
    // an element of a fixed array: the declared size split over the declared count
    const count = Number(/\[(\d+)\]\s*$/.exec(f.type)?.[1] ?? 0);
    const size = count ? f.size / count : 8;
    const at = f.offset + Number(index) * size;
    if (at + size > data.length) return 0n;
    return fieldValue({ ...f, offset: at, size, array: false, dataLoc: false }, data);
  };

  // { value, "name" } pairs of __print_flags / __print_symbolic
  const pairs = (): [bigint, string][] => {
    const out: [bigint, string][] = [];
    while (peek(',')) {
      i++;
      eat('{');
      const v = asNum(expr());
      eat(',');
      const s = expr();
      eat('}');
      out.push([v, String(s)]);
    }
    return out;
  };

  const call = (name: string): ArgValue => {
    eat('(');
    let v: ArgValue;
    switch (name) {
      case '__get_str': {
        const f = toks[i++];
        v = field(f.v, null);
        break;
      }
      case '__print_flags': {
        // print_str_arg TEP_PRINT_FLAGS: each flag whose bits are all set, joined by the delimiter; the
        // bits no flag named in hex after them
        let val = asNum(expr());
        eat(',');
        const delim = String(expr());
        let out = '';
        let printed = false;
        for (const [fv, s] of pairs()) {
          if (val === 0n && fv === 0n) {
            out += s;
            break;
          }
          if (fv > 0n && (val & fv) === fv) {
            if (printed && delim) out += delim;
            out += s;
            printed = true;
            val &= ~fv;
          }
        }
        if (val) out += (printed && delim ? delim : '') + `0x${BigInt.asUintN(64, val).toString(16)}`;
        v = out;
        break;
      }
      case '__print_symbolic': {
        const val = asNum(expr());
        const hit = pairs().find(([fv]) => fv === val);
        v = hit ? hit[1] : `0x${BigInt.asUintN(64, val).toString(16)}`;
        break;
      }
      default:
        throw new Unsupported(`${name}()`);
    }
    eat(')');
    return v;
  };

  const primary = (): ArgValue => {
    const t = toks[i++];
    if (!t) throw new Unsupported('end of expression');
    if (t.t === 'num') return BigInt(t.v);
    if (t.t === 'str') return t.v;
    if (t.t === 'id') {
      if (t.v === 'REC') {
        eat('->');
        const name = toks[i++].v;
        if (peek('[')) {
          i++;
          const idx = asNum(expr());
          eat(']');
          return field(name, idx);
        }
        return field(name, null);
      }
      if (peek('(')) return call(t.v);
      throw new Unsupported(t.v);
    }
    if (t.v === '(') {
      const v = expr();
      eat(')');
      return v;
    }
    throw new Unsupported(t.v);
  };

  const isCast = () => {
    if (!peek('(')) return false;
    let j = i + 1;
    let words = 0;
    while (toks[j] && (toks[j].t === 'id' || toks[j].v === '*')) {
      if (toks[j].t === 'id' && !TYPE_WORDS.has(toks[j].v) && !/_t$/.test(toks[j].v) && toks[j - 1]?.v !== 'struct') return false;
      words++;
      j++;
    }
    return words > 0 && toks[j]?.v === ')';
  };

  const unary = (): ArgValue => {
    if (isCast()) {
      let cast = '';
      i++;
      while (!peek(')')) cast += toks[i++].v + ' ';
      i++;
      const v = unary();
      if (typeof v !== 'bigint' || cast.includes('*')) return v;
      const bits = /\b(char|u8|s8)\b/.test(cast) ? 8 : /\b(short|u16|s16)\b/.test(cast) ? 16 : /\blong\b|64/.test(cast) ? 64 : /\b(int|u32|s32)\b/.test(cast) ? 32 : 64;
      return /\bunsigned\b|\bu(8|16|32|64)\b/.test(cast) ? BigInt.asUintN(bits, v) : BigInt.asIntN(bits, v);
    }
    if (peek('-')) {
      i++;
      return -asNum(unary());
    }
    if (peek('!')) {
      i++;
      return asNum(unary()) === 0n ? 1n : 0n;
    }
    if (peek('~')) {
      i++;
      return ~asNum(unary());
    }
    return primary();
  };

  const LEVELS: string[][] = [['||'], ['&&'], ['|'], ['^'], ['&'], ['==', '!='], ['<', '>', '<=', '>='], ['<<', '>>'], ['+', '-'], ['*', '/', '%']];
  const binary = (level: number): ArgValue => {
    if (level === LEVELS.length) return unary();
    let l = binary(level + 1);
    for (;;) {
      const op = toks[i];
      if (!op || op.t !== 'op' || !LEVELS[level].includes(op.v)) return l;
      i++;
      const a = asNum(l);
      const b = asNum(binary(level + 1));
      switch (op.v) {
        case '||': l = a || b ? 1n : 0n; break;
        case '&&': l = a && b ? 1n : 0n; break;
        case '|': l = a | b; break;
        case '^': l = a ^ b; break;
        case '&': l = a & b; break;
        case '==': l = a === b ? 1n : 0n; break;
        case '!=': l = a !== b ? 1n : 0n; break;
        case '<': l = a < b ? 1n : 0n; break;
        case '>': l = a > b ? 1n : 0n; break;
        case '<=': l = a <= b ? 1n : 0n; break;
        case '>=': l = a >= b ? 1n : 0n; break;
        case '<<': l = BigInt.asUintN(64, a << b); break;
        case '>>': l = a >> b; break;
        case '+': l = a + b; break;
        case '-': l = a - b; break;
        case '*': l = a * b; break;
        case '/': if (b === 0n) throw new Unsupported('division by zero'); l = a / b; break;
        case '%': if (b === 0n) throw new Unsupported('division by zero'); l = a % b; break;
      }
    }
  };

  function expr(): ArgValue {
    const c = binary(0);
    if (!peek('?')) return c;
    i++;
    const a = expr();
    eat(':');
    const b = expr();
    return asNum(c) !== 0n ? a : b;
  }

  try {
    const v = expr();
    return i === toks.length ? v : null;
  } catch (err) {
    if (err instanceof Unsupported) return null;
    throw err;
  }
}
