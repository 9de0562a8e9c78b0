// The trace.dat file format of trace-cmd (Documentation/trace-cmd/trace-cmd.dat.v6.5.txt and .v7.5.txt;
// lib/trace-cmd/include/private/trace-cmd-private.h): the one definition of its magic, option and
// section ids, shared by the writer and the reader.

// "\x17\x08\x44" then "tracing"
export const MAGIC = Uint8Array.of(0x17, 0x08, 0x44, ...new TextEncoder().encode('tracing'));

// enum tracecmd_file_options (option ids; in version 7 the section ids are the same numbers)
export const OPTION = {
  DONE: 0,
  DATE: 1,
  CPUSTAT: 2,
  BUFFER: 3,
  TRACECLOCK: 4,
  UNAME: 5,
  HOOK: 6,
  OFFSET: 7,
  CPUCOUNT: 8,
  VERSION: 9,
  PROCMAPS: 10,
  TRACEID: 11,
  TIME_SHIFT: 12,
  GUEST: 13,
  TSC2NSEC: 14,
  STRINGS: 15,
  HEADER_INFO: 16,
  FTRACE_EVENTS: 17,
  EVENT_FORMATS: 18,
  KALLSYMS: 19,
  PRINTK: 20,
  CMDLINES: 21,
  BUFFER_TEXT: 22,
} as const;

// TRACECMD_SEC_FL_COMPRESS: the section's data is compressed
export const SEC_FL_COMPRESS = 1;

// The fixed strings of the header (with their NULs): "options  \0", "flyrecord\0", "latency  \0"
export const OPTIONS_TAG = 'options  \0';
export const FLYRECORD_TAG = 'flyrecord\0';
export const LATENCY_TAG = 'latency  \0';

// The version trace-cmd prints for the files it writes; ours names the writer instead
export const WRITER_VERSION = 'ringtrace';

// Everything a trace.dat holds, as the reader returns it and the writer takes it.
export interface TraceDatCpu {
  cpu: number;
  data: Uint8Array; // whole sub-buffers (pageSize bytes each) as trace_pipe_raw returned them
  fileOffset?: number; // where the reader found them and their size, as trace-cmd reports them (for
  fileSize?: number; // compressed data: in its decompressed copy)
}

export interface TraceDatBuffer {
  name: string; // '' for the top-level trace_array, else the instance's name
  clock: string; // the trace clock's name, e.g. 'local'
  pageSize: number; // the sub-buffer size of this buffer
  cpus: TraceDatCpu[]; // by CPU number, one per CPU in the file's CPU table
}

export interface TraceDat {
  version: 6 | 7;
  compression: string; // 'none', or the algorithm of a version 7 file ('zstd', 'zlib')
  bigEndian: boolean;
  longSize: 4 | 8;
  pageSize: number;
  headerPage: string; // events/header_page
  headerEvent: string; // events/header_event
  ftraceFormats: string[]; // events/ftrace/*/format
  eventSystems: { name: string; formats: string[] }[]; // events/SYSTEM/*/format
  kallsyms: string; // /proc/kallsyms
  printk: string; // printk_formats
  cmdlines: string; // saved_cmdlines
  traceClock: string; // the trace_clock file ("local global [virtual]")
  cpuStats: string[]; // per_cpu/cpuN/stats, by CPU
  cpuCount: number; // CPUs of the traced machine
  uname?: string;
  writer?: string; // the VERSION option: what wrote the file
  buffers: TraceDatBuffer[]; // the top-level buffer first
}
