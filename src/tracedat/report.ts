// `trace-cmd report` over a TraceDat (tracecmd/trace-read.c with libtraceevent's printing): the
// "cpus=N" line, then every record of the CPUs merged by time:
//   "%16s-%-5d [%03d]" comm-pid-cpu (with -l: "%8.8s-%-5d %3d" and the latency flags),
//   the time (" %5lu.%06lu:" rounded to microseconds for the ns clocks, "%12llu:" raw for the others,
//   nanoseconds with -t), " NAME: " padded to 20 columns, and the event's own text; "CPU:N [M EVENTS
//   DROPPED]" before a record that follows lost events. --stat prints the CPU stats the file kept.
import { RingtraceError } from '../errors.ts';
import type { TraceDat } from './format.ts';
import { decodeCpuData, mergeByTime, type TraceRecord } from './kbuffer.ts';
import { EventFilters } from './filter.ts';
import { GraphPrinter } from './fgraph.ts';
import { Kallsyms, parseEventFormat, printFields, printFormatted, type EventFormat } from './events.ts';
import { plugins } from './plugins.ts';

// libtraceevent's trace_entry flag bits (event-parse.c); 0x02 is IRQS_NOSUPPORT there
const LTE_IRQS_OFF = 0x01;
const LTE_IRQS_NOSUPPORT = 0x02;
const LTE_NEED_RESCHED = 0x04;
const LTE_HARDIRQ = 0x08;
const LTE_SOFTIRQ = 0x10;

// The clocks trace-cmd prints in seconds.microseconds (extract_trace_clock); any other is printed raw
const USEC_CLOCKS = /^(local|global|uptime|perf|mono.*|x86-tsc-nsec|tai)$/;

// A trace.dat opened for reading: formats by id, symbols, task names, decoded records.
export class TraceSession {
  readonly formats = new Map<number, EventFormat>();
  readonly syms: Kallsyms;
  readonly comms = new Map<number, string>();

  constructor(readonly dat: TraceDat) {
    for (const f of dat.ftraceFormats) this.addFormat(f, 'ftrace');
    for (const s of dat.eventSystems) for (const f of s.formats) this.addFormat(f, s.name);
    this.syms = new Kallsyms(dat.kallsyms);
    for (const line of dat.cmdlines.split('\n')) {
      const m = /^\s*(\d+)\s+(.*)$/.exec(line);
      if (m) this.comms.set(Number(m[1]), m[2]);
    }
  }

  private addFormat(text: string, system: string): void {
    const ev = parseEventFormat(text, system);
    this.formats.set(ev.id, ev);
  }

  // The buffer's records, merged by time; `cpus` limits them to those CPUs.
  records(bufferName = '', cpus?: number[]): TraceRecord[] {
    const b = this.dat.buffers.find((x) => x.name === bufferName);
    if (!b) throw new RingtraceError('ENOENT', `the file has no buffer "${bufferName}" (buffers: ${this.dat.buffers.map((x) => JSON.stringify(x.name)).join(', ')})`);
    const per = b.cpus
      .filter((c) => !cpus || cpus.includes(c.cpu))
      .sort((a, c) => a.cpu - c.cpu)
      .map((c) => decodeCpuData(c.data, c.cpu, b.pageSize, !this.dat.bigEndian, this.dat.longSize));
    return mergeByTime(per);
  }

  eventOf(r: TraceRecord): EventFormat | undefined {
    if (r.data.length < 2) return undefined;
    return this.formats.get(r.data[0] | (r.data[1] << 8));
  }

  pidOf(r: TraceRecord): number {
    return r.data.length >= 8 ? new DataView(r.data.buffer, r.data.byteOffset).getInt32(4, true) : -1;
  }

  // find_cmdline(): "<idle>" for pid 0, "<...>" for a task the file does not name
  commOf(pid: number): string {
    if (pid === 0) return '<idle>';
    return this.comms.get(pid) ?? '<...>';
  }

