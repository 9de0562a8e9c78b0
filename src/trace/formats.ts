// The format files libtraceevent / trace-cmd read to decode raw pages: events/header_page,
// events/header_event and every event's format file, as an x86-64 kernel prints them.
import type { EventField } from '../events/types.ts';

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

// f_show(): "TYPE NAME" or, for an array type "T[N]", "T NAME[N]" ("T NAME[]" for a dynamic one);
// __data_loc types print as they are
function fieldLine(f: EventField): string {
  const bracket = f.type.indexOf('[');
  let decl: string;
  if (bracket < 0 || f.type.startsWith('__data_loc')) decl = `${f.type} ${f.name}`;
  else decl = `${f.type.slice(0, bracket)} ${f.name}${f.type.slice(bracket)}`;
  return `\tfield:${decl};\toffset:${f.offset};\tsize:${f.size};\tsigned:${f.signed ? 1 : 0};\n`;
}

// The format file of an event (trace_format_open's f_start/f_show/f_stop): name, ID, the common
// fields, a blank line, the event's fields, a blank line, the print fmt
export function eventFormat(name: string, id: number, fields: readonly EventField[], printFmt: string): string {
  return `name: ${name}\nID: ${id}\nformat:\n${COMMON_FIELDS}\n${fields.map(fieldLine).join('')}\nprint fmt: ${printFmt}\n`;
}
