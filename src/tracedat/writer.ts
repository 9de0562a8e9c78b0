// Writing a trace.dat: version 6 (trace-cmd-output.c's layout before file sections) or version 7
// (sections, uncompressed). Little endian, 8-byte longs: the layout of the x86-64 kernel we emulate.
import { RingtraceError } from '../errors.ts';
import { ByteWriter } from './bytes.ts';
import { FLYRECORD_TAG, MAGIC, OPTION, OPTIONS_TAG, WRITER_VERSION, type TraceDat, type TraceDatBuffer } from './format.ts';

function checkInput(t: TraceDat): void {
  if (t.version !== 6 && t.version !== 7) throw new RingtraceError('EINVAL', `trace.dat version ${t.version} cannot be written (6 or 7)`);
  if (t.compression !== 'none') throw new RingtraceError('EINVAL', `compression "${t.compression}" cannot be written (only none)`);
  if (t.bigEndian || t.longSize !== 8) throw new RingtraceError('EINVAL', 'only little-endian files with 8-byte longs are written');
  if (!t.buffers.length || t.buffers[0].name !== '') throw new RingtraceError('EINVAL', 'the first buffer must be the top-level one (name "")');
  for (const b of t.buffers) {
    for (const c of b.cpus) {
      if (c.data.length % b.pageSize) throw new RingtraceError('EINVAL', `buffer "${b.name}" CPU ${c.cpu}: ${c.data.length} bytes is not a whole number of ${b.pageSize}-byte pages`);
    }
  }
}

function fileHeader(w: ByteWriter, t: TraceDat): void {
  w.bytes(MAGIC).cstr(String(t.version));
  w.bytes(Uint8Array.of(0, t.longSize)); // little endian, long size
  w.u32(t.pageSize);
}

// header_page, header_event (the HEADER INFO section's content)
function headerInfo(w: ByteWriter, t: TraceDat): void {
  w.cstr('header_page').u64(Buffer.byteLength(t.headerPage)).text(t.headerPage);
  w.cstr('header_event').u64(Buffer.byteLength(t.headerEvent)).text(t.headerEvent);
}

function ftraceEvents(w: ByteWriter, t: TraceDat): void {
  w.u32(t.ftraceFormats.length);
  for (const f of t.ftraceFormats) w.u64(Buffer.byteLength(f)).text(f);
}

function eventFormats(w: ByteWriter, t: TraceDat): void {
  w.u32(t.eventSystems.length);
  for (const s of t.eventSystems) {
    w.cstr(s.name).u32(s.formats.length);
    for (const f of s.formats) w.u64(Buffer.byteLength(f)).text(f);
  }
}

function kallsyms(w: ByteWriter, t: TraceDat): void {
  w.u32(Buffer.byteLength(t.kallsyms)).text(t.kallsyms);
}

function printk(w: ByteWriter, t: TraceDat): void {
  w.u32(Buffer.byteLength(t.printk)).text(t.printk);
}

function cmdlines(w: ByteWriter, t: TraceDat): void {
  w.u64(Buffer.byteLength(t.cmdlines)).text(t.cmdlines);
}

function option(w: ByteWriter, id: number, data: Uint8Array | ((o: ByteWriter) => void)): number {
  const body = data instanceof Uint8Array ? data : (() => {
    const o = new ByteWriter();
    data(o);
    return o.result();
  })();
  w.u16(id).u32(body.length);
  const at = w.length;
  w.bytes(body);
  return at;
}

function cstrBytes(s: string): Uint8Array {
  return new ByteWriter().cstr(s).result();
}

// The options every file carries: the CPU stats, the clock, what wrote it, the CPU count.
function commonOptions(w: ByteWriter, t: TraceDat, v6ClockFollows: boolean): void {
  for (const s of t.cpuStats) option(w, OPTION.CPUSTAT, cstrBytes(s));
  // version 6: an empty TRACECLOCK option says the trace_clock text follows the CPU table
  option(w, OPTION.TRACECLOCK, v6ClockFollows ? new Uint8Array(0) : cstrBytes(t.traceClock));
  if (t.uname !== undefined) option(w, OPTION.UNAME, cstrBytes(t.uname));
  option(w, OPTION.VERSION, cstrBytes(t.writer ?? WRITER_VERSION));
  option(w, OPTION.CPUCOUNT, (o) => o.u32(t.cpuCount));
}

// A buffer's CPU data in v6: "flyrecord\0", (offset, size) per CPU, the clock blob, then each CPU's pages
// at a page-aligned offset (tcmd_out_write_cpu_data)
function flyrecordV6(w: ByteWriter, b: TraceDatBuffer, cpuCount: number): void {
  w.text(FLYRECORD_TAG);
  const table = w.length;
  for (let i = 0; i < cpuCount; i++) w.u64(0).u64(0);
  const clock = `[${b.clock}]`;
  w.u64(clock.length).text(clock);
  for (const c of b.cpus) {
    if (c.cpu >= cpuCount) throw new RingtraceError('EINVAL', `CPU ${c.cpu} is beyond the ${cpuCount} CPUs of the file`);
    w.align(b.pageSize);
    w.patchU64(table + c.cpu * 16, w.length);
    w.patchU64(table + c.cpu * 16 + 8, c.data.length);
    w.bytes(c.data);
  }
}

