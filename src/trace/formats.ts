// The format files libtraceevent / trace-cmd read to decode raw pages: events/header_page,
// events/header_event and events/ftrace/function/format, as an x86-64 kernel prints them.
import { abi } from '../layout.ts';

const { TRACE_FN, TRACE_GRAPH_ENT, TRACE_GRAPH_RET } = abi;

// ring_buffer_print_page_header(): struct buffer_data_page (u64 time_stamp, local_t commit, data[]); the
// "overwrite" pseudo-field is the commit word's missed-events flag byte. `dataSize` is the buffer's
// sub-buffer size minus the page header (buffer->subbuf_size); char is signed on x86.
export function headerPage(dataSize: number): string {
  return (
    '\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n' +
    '\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n' +
    '\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n' +
    `\tfield: char data;\toffset:16;\tsize:${dataSize};\tsigned:1;\n`
  );
}

// ring_buffer_print_entry_header(): RINGBUF_TYPE_PADDING 29, TIME_EXTEND 30, TIME_STAMP 31,
// DATA_TYPE_LEN_MAX 28
export function headerEvent(): string {
  return (
    '# compressed entry header\n' +
    '\ttype_len    :    5 bits\n' +
    '\ttime_delta  :   27 bits\n' +
    '\tarray       :   32 bits\n' +
    '\n' +
    '\tpadding     : type == 29\n' +
    '\ttime_extend : type == 30\n' +
    '\ttime_stamp : type == 31\n' +
    '\tdata max type_len  == 28\n'
  );
}

// The common fields of struct trace_entry as f_show() prints them (trace_define_common_fields)
const COMMON_FIELDS =
  '\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n' +
  '\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n' +
  '\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n' +
  '\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n';

// f_show() of FTRACE_ENTRY_REG(function, ftrace_entry, TRACE_FN, ...) in trace_entries.h, with the
// print fmt trace_export.c makes of F_printk(" %ps <-- %ps", ...)
export function functionFormat(): string {
  return (
    'name: function\n' +
    `ID: ${TRACE_FN}\n` +
    'format:\n' +
    COMMON_FIELDS +
    '\n' +
    '\tfield:unsigned long ip;\toffset:8;\tsize:8;\tsigned:0;\n' +
    '\tfield:unsigned long parent_ip;\toffset:16;\tsize:8;\tsigned:0;\n' +
    '\n' +
    'print fmt: " %ps <-- %ps", (void *)REC->ip, (void *)REC->parent_ip\n'
  );
}

// f_show() of FTRACE_ENTRY_PACKED(funcgraph_entry, ftrace_graph_ent_entry, TRACE_GRAPH_ENT, ...): the
// packed struct ftrace_graph_ent, then the dynamic args[] array (empty: no funcgraph-args)
export function funcgraphEntryFormat(): string {
  return (
    'name: funcgraph_entry\n' +
    `ID: ${TRACE_GRAPH_ENT}\n` +
    'format:\n' +
    COMMON_FIELDS +
    '\n' +
    '\tfield:unsigned long func;\toffset:8;\tsize:8;\tsigned:0;\n' +
    '\tfield:unsigned int depth;\toffset:16;\tsize:4;\tsigned:0;\n' +
    '\tfield:unsigned long args[];\toffset:20;\tsize:0;\tsigned:0;\n' +
    '\n' +
    'print fmt: "--> %ps (%u)", (void *)REC->func, REC->depth\n'
  );
}

// f_show() of FTRACE_ENTRY_PACKED(funcgraph_exit, ftrace_graph_ret_entry, TRACE_GRAPH_RET, ...) with
// CONFIG_FUNCTION_GRAPH_RETVAL: the packed struct ftrace_graph_ret, then calltime and rettime
export function funcgraphExitFormat(): string {
  return (
    'name: funcgraph_exit\n' +
    `ID: ${TRACE_GRAPH_RET}\n` +
    'format:\n' +
    COMMON_FIELDS +
    '\n' +
    '\tfield:unsigned long func;\toffset:8;\tsize:8;\tsigned:0;\n' +
    '\tfield:unsigned long retval;\toffset:16;\tsize:8;\tsigned:0;\n' +
    '\tfield:unsigned int depth;\toffset:24;\tsize:4;\tsigned:0;\n' +
    '\tfield:unsigned int overrun;\toffset:28;\tsize:4;\tsigned:0;\n' +
    '\tfield:unsigned long long calltime;\toffset:32;\tsize:8;\tsigned:0;\n' +
    '\tfield:unsigned long long rettime;\toffset:40;\tsize:8;\tsigned:0;\n' +
    '\n' +
    'print fmt: "<-- %ps (%u) (start: %llx  end: %llx) over: %u retval: %lx", (void *)REC->func, REC->depth, REC->calltime, REC->rettime, REC->depth, REC->retval\n'
  );
}
