// trace-cmd report's -F filters (libtraceevent's tep_filter_add_filter_str, parse-filter.c):
//   -F 'EVENTS[:CONDITION]'   EVENTS: comma-separated event names or SYSTEM/EVENT, regular
//   expressions allowed; CONDITION: field comparisons (== != < <= > >=, =~ !~ for a
//   regex on strings), && || ! and parentheses, numbers and "strings". COMM and CPU name the task's
//   command and the CPU. An event matches when one of its filters does; with -F, events no filter names
//   are left out, except the stack trace of an event shown. -v makes filters exclude what they match.
import { RingtraceError } from '../errors.ts';
import { fieldValue, findField, type EventFormat } from './events.ts';

export interface FilterContext {
  ev: EventFormat;
  data: Uint8Array;
  cpu: number;
  comm: string;
}

type Cond = (c: FilterContext) => boolean;

const RELATIONS: Record<string, (order: number) => boolean> = {
  '==': (o) => o === 0,
  '!=': (o) => o !== 0,
  '<': (o) => o < 0,
  '<=': (o) => o <= 0,
  '>': (o) => o > 0,
  '>=': (o) => o >= 0,
};

interface EventFilter {
  spec: string;
  match: (ev: EventFormat) => boolean;
  cond: Cond | null;
  negate: boolean;
}

const bad = (spec: string, why: string) => new RingtraceError('EINVAL', `filter '${spec}': ${why}`);