  clockOf(bufferName = ''): string {
    return this.dat.buffers.find((b) => b.name === bufferName)?.clock ?? 'local';
  }
}

export interface ReportOptions {
  buffer?: string; // an instance's buffer instead of the top level
  cpus?: number[]; // --cpu
  filters?: { spec: string; negate: boolean }[]; // -F (negate: after -v)
  latency?: boolean; // -l
  fullTimestamps?: boolean; // -t
  parent?: boolean; // -O parent: the function plugin prints the caller
  noPlugins?: boolean; // -N: no event handlers at all, every event by its print fmt
  stat?: boolean; // --stat
}

// data_latency_format(): irqs-off, need-resched, hardirq/softirq, preempt depth, migrate disable
function latencyFlags(data: Uint8Array): string {
  const flags = data[2] ?? 0;
  const pc = data[3] ?? 0;
  const hard = flags & LTE_HARDIRQ;
  const soft = flags & LTE_SOFTIRQ;
  return (
    (flags & LTE_IRQS_OFF ? 'd' : flags & LTE_IRQS_NOSUPPORT ? 'X' : '.') +
    (flags & LTE_NEED_RESCHED ? 'N' : '.') +
    (hard && soft ? 'H' : hard ? 'h' : soft ? 's' : '.') +
    (pc & 0xf ? (pc & 0xf).toString(16) : '.') +
    (pc & 0xf0 ? (pc >> 4).toString(16) : '.')
  );
}

// time_format() and print_event_time(): " %5llu.%0*llu" after rounding to the precision, or "%12llu" raw
function printTime(ts: number, usecs: boolean, nsec: boolean): string {
  const t = BigInt(ts);
  if (!usecs) return String(t).padStart(12);
  if (nsec) return ` ${String(t / 1_000_000_000n).padStart(5)}.${String(t % 1_000_000_000n).padStart(9, '0')}`;
  const us = (t + 500n) / 1000n;
  return ` ${String(us / 1_000_000n).padStart(5)}.${String(us % 1_000_000n).padStart(6, '0')}`;
}

export class EventPrinter {
  private readonly plugins: ReturnType<typeof plugins>;

  constructor(
    private readonly s: TraceSession,
    private readonly opts: { parent?: boolean; time?: (ts: number) => string; noPlugins?: boolean } = {},
  ) {
    this.plugins = plugins(!opts.noPlugins);
  }

  // The event's text: a plugin's handler where libtraceevent has one, else the print fmt, else the fields
  info(ev: EventFormat | undefined, r: TraceRecord): string {
    if (!ev) return `[UNKNOWN TYPE ${r.data.length >= 2 ? r.data[0] | (r.data[1] << 8) : '?'}]`;
    const plugin = this.plugins.get(`${ev.system}/${ev.name}`);
    if (plugin) {
      const time = this.opts.time ?? ((ts: number) => String(ts));
      return plugin({ ev, r, syms: this.s.syms, comms: this.s.comms, parent: this.opts.parent ?? false, time });
    }
    return printFormatted(ev, r.data, this.s.syms) ?? printFields(ev, r.data);
  }
}

function parseStats(dat: TraceDat): string {
  // tracecmd_print_stats(): the CPUSTAT options (their NUL turned into a newline), then where each CPU's data is
  let out = '\nKernel buffer statistics:\n  Note: "entries" are the entries left in the kernel ring buffer and are not\n' +
    '        recorded in the trace data. They should all be zero.\n\n';
  out += dat.cpuStats.length ? dat.cpuStats.map((s) => s + '\n').join('') + '\n' : ' No stats in this file\n';
  const top = dat.buffers[0];
  for (let cpu = 0; cpu < dat.cpuCount; cpu++) {
    const c = top.cpus.find((x) => x.cpu === cpu);
    out += `CPU${cpu} data recorded at offset=0x${(c?.fileOffset ?? 0).toString(16)}\n`;
    out += `    ${c?.fileSize ?? c?.data.length ?? 0} bytes in size\n`;
  }
  return out;
}

