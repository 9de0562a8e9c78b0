// tracefs files of the function_graph tracer (kernel/trace/ftrace.c, trace_functions_graph.c):
//   every trace_array: options/funcgraph-*, options/sleep-time, options/graph-time (the tracer's flags,
//                      one set for every instance, as tracer_flags is in the kernel)
//   top level only:    set_graph_function, set_graph_notrace, max_graph_depth
//
// set_graph_function / set_graph_notrace follow ftrace_graph_open / ftrace_graph_write /
// ftrace_graph_release: O_TRUNC starts from an empty hash, O_APPEND from a copy; each complete word is a
// glob (optionally with '!') applied with ftrace_graph_set_hash(), EINVAL when it matched nothing; the
// hash is committed at close. The words are function globs only (no :mod:, no commands, no indexes).
import { RingtraceError } from '../errors.ts';
import { matchRecords, parseGlob, type FilterRecord } from '../ftrace/filter.ts';
import type { Ftrace } from '../ftrace/ftrace.ts';
import { GRAPH_OPTIONS, type GraphFilter } from '../ftrace/function-graph.ts';
import { abi } from '../layout.ts';
import { TRACE_MODE_WRITE, file, type TraceNode } from './node.ts';
import { WordFile } from './word-file.ts';
import { kstrtoulFromUser } from './parse.ts';
import type { TraceArray, TraceArrayFile } from './trace-array.ts';

const { FTRACE_FL_DISABLED } = abi;

function ftraceOf(tr: TraceArray): Ftrace {
  const ft = tr.rm.ftrace;
  if (!ft) throw new RingtraceError('ENODEV', 'this machine has no ftrace');
  return ft;
}

// A file of glob words over a set of ips, committed at close: set_graph_function, set_graph_notrace and
// stack_trace_filter share the parsing (trace_get_user) and ftrace_graph_set_hash()'s matching.
export class GlobHashFile extends WordFile {
  private readonly pending: Set<bigint>;

  constructor(private readonly ft: Ftrace, current: Iterable<bigint>, append: boolean, private readonly store: (ips: Set<bigint>) => Promise<void>) {
    super();
    this.checkWritable();
    this.pending = new Set(append ? current : []);
  }

  protected checkWritable(): void {
    if (this.ft.disabled) throw new RingtraceError('ENODEV', 'ftrace is disabled (ftrace_kill() after a WARNING, see dmesg)');
  }

  protected writable(): boolean {
    return !this.ft.disabled;
  }

  protected async commit(writable: boolean): Promise<void> {
    if (writable) await this.store(this.pending);
  }

  // ftrace_graph_set_hash(): every record the glob matches goes in (or, with '!', out)
  protected async apply(word: string): Promise<void> {
    const glob = parseGlob(word);
    const recs: FilterRecord[] = [];
    const ips: bigint[] = [];
    for (const r of this.ft.records()) {
      recs.push({ name: r.name, module: r.module, disabled: (r.flags & FTRACE_FL_DISABLED) !== 0 });
      ips.push(r.ip);
    }
    let fail = true;
    for (const i of matchRecords(recs, glob.type === 'index' ? { ...glob, type: 'full' } : glob)) {
      if (!glob.negate) {
        fail = false;
        this.pending.add(ips[i]);
      } else if (this.pending.delete(ips[i])) {
        fail = false;
      }
    }
    if (fail) throw new RingtraceError('EINVAL', `'${word}': no function matches`);
  }
}

// g_show(): the functions, or the banner of an empty hash
function graphHashRead(tr: TraceArray, which: GraphFilter): string {
  const ft = ftraceOf(tr);
  const ips = ft.graph.graphFunctions(which);
  if (!ips.length) return which === 'function' ? '#### all functions enabled ####\n' : '#### no functions disabled ####\n';
  return ips.map((ip) => `${ft.symbolize(ip)?.name ?? `0x${ip.toString(16)}`}\n`).join('');
}

function graphHashFile(tr: TraceArray, which: GraphFilter): TraceNode {
  return file({
    mode: TRACE_MODE_WRITE,
    read: () => graphHashRead(tr, which),
    open: (flags) => {
      const ft = ftraceOf(tr);
      return new GlobHashFile(ft, ft.graph.graphFunctions(which), flags.append ?? false, (ips) => ft.graph.setGraphFunctions(which, ips));
    },
  });
}

// trace_options_read() / trace_options_write(): 0 or 1, then func_graph_set_flag()
function optionFile(tr: TraceArray, name: string): TraceNode {
  return file({
    mode: TRACE_MODE_WRITE,
    read: () => (ftraceOf(tr).graph.option(name) ? '1\n' : '0\n'),
    write: async (text) => {
      const val = kstrtoulFromUser(text);
      if (val !== 0n && val !== 1n) throw new RingtraceError('EINVAL', `options/${name}: ${val} is neither 0 nor 1`);
      ftraceOf(tr).graph.setOption(name, val === 1n);
    },
  });
}

export const GRAPH_FILES: readonly TraceArrayFile[] = GRAPH_OPTIONS.map(([name]) => [`options/${name}`, (tr: TraceArray) => optionFile(tr, name)] as const);

export const TOP_LEVEL_GRAPH_FILES: readonly TraceArrayFile[] = [
  ['set_graph_function', (tr) => graphHashFile(tr, 'function')],
  ['set_graph_notrace', (tr) => graphHashFile(tr, 'notrace')],
  // graph_depth_write(): kstrtoul_from_user(base 10); graph_depth_read(): "%d\n"
  [
    'max_graph_depth',
    (tr) =>
      file({
        mode: TRACE_MODE_WRITE,
        read: () => `${ftraceOf(tr).graph.maxGraphDepth | 0}\n`,
        write: async (text) => {
          const val = kstrtoulFromUser(text);
          // fgraph_max_depth is an unsigned int: the upper bits of the unsigned long are dropped
          ftraceOf(tr).graph.setMaxGraphDepth(Number(val & 0xffffffffn));
        },
      }),
  ],
];
