// tracefs files of the stack tracer (kernel/trace/trace_stack.c), top level only: stack_trace,
// stack_max_size and stack_trace_filter (the glob words of set_graph_function's parser applied to
// trace_ops' filter hash; no :mod: and no function commands). The switch itself is the sysctl
// kernel.stack_tracer_enabled: `machine.ftrace.stack.readSysctl()` / `writeSysctl(text)` for the procfs
// mount at /proc/sys/kernel/stack_tracer_enabled.
import { RingtraceError } from '../errors.ts';
import type { Ftrace } from '../ftrace/ftrace.ts';
import { TRACE_MODE_READ, TRACE_MODE_WRITE, file } from './node.ts';
import { kstrtoulFromUser } from './parse.ts';
import { GlobHashFile } from './graph-files.ts';
import type { TraceArray, TraceArrayFile } from './trace-array.ts';

function ftraceOf(tr: TraceArray): Ftrace {
  const ft = tr.rm.ftrace;
  if (!ft) throw new RingtraceError('ENODEV', 'this machine has no ftrace');
  return ft;
}

// t_show() of the filter: the functions, or the banner of an empty hash
function filterRead(ft: Ftrace): string {
  const ips = ft.opsHash(ft.stack.ops, 'filter').ips;
  if (!ips.length) return '#### all functions enabled ####\n';
  return ips.map((ip) => `${ft.symbolize(ip)?.name ?? `0x${ip.toString(16)}`}\n`).join('');
}

export const STACK_FILES: readonly TraceArrayFile[] = [
  ['stack_trace', (tr) => file({ mode: TRACE_MODE_READ, read: () => ftraceOf(tr).stack.read() })],
  [
    'stack_max_size',
    (tr) =>
      file({
        mode: TRACE_MODE_WRITE,
        read: () => `${ftraceOf(tr).stack.maxSize}\n`,
        write: async (text) => ftraceOf(tr).stack.setMaxSize(kstrtoulFromUser(text)),
      }),
  ],
  [
    'stack_trace_filter',
    (tr) =>
      file({
        mode: TRACE_MODE_WRITE,
        read: () => filterRead(ftraceOf(tr)),
        open: (flags) => {
          const ft = ftraceOf(tr);
          const ops = ft.stack.ops;
          return new GlobHashFile(ft, ft.opsHash(ops, 'filter').ips, flags.append ?? false, (ips) => ft.setOpsHash(ops, 'filter', [...ips], { path: 'tracefs' }));
        },
      }),
  ],
];