export function report(dat: TraceDat, opts: ReportOptions = {}): string {
  const s = new TraceSession(dat);
  const out = `cpus=${dat.cpuCount}\n`;
  if (opts.stat) return out + parseStats(dat);
  const filters = new EventFilters();
  for (const f of opts.filters ?? []) filters.add(f.spec, f.negate);
  filters.check(s.formats.values());
  const graph = new GraphPrinter(s);
  // every buffer (read_data_info: one handle per instance) unless one is asked for
  const names = opts.buffer !== undefined ? [opts.buffer] : dat.buffers.map((b) => b.name);
  const lists = names.map((name) => ({ name, usecs: USEC_CLOCKS.test(s.clockOf(name)), records: s.records(name, opts.cpus), at: 0 }));
  // print_handle_file(): with instances, each line starts with its buffer's name (or blanks for the top)
  const width = names.length > 1 ? Math.max(...names.map((n) => n.length)) : -1;
  const topUsecs = lists[0]?.usecs ?? true;
  // trace-read.c's tep_func_repeat_format: "%6.1000d" or "%12d", without the line's leading space
  const repeatTime = (ts: number) => (topUsecs ? printTime(ts, true, false).slice(1) : printTime(ts, false, false));
  const printer = new EventPrinter(s, { parent: opts.parent, time: repeatTime, noPlugins: opts.noPlugins });
  const lines: string[] = [];
  for (;;) {
    // tracecmd_iterate_events_multi(): the buffer with the oldest next record, the earlier one on a tie
    let src: (typeof lists)[number] | undefined;
    for (const l of lists) if (l.at < l.records.length && (!src || l.records[l.at].ts < src.records[src.at].ts)) src = l;
    if (!src) break;
    const { name: buffer, usecs, records } = src;
    const r = records[src.at++];
    const ev = s.eventOf(r);
    const pid = s.pidOf(r);
    const comm = s.commOf(pid);
    if (!filters.empty && (!ev || !filters.pass({ ev, data: r.data, cpu: r.cpu, comm }))) continue;
    // a graph entry shown as a leaf takes its return (the next record of its buffer) with it
    const ret = ev && !opts.noPlugins && graph.isEntry(ev) && graph.isLeaf(ev, r, records[src.at]) ? records[src.at++] : undefined;
    let line = width < 0 ? '' : buffer ? `${buffer.padStart(width)}: ` : `${''.padStart(width)}  `;
    if (r.missed > 0) line += `CPU:${r.cpu} [${r.missed} EVENTS DROPPED]\n`;
    else if (r.missed < 0) line += `CPU:${r.cpu} [EVENTS DROPPED]\n`;
    if (opts.latency) line += `${comm.slice(0, 8).padStart(8)}-${String(pid).padEnd(5)} ${String(r.cpu).padStart(3)}${latencyFlags(r.data)}`;
    else line += `${comm.padStart(16)}-${String(pid).padEnd(5)} [${String(r.cpu).padStart(3, '0')}]`;
    line += `${printTime(r.ts, usecs, opts.fullTimestamps ?? false)}:`;
    const name = ev ? ev.name : '(NULL)';
    line += ` ${name}: ${' '.repeat(Math.max(0, 20 - name.length))}`;
    if (ev && !opts.noPlugins && graph.isEntry(ev)) line += graph.entry(ev, r, ret);
    else if (ev && !opts.noPlugins && graph.isExit(ev)) line += graph.exit(ev, r);
    else line += printer.info(ev, r);
    // trace_show_data(): one trailing newline of the event's text is dropped
    lines.push(line.endsWith('\n') ? line.slice(0, -1) : line);
  }
  return out + lines.map((l) => l + '\n').join('');
}
