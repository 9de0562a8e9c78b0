// The ftrace entries (kernel/trace/trace_entries.h): events with a static type that the tracers and the
// marker write directly. Their directory has only `format` and `id` (the ftrace system has no enable or
// filter files), and their print fmt is F_printk() stringified (trace_export.c).
import { abi } from '../../layout.ts';
import { ipSym } from '../../trace/output.ts';
import { type EventDef, type EventField, layoutFields, typeInfo } from '../types.ts';

const { TRACE_FN, TRACE_STACK, TRACE_USER_STACK, TRACE_PRINT, TRACE_BPRINT, TRACE_BPUTS, TRACE_RAW_DATA, TRACE_GRAPH_ENT, TRACE_GRAPH_RET } = abi;

// A field of a packed entry (FTRACE_ENTRY_PACKED): at the offset given, no alignment
const packed = (type: string, name: string, offset: number, size: number): EventField => ({
  type, name, offset, size, signed: typeInfo(type)[1], len: 0, dataLoc: false, string: false,
});

const callers = Array.from({ length: 8 }, (_, i) => `(void *)REC->caller[${i}]`).join(', ');
// kernel_stack's and user_stack's F_printk: eight "\t=> %ps\n" lines
const STACK_PRINT_FMT = `"\\t=> %ps\\n\\t=> %ps\\n\\t=> %ps\\n" "\\t=> %ps\\n\\t=> %ps\\n\\t=> %ps\\n" "\\t=> %ps\\n\\t=> %ps\\n", ${callers}`;

export const FTRACE_EVENTS: readonly EventDef[] = [
  {
    system: 'ftrace',
    name: 'function',
    type: TRACE_FN,
    fields: layoutFields([
      { type: 'unsigned long', name: 'ip' },
      { type: 'unsigned long', name: 'parent_ip' },
    ]),
    printFmt: '" %ps <-- %ps", (void *)REC->ip, (void *)REC->parent_ip',
  },
  {
    system: 'ftrace',
    name: 'funcgraph_entry',
    type: TRACE_GRAPH_ENT,
    // FTRACE_ENTRY_PACKED(funcgraph_entry): the packed struct ftrace_graph_ent
    fields: [packed('unsigned long', 'func', 8, 8), packed('int', 'depth', 16, 4)],
    printFmt: '"--> %ps (%d)", (void *)REC->func, REC->depth',
  },
  {
    system: 'ftrace',
    name: 'funcgraph_exit',
    type: TRACE_GRAPH_RET,
    // FTRACE_ENTRY_PACKED(funcgraph_exit) with CONFIG_FUNCTION_GRAPH_RETVAL: the packed struct
    // ftrace_graph_ret, then calltime and rettime
    fields: [
      packed('unsigned long', 'func', 8, 8),
      packed('unsigned long', 'retval', 16, 8),
      packed('int', 'depth', 24, 4),
      packed('unsigned int', 'overrun', 28, 4),
      packed('unsigned long long', 'calltime', 32, 8),
      packed('unsigned long long', 'rettime', 40, 8),
    ],
    printFmt: '"<-- %ps (%d) (start: %llx  end: %llx) over: %d retval: %lx", (void *)REC->func, REC->depth, REC->calltime, REC->rettime, REC->depth, REC->retval',
  },
  {
    system: 'ftrace',
    name: 'kernel_stack',
    type: TRACE_STACK,
    // __stack_array(unsigned long, caller, FTRACE_STACK_ENTRIES, size): the format shows 8 callers; the
    // entry holds `size` of them
    fields: layoutFields([
      { type: 'int', name: 'size' },
      { type: 'unsigned long', name: 'caller', len: 8 },
    ]),
    printFmt: STACK_PRINT_FMT,
  },
  {
    system: 'ftrace',
    name: 'user_stack',
    type: TRACE_USER_STACK,
    // no tracer here records user stacks (no userstacktrace option): the format only
    fields: layoutFields([
      { type: 'unsigned int', name: 'tgid' },
      { type: 'unsigned long', name: 'caller', len: 8 },
    ]),
    printFmt: STACK_PRINT_FMT,
  },
  {
    system: 'ftrace',
    name: 'bprint',
    type: TRACE_BPRINT,
    fields: layoutFields([
      { type: 'unsigned long', name: 'ip' },
      { type: 'const char *', name: 'fmt' },
      { type: 'u32', name: 'buf', dynamic: true },
    ]),
    printFmt: '"%ps: %s", (void *)REC->ip, REC->fmt',
  },
  {
    system: 'ftrace',
    name: 'print',
    type: TRACE_PRINT,
    fields: layoutFields([
      { type: 'unsigned long', name: 'ip' },
      { type: 'char', name: 'buf', dynamic: true },
    ]),
    printFmt: '"%ps: %s", (void *)REC->ip, REC->buf',
    // trace_print_print(): the ip's symbol, then the text as written (the marker added its "\n")
    print: (rec, syms) => `${ipSym(syms, rec.num('ip'))}: ${rec.str('buf')}`,
  },
  {
    system: 'ftrace',
    name: 'bputs',
    type: TRACE_BPUTS,
    fields: layoutFields([
      { type: 'unsigned long', name: 'ip' },
      { type: 'const char *', name: 'str' },
    ]),
    printFmt: '"%ps: %s", (void *)REC->ip, REC->str',
  },
  {
    system: 'ftrace',
    name: 'raw_data',
    type: TRACE_RAW_DATA,
    fields: layoutFields([
      { type: 'unsigned int', name: 'id' },
      { type: 'char', name: 'buf', dynamic: true },
    ]),
    printFmt: '"id:%04x %08x", REC->id, (int)REC->buf[0]',
    // print_raw_data(): the id, then every byte of the entry after it (the event's whole length, which
    // the ring buffer rounds up to 4 bytes)
    print: (rec) => {
      let s = `# ${Number(rec.num('id')).toString(16)} buf:`;
      for (let i = 12; i < rec.data.byteLength; i++) s += ` ${rec.data[i].toString(16).padStart(2, '0')}`;
      return `${s}\n`;
    },
  },
];
