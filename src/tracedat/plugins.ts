// The event handlers libtraceevent's plugins register (plugins/plugin_function.c for ftrace's function,
// kernel_stack, raw_data and func_repeats; plugins/plugin_sched_switch.c for sched_switch and
// sched_wakeup(_new)): trace-cmd report prints these events with them instead of their print fmt.
import { fieldValue, findField, symbolOf, type EventFormat, type SymbolTable } from './events.ts';
import type { TraceRecord } from './kbuffer.ts';

export interface PluginContext {
  ev: EventFormat;
  r: TraceRecord;
  syms: SymbolTable;
  comms: Map<number, string>; // tep_register_comm: what the sched plugins learn
  parent: boolean; // -O parent
  time: (ts: number) => string; // the report's time format (func_repeats' last_ts)
}

type Plugin = (c: PluginContext) => string;

function num(c: PluginContext, name: string): bigint | null {
  const f = findField(c.ev, name);
  const v = f ? fieldValue(f, c.r.data) : null;
  return typeof v === 'bigint' ? v : null;
}

// add_and_get_index(): the call depth from each CPU's stack of function names (entries deeper than the
// found parent are not dropped, as in the plugin)
class FunctionIndent {
  private readonly stacks = new Map<number, string[]>();

  index(parent: string, child: string, cpu: number): number {
    let st = this.stacks.get(cpu);
    if (!st) this.stacks.set(cpu, (st = []));
    for (let i = 0; i < st.length; i++) {
      if (st[i] === parent) {
        st[i + 1] = child;
        return i;
      }
    }
    st[0] = parent;
    st[1] = child;
    return 0;
  }
}

// function_handler(): the indent (3 columns per level), the function, " <-- parent" with -O parent
function functionPlugin(indent: FunctionIndent): Plugin {
  return (c) => {
    const ip = num(c, 'ip');
    const pip = num(c, 'parent_ip');
    if (ip === null || pip === null) return '!';
    const func = c.syms.functionAt(ip);
    const parent = c.syms.functionAt(pip);
    const idx = parent ? indent.index(parent.name, func ? func.name : '', c.r.cpu) : 0;
    let out = ' '.repeat(idx * 3) + (func ? func.name : `0x${ip.toString(16)}`);
    if (c.parent) out += ` <-- ${parent ? parent.name : `0x${pip.toString(16)}`}`;
    return out;
  };
}

// trace_stack_handler(): every caller up to the end of the record or a -1 entry
const kernelStack: Plugin = (c) => {
  const f = findField(c.ev, 'caller');
  if (!f) return '<CANT FIND FIELD caller>';
  const { data } = c.r;
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let out = '<stack trace >\n';
  for (let p = f.offset; p + 8 <= data.length; p += 8) {
    const addr = dv.getBigUint64(p, true);
    if (addr === 0xffffffffffffffffn || (addr & 0xffffffffn) === 0xffffffffn) break;
    out += c.syms.functionAt(addr) ? `=> ${symbolOf(c.syms, addr, false)} (${addr.toString(16)})\n` : `=> ${addr.toString(16)}\n`;
  }
  return out;
};

// trace_raw_data_handler(): "# id" and the bytes of buf in hex
const rawData: Plugin = (c) => {
  const id = num(c, 'id');
  if (id === null) return '!';
  const f = findField(c.ev, 'buf');
  if (!f) return `# ${id.toString(16)}<CANT FIND FIELD buf>`;
  let out = `# ${id.toString(16)}`;
  for (const b of c.r.data.subarray(f.offset)) out += ` ${b.toString(16).padStart(2, '0')}`;
  return out;
};

// trace_func_repeat_handler(): the function, then how often it repeated and when it last ran
function funcRepeats(fn: Plugin): Plugin {
  return (c) => {
    const count = num(c, 'count');
    const top = num(c, 'top_delta_ts');
    const bottom = num(c, 'bottom_delta_ts');
    if (count === null || top === null || bottom === null) return fn(c) + '!';
    const last = BigInt(c.r.ts) - ((top << 32n) | bottom);
    return `${fn(c)} (count: ${count}  last_ts: ${c.time(Number(last))})`;
  };
}

// get_states(): the letters of prev_state's bits, from the __print_flags() of the event's print fmt
function states(ev: EventFormat): string {
  const flags = ev.printArgs.join(',');
  const at = flags.indexOf('__print_flags(');
  const out: string[] = [];
  if (at >= 0) {
    const re = /\{\s*(0x[0-9a-fA-F]+|\d+)\s*,\s*"([^"]*)"\s*\}/g;
    for (let m = re.exec(flags.slice(at)); m; m = re.exec(flags.slice(at))) {
      const v = Number(BigInt(m[1]));
      if (v <= 0) continue;
      const bit = 31 - Math.clz32(v & -v);
      out[bit] = m[2][0];
    }
  }
  return out.length ? Array.from(out, (ch) => ch ?? '\0').join('').replace(/\0.*$/, '') : 'SDTtXZPI';
}

// write_and_save_comm(): the comm field, remembered for the pid
function comm(c: PluginContext, field: string, pid: bigint): string {
  const f = findField(c.ev, field);
  if (!f) return '';
  const name = String(fieldValue(f, c.r.data));
  if (!c.comms.has(Number(pid))) c.comms.set(Number(pid), name);
  return `${name}:`;
}

const schedSwitch: Plugin = (c) => {
  const prev = num(c, 'prev_pid');
  if (prev === null) return '!';
  let out = `${comm(c, 'prev_comm', prev)}${prev} `;
  const prio = num(c, 'prev_prio');
  if (prio !== null) out += `[${Number(BigInt.asIntN(32, prio))}] `;
  const state = num(c, 'prev_state');
  if (state !== null) {
    const letters = states(c.ev);
    const set = [...letters].filter((_, i) => (state & (1n << BigInt(i))) !== 0n);
    out += set.length ? set.join('|') : 'R';
  }
  out += ' ==> ';
  const next = num(c, 'next_pid');
  if (next === null) return out + '!';
  out += `${comm(c, 'next_comm', next)}${next}`;
  const nprio = num(c, 'next_prio');
  if (nprio !== null) out += ` [${Number(BigInt.asIntN(32, nprio))}]`;
  return out;
};

const schedWakeup: Plugin = (c) => {
  const pid = num(c, 'pid');
  if (pid === null) return '!';
  let out = `${comm(c, 'comm', pid)}${pid}`;
  const prio = num(c, 'prio');
  if (prio !== null) out += ` [${prio}]`;
  const success = num(c, 'success');
  if (success !== null) out += ` success=${success}`;
  const cpu = num(c, 'target_cpu');
  if (cpu !== null) out += ` CPU:${String(cpu).padStart(3, '0')}`;
  return out;
};

// The handlers of one report (the function plugin keeps per-CPU state), by "system/event"; none
// without libtraceevent's plugins (-N).
export function plugins(load = true): Map<string, Plugin> {
  if (!load) return new Map();
  const fn = functionPlugin(new FunctionIndent());
  return new Map<string, Plugin>([
    ['ftrace/function', fn],
    ['ftrace/kernel_stack', kernelStack],
    ['ftrace/raw_data', rawData],
    ['ftrace/func_repeats', funcRepeats(fn)],
    ['sched/sched_switch', schedSwitch],
    ['sched/sched_wakeup', schedWakeup],
    ['sched/sched_wakeup_new', schedWakeup],
  ]);
}