function writeV6(t: TraceDat): Uint8Array {
  const w = new ByteWriter();
  fileHeader(w, t);
  headerInfo(w, t);
  ftraceEvents(w, t);
  eventFormats(w, t);
  kallsyms(w, t);
  printk(w, t);
  cmdlines(w, t);
  w.u32(t.cpuCount);
  w.text(OPTIONS_TAG);
  commonOptions(w, t, true);
  // instances: BUFFER options whose offsets point at each instance's own flyrecord block
  const patches = t.buffers.slice(1).map((b) => option(w, OPTION.BUFFER, (o) => o.u64(0).cstr(b.name)));
  w.u16(OPTION.DONE);
  flyrecordV6(w, t.buffers[0], t.cpuCount);
  t.buffers.slice(1).forEach((b, i) => {
    w.patchU64(patches[i], w.length);
    flyrecordV6(w, b, t.cpuCount);
  });
  return w.result();
}

// Version 7: a strings section for the section descriptions, then one section per part of the header,
// the options section naming where each is, and one BUFFER FLYRECORD section per buffer
// (trace-cmd.dat.v7.5). Section header: u16 id, u16 flags, u32 description (offset into the strings),
// u64 size.
function writeV7(t: TraceDat): Uint8Array {
  const w = new ByteWriter();
  fileHeader(w, t);
  w.cstr('none').cstr('');
  const firstOptions = w.length;
  w.u64(0);

  const strings: string[] = [];
  let stringsSize = 0;
  const desc = (s: string): number => {
    const at = stringsSize;
    strings.push(s);
    stringsSize += Buffer.byteLength(s) + 1;
    return at;
  };
  const section = (id: number, description: string, body: (o: ByteWriter) => void): number => {
    const at = w.length;
    const o = new ByteWriter();
    body(o);
    w.u16(id).u16(0).u32(desc(description)).u64(o.length).bytes(o.result());
    return at;
  };

  const offsets = {
    header: section(OPTION.HEADER_INFO, 'headers', (o) => headerInfo(o, t)),
    ftrace: section(OPTION.FTRACE_EVENTS, 'ftrace events', (o) => ftraceEvents(o, t)),
    events: section(OPTION.EVENT_FORMATS, 'events format', (o) => eventFormats(o, t)),
    kallsyms: section(OPTION.KALLSYMS, 'kallsyms', (o) => kallsyms(o, t)),
    printk: section(OPTION.PRINTK, 'printk', (o) => printk(o, t)),
    cmdlines: section(OPTION.CMDLINES, 'command lines', (o) => cmdlines(o, t)),
  };

  // each buffer's data: a section whose header is followed by padding to a page, then the CPUs' pages
  const bufferData: { at: number; cpus: { cpu: number; offset: number; size: number }[] }[] = [];
  for (const b of t.buffers) {
    const at = w.length;
    w.u16(OPTION.BUFFER).u16(0).u32(desc(`buffer flyrecord ${b.name}`));
    const sizeAt = w.length;
    w.u64(0);
    const start = w.length;
    const cpus = b.cpus.map((c) => {
      w.align(b.pageSize);
      const offset = w.length;
      w.bytes(c.data);
      return { cpu: c.cpu, offset, size: c.data.length };
    });
    w.patchU64(sizeAt, w.length - start);
    bufferData.push({ at, cpus });
  }

  const optionsDesc = desc('options');
  w.u16(OPTION.STRINGS).u16(0).u32(desc('strings'));
  const stringsBody = new ByteWriter();
  for (const s of strings) stringsBody.cstr(s);
  w.u64(stringsBody.length).bytes(stringsBody.result());

  const optionsAt = w.length;
  w.patchU64(firstOptions, optionsAt);
  const opts = new ByteWriter();
  option(opts, OPTION.HEADER_INFO, (o) => o.u64(offsets.header));
  option(opts, OPTION.FTRACE_EVENTS, (o) => o.u64(offsets.ftrace));
  option(opts, OPTION.EVENT_FORMATS, (o) => o.u64(offsets.events));
  option(opts, OPTION.KALLSYMS, (o) => o.u64(offsets.kallsyms));
  option(opts, OPTION.PRINTK, (o) => o.u64(offsets.printk));
  option(opts, OPTION.CMDLINES, (o) => o.u64(offsets.cmdlines));
  commonOptions(opts, t, false);
  t.buffers.forEach((b, i) => {
    option(opts, OPTION.BUFFER, (o) => {
      o.u64(bufferData[i].at).cstr(b.name).cstr(b.clock).u32(b.pageSize).u32(b.cpus.length);
      for (const c of bufferData[i].cpus) o.u32(c.cpu).u64(c.offset).u64(c.size);
    });
  });
  option(opts, OPTION.DONE, (o) => o.u64(0));
  w.u16(OPTION.DONE).u16(0).u32(optionsDesc).u64(opts.length).bytes(opts.result());
  return w.result();
}

export function writeTraceDat(t: TraceDat): Uint8Array {
  checkInput(t);
  return t.version === 6 ? writeV6(t) : writeV7(t);
}
