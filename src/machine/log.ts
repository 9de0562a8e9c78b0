// Text of the machine log records that Wasm appends (it never builds strings itself).
import { abi } from '../layout.ts';

const { LOG_RB_WARN, LOG_OOPS, LOG_FTRACE_DUMP } = abi;

// ftrace_dump() records (LOG_FTRACE_DUMP) are printed by the machine's ftrace, which registers itself
// here under the token it stores in shared memory (the record's third argument): (trace_buffer, cpu or
// -1 for DUMP_ALL) -> the lines of the dump.
export const ftraceDumpFormatters = new Map<number, (tb: number, cpu: number) => string[]>();

const oopsSites: Record<number, string> = {
  [abi.OOPS_LOCK_RESERVE]: 'ring_buffer_lock_reserve',
  [abi.OOPS_ENTRIES]: 'ring_buffer_entries',
};

// RB_WARN_ON checks, by the RBW_* code, with the kernel function that contains each
const rbWarnSites: Record<number, [string, string]> = {
  [abi.RBW_NR_LOOPS]: ['rb_reserve_next_event', '++nr_loops > 1000'],
  [abi.RBW_COMMIT_MAX_COUNT]: ['rb_set_commit_to_write', '!(--max_count)'],
  [abi.RBW_TAIL_ON_READER]: ['rb_set_commit_to_write', 'rb_is_reader_page(cpu_buffer->tail_page)'],
  [abi.RBW_HEAD_PAGE_TYPE]: ['rb_handle_head_page', 'unexpected page flag'],
  [abi.RBW_NO_HEAD_PAGE]: ['rb_set_head_page', 'no HEAD flag found'],
  [abi.RBW_READER_LOOPS]: ['rb_get_reader_page', '++nr_loops > 3'],
  [abi.RBW_READ_PAST_SIZE]: ['rb_get_reader_page', 'reader_page->read > rb_page_size(reader)'],
  [abi.RBW_PEEK_LOOPS]: ['rb_buffer_peek', '++nr_loops > 2'],
  [abi.RBW_NULL_EVENT]: ['rb_buffer_peek', 'rb_null_event(event)'],
  [abi.RBW_BAD_TYPE]: ['rb_iter_peek', 'unknown type_len'],
  [abi.RBW_NOT_COMMITTING]: ['rb_end_commit', '!local_read(&cpu_buffer->committing)'],
  [abi.RBW_READER_WAIT]: ['rb_get_reader_page', 'nr_loops == USECS_WAIT'],
};

// words: [code, cpu, arg0, ...]
export function formatLogRecord(words: number[]): string[] {
  const [code, cpuWord, a0, a1] = words;
  const cpu = cpuWord | 0;
  if (code === LOG_RB_WARN) {
    const [fn, cond] = rbWarnSites[a0] ?? ['ring_buffer', `check ${a0}`];
    return [
      '------------[ cut here ]------------',
      `WARNING: CPU: ${cpu} PID: 0 at kernel/trace/ring_buffer.c ${fn} (RB_WARN_ON: ${cond}, cpu_buffer of CPU ${a1})`,
      'ring buffer recording disabled',
      '---[ end trace 0000000000000000 ]---',
    ];
  }
  if (code === LOG_OOPS && a0 === abi.OOPS_TRAP) {
    return [
      'BUG: unable to handle page fault (a WebAssembly trap: an access outside the shared memory)',
      'Oops: 0000 [#1] PREEMPT SMP',
      `CPU: ${cpu} PID: 0 Comm: ringtrace-cpu${cpu}`,
      'RIP: 0010:run_workload',
      '---[ end trace 0000000000000000 ]---',
    ];
  }
  if (code === LOG_OOPS) {
    const fn = oopsSites[a0] ?? `function ${a0}`;
    return [
      `BUG: kernel NULL pointer dereference, address: ${a1.toString(16).padStart(16, '0')}`,
      '#PF: supervisor read access in kernel mode',
      '#PF: error_code(0x0000) - not-present page',
      'Oops: 0000 [#1] PREEMPT SMP',
      `CPU: ${cpu} PID: 0 Comm: ringtrace-cpu${cpu}`,
      `RIP: 0010:${fn}`,
      'Call Trace:',
      ` ${fn}`,
      '---[ end trace 0000000000000000 ]---',
    ];
  }
  if (code === LOG_FTRACE_DUMP) {
    const dump = ftraceDumpFormatters.get(words[4] >>> 0);
    if (dump) return dump(a0 >>> 0, a1 | 0);
    return ['Dumping ftrace buffer:', '   (ftrace buffer empty)'];
  }
  return [`ringtrace: unknown log record ${code} on CPU ${cpu} args ${words.slice(2,5).map((w)=>w.toString(16)).join(' ')}`];
}