function anchored(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

function eventMatcher(spec: string, names: string): (ev: EventFormat) => boolean {
  const parts = names.split(',').map((s) => s.trim()).filter(Boolean);
  if (!parts.length) throw bad(spec, 'no event named');
  const tests = parts.map((p) => {
    const slash = p.indexOf('/');
    try {
      if (slash >= 0) {
        const sys = anchored(p.slice(0, slash));
        const name = anchored(p.slice(slash + 1));
        return (ev: EventFormat) => sys.test(ev.system) && name.test(ev.name);
      }
      const re = anchored(p);
      return (ev: EventFormat) => re.test(ev.name) || re.test(ev.system);
    } catch {
      throw bad(spec, `'${p}' is not a valid event name or regular expression`);
    }
  });
  return (ev) => tests.some((t) => t(ev));
}

type Token = { kind: 'op' | 'num' | 'str' | 'id'; text: string };

function tokenize(spec: string, s: string): Token[] {
  const out: Token[] = [];
  const re = /\s*(?:(&&|\|\||==|!=|<=|>=|=~|!~|[<>!()&])|(0x[0-9a-fA-F]+|-?\d+)|"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([A-Za-z_][\w.]*))/y;
  let pos = 0;
  while (pos < s.length) {
    if (/^\s*$/.test(s.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(s);
    if (!m) throw bad(spec, `cannot read the condition at '${s.slice(pos)}'`);
    pos = re.lastIndex;
    if (m[1]) out.push({ kind: 'op', text: m[1] });
    else if (m[2]) out.push({ kind: 'num', text: m[2] });
    else if (m[3] !== undefined || m[4] !== undefined) out.push({ kind: 'str', text: m[3] ?? m[4] });
    else out.push({ kind: 'id', text: m[5] });
  }
  return out;
}

function parseCondition(spec: string, text: string): Cond {
  const toks = tokenize(spec, text);
  let i = 0;
  const peek = () => toks[i];
  const expect = (t: string) => {
    if (peek()?.text !== t) throw bad(spec, `expected '${t}'${peek() ? ` at '${peek().text}'` : ' at the end'}`);
    i++;
  };
  const value = (c: FilterContext, name: string): bigint | string | undefined => {
    if (name === 'COMM') return c.comm;
    if (name === 'CPU') return BigInt(c.cpu);
    const f = findField(c.ev, name);
    return f ? fieldValue(f, c.data) : undefined;
  };
  const compare = (): Cond => {
    const t = peek();
    if (!t) throw bad(spec, 'the condition ends too early');
    if (t.text === '(') {
      i++;
      const inner = or();
      expect(')');
      return inner;
    }
    if (t.text === '!') {
      i++;
      const inner = compare();
      return (c) => !inner(c);
    }
    if (t.kind !== 'id') throw bad(spec, `expected a field name, not '${t.text}'`);
    i++;
    const op = peek();
    if (!op || op.kind !== 'op' || !['==', '!=', '<', '<=', '>', '>=', '=~', '!~', '&'].includes(op.text)) {
      // a field alone is true when non-zero
      return (c) => {
        const v = value(c, t.text);
        return v !== undefined && v !== 0n && v !== '';
      };
    }
    i++;
    const rhs = peek();
    if (!rhs || (rhs.kind !== 'num' && rhs.kind !== 'str' && rhs.kind !== 'id')) throw bad(spec, `'${t.text} ${op.text}' needs a value`);
    i++;
    if (op.text === '=~' || op.text === '!~') {
      let re: RegExp;
      try {
        re = new RegExp(rhs.text);
      } catch {
        throw bad(spec, `'${rhs.text}' is not a valid regular expression`);
      }
      const want = op.text === '=~';
      return (c) => {
        const v = value(c, t.text);
        return v !== undefined && re.test(String(v)) === want;
      };
    }
    const num = rhs.kind === 'num' ? BigInt(rhs.text) : null;
    return (c) => {
      const v = value(c, t.text);
      if (v === undefined) return false;
      if (op.text === '&') return typeof v === 'bigint' && num !== null && (v & num) !== 0n;
      // numbers compare as numbers, anything with a string as strings
      const [a, b] = typeof v === 'bigint' && num !== null ? [v, num] : [String(v), rhs.text];
      const order = a < b ? -1 : a > b ? 1 : 0;
      return RELATIONS[op.text]?.(order) ?? false;
    };
  };
  const and = (): Cond => {
    let l = compare();
    while (peek()?.text === '&&') {
      i++;
      const a = l;
      const r = compare();
      l = (c) => a(c) && r(c);
    }
    return l;
  };
  const or = (): Cond => {
    let l = and();
    while (peek()?.text === '||') {
      i++;
      const a = l;
      const r = and();
      l = (c) => a(c) || r(c);
    }
    return l;
  };
  const cond = or();
  if (i < toks.length) throw bad(spec, `unexpected '${toks[i].text}'`);
  return cond;
}

// the stack-trace events that follow the event they belong to
const STACK_EVENTS = new Set(['kernel_stack', 'user_stack']);

export class EventFilters {
  private readonly filters: EventFilter[] = [];
  private readonly lastPrinted = new Map<number, boolean>(); // per CPU: the last record was shown

  // one -F argument; negate when a -v came before it
  add(spec: string, negate = false): void {
    const colon = spec.indexOf(':');
    const names = colon < 0 ? spec : spec.slice(0, colon);
    const rest = colon < 0 ? '' : spec.slice(colon + 1).trim();
    this.filters.push({ spec, match: eventMatcher(spec, names), cond: rest ? parseCondition(spec, rest) : null, negate });
  }

  // A filter that names no event of the file fails, as tep_filter_add_filter_str() does
  // ("Failed to create event filter").
  check(events: Iterable<EventFormat>): void {
    const list = [...events];
    const none = this.filters.find((f) => !list.some(f.match));
    if (none) throw new RingtraceError('EINVAL', `Failed to create event filter: ${none.spec} (no such event in the file)`);
  }

  get empty(): boolean {
    return this.filters.length === 0;
  }

  // tcmd_filter_match(): a record passes when no positive filter exists or one matches, and no negative
  // filter matches; a stack trace the positive filters miss still passes right after a record of its CPU
  // that was shown (a shown event keeps its stack trace).
  pass(c: FilterContext): boolean {
    const hit = (f: EventFilter) => f.match(c.ev) && (!f.cond || f.cond(c));
    const positive = this.filters.filter((f) => !f.negate);
    let isStack = false;
    if (positive.length && !positive.some(hit)) {
      if (!(c.ev.system === 'ftrace' && STACK_EVENTS.has(c.ev.name) && this.lastPrinted.get(c.cpu))) return false;
      isStack = true;
    }
    const excluded = this.filters.some((f) => f.negate && hit(f));
    this.lastPrinted.set(c.cpu, !isStack && !excluded);
    return !excluded;
  }
}
