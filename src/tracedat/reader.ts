// Reading a trace.dat: version 6 (ours and trace-cmd's, including `trace-cmd split` output) and
// version 7 (file sections, as `trace-cmd convert` writes them, with zstd- or zlib-compressed sections
// and CPU data chunks). What trace-input.c reads, into the TraceDat the writer takes.
import { inflateSync } from 'node:zlib';
import { RingtraceError } from '../errors.ts';
import { ByteReader, concatBytes, utf8 } from './bytes.ts';
import { FLYRECORD_TAG, LATENCY_TAG, MAGIC, OPTION, OPTIONS_TAG, SEC_FL_COMPRESS, type TraceDat, type TraceDatBuffer } from './format.ts';

const bad = (msg: string) => new RingtraceError('EINVAL', msg);

type Decompress = (data: Uint8Array, size: number) => Uint8Array;

// The algorithms of the compression header (trace-compress-zstd.c, trace-compress-zlib.c). zstd comes
// from a library loaded only when a file needs it.
async function decompressor(name: string): Promise<Decompress | null> {
  if (name === 'none') return null;
  if (name === 'zlib') return (data) => new Uint8Array(inflateSync(data));
  if (name === 'zstd') {
    const { decompress } = await import('fzstd');
    return (data, size) => decompress(data, new Uint8Array(size));
  }
  throw bad(`the file is compressed with "${name}", which this reader does not know (zstd, zlib)`);
}

interface Pending {
  name: string;
  clock?: string;
  pageSize?: number;
  offset: number;
  cpus?: { cpu: number; offset: number; size: number }[];
}

class Parser {
  readonly r: ByteReader;
  readonly t: TraceDat;
  private decompress: Decompress | null = null;
  readonly pending: Pending[] = [];
  clockFollows = false; // v6: an empty TRACECLOCK option, the clock text follows the CPU table
  private sections = new Map<number, number>(); // v7: section id -> offset

  constructor(bytes: Uint8Array, readonly file: string) {
    this.r = new ByteReader(bytes, file, bad);
    this.t = {
      version: 6, compression: 'none', bigEndian: false, longSize: 8, pageSize: 4096, headerPage: '', headerEvent: '', ftraceFormats: [],
      eventSystems: [], kallsyms: '', printk: '', cmdlines: '', traceClock: '', cpuStats: [], cpuCount: 0, buffers: [],
    };
  }

  async initial(): Promise<void> {
    const r = this.r;
    const magic = r.take(MAGIC.length);
    if (!magic.every((b, i) => b === MAGIC[i])) throw bad(`${this.file}: not a trace.dat file (no "\\x17\\x08Dtracing" magic)`);
    const version = Number(r.cstr());
    if (version !== 6 && version !== 7) throw bad(`${this.file}: trace.dat version ${version} is not supported (6 or 7)`);
    const [endian, longSize] = r.take(2);
    if (longSize !== 4 && longSize !== 8) throw bad(`${this.file}: bad long size ${longSize}`);
    r.littleEndian = endian === 0;
    r.longSize = longSize;
    this.t.version = version;
    this.t.bigEndian = endian !== 0;
    this.t.longSize = longSize;
    this.t.pageSize = r.u32();
    if (version === 7) {
      this.t.compression = r.cstr();
      r.cstr(); // the algorithm's version
      this.decompress = await decompressor(this.t.compression);
    }
  }

  // A stretch of the file as a reader of its own
  private sub(bytes: Uint8Array, what: string): ByteReader {
    const s = new ByteReader(bytes, `${this.file}: ${what}`, bad);
    s.littleEndian = this.r.littleEndian;
    s.longSize = this.r.longSize;
    return s;
  }

  headerInfo(r: ByteReader): void {
    if (r.cstr() !== 'header_page') throw bad(`${this.file}: no header_page where it belongs (offset ${r.pos})`);
    this.t.headerPage = r.text(r.u64());
    if (r.cstr() !== 'header_event') throw bad(`${this.file}: no header_event where it belongs (offset ${r.pos})`);
    this.t.headerEvent = r.text(r.u64());
  }

  ftraceEvents(r: ByteReader): void {
    const n = r.u32();
    for (let i = 0; i < n; i++) this.t.ftraceFormats.push(r.text(r.u64()));
  }

  eventFormats(r: ByteReader): void {
    const systems = r.u32();
    for (let i = 0; i < systems; i++) {
      const name = r.cstr();
      const n = r.u32();
      const formats: string[] = [];
      for (let j = 0; j < n; j++) formats.push(r.text(r.u64()));
      this.t.eventSystems.push({ name, formats });
    }
  }

  kallsyms(r: ByteReader): void {
    this.t.kallsyms = r.text(r.u32());
  }

  printk(r: ByteReader): void {
    this.t.printk = r.text(r.u32());
  }

  cmdlines(r: ByteReader): void {
    this.t.cmdlines = r.text(r.u64());
  }

  // One option (handle_options); version 7's section offsets are remembered for later.
  option(id: number, data: Uint8Array): void {
    const o = this.sub(data, `option ${id}`);
    const str = () => utf8(data).replace(/\0[\s\S]*$/, '');
    switch (id) {
      case OPTION.CPUSTAT:
        this.t.cpuStats.push(str());
        break;
      case OPTION.TRACECLOCK:
        if (data.length === 0) this.clockFollows = true;
        else this.t.traceClock = str();
        break;
      case OPTION.UNAME:
        this.t.uname = str();
        break;
      case OPTION.VERSION:
        this.t.writer = str();
        break;
      case OPTION.CPUCOUNT:
        this.t.cpuCount = o.u32();
        break;
      case OPTION.BUFFER: {
        const p: Pending = { offset: o.u64(), name: o.cstr() };
        if (this.t.version === 7) {
          p.clock = o.cstr();
          // trace-cmd 3.1 added the buffer's page size before the CPU count: tell the two layouts apart
          // by which one accounts for the option's exact size
          const rest = o.left;
          const first = o.dv.getUint32(o.pos, o.littleEndian);
          if (first * 20 + 4 !== rest) p.pageSize = o.u32();
          const n = o.u32();
          p.cpus = [];
          for (let i = 0; i < n; i++) p.cpus.push({ cpu: o.u32(), offset: o.u64(), size: o.u64() });
        }
        this.pending.push(p);
        break;
      }
      case OPTION.HEADER_INFO:
      case OPTION.FTRACE_EVENTS:
      case OPTION.EVENT_FORMATS:
      case OPTION.KALLSYMS:
      case OPTION.PRINTK:
      case OPTION.CMDLINES:
        this.sections.set(id, o.u64());
        break;
      default:
        break; // options a report does not need (DATE, OFFSET, HOOK, TRACEID, ...)
    }
  }

  // v6 options: u16 id, u32 size, data; id 0 ends them
  optionsV6(): void {
    const r = this.r;
    for (;;) {
      const id = r.u16();
      if (id === OPTION.DONE) return;
      this.option(id, r.take(r.u32()));
    }
  }

  // v7: section header (u16 id, u16 flags, u32 description, u64 size), the data (decompressed)
  section(offset: number, expect?: number): { id: number; body: ByteReader; start: number; size: number; compressed: boolean } {
    const r = this.r;
    r.pos = offset;
    const id = r.u16();
    const flags = r.u16();
    r.u32();
    const size = r.u64();
    if (expect !== undefined && id !== expect) throw bad(`${this.file}: section at ${offset} is ${id}, not ${expect}`);
    const start = r.pos;
    const compressed = (flags & SEC_FL_COMPRESS) !== 0;
    // a BUFFER section's body is the CPU data, read per CPU from its own offsets
    if (id === OPTION.BUFFER) return { id, body: this.sub(new Uint8Array(0), 'buffer'), start, size, compressed };
    let data = r.take(size);
    if (compressed) {
      if (!this.decompress) throw bad(`${this.file}: section ${id} is compressed, but the file names no algorithm`);
      const c = this.sub(data, `section ${id}`);
      const zsize = c.u32();
      const usize = c.u32();
      data = this.decompress(c.take(zsize), usize);
    }
    return { id, body: this.sub(data, `section ${id}`), start, size, compressed };
  }

  optionsV7(offset: number): void {
    while (offset) {
      const { body } = this.section(offset, OPTION.DONE);
      offset = 0;
      while (body.left > 0) {
        const id = body.u16();
        const data = body.take(body.u32());
        if (id === OPTION.DONE) {
          offset = this.sub(data, 'options').u64();
          break;
        }
        this.option(id, data);
      }
    }
    const need = (id: number, what: string, read: (r: ByteReader) => void) => {
      const at = this.sections.get(id);
      if (at !== undefined) read(this.section(at, id).body);
      else if (id === OPTION.HEADER_INFO) throw bad(`${this.file}: no ${what} section`);
    };
    need(OPTION.HEADER_INFO, 'header info', (b) => this.headerInfo(b));
    need(OPTION.FTRACE_EVENTS, 'ftrace events', (b) => this.ftraceEvents(b));
    need(OPTION.EVENT_FORMATS, 'event formats', (b) => this.eventFormats(b));
    need(OPTION.KALLSYMS, 'kallsyms', (b) => this.kallsyms(b));
    need(OPTION.PRINTK, 'printk', (b) => this.printk(b));
    need(OPTION.CMDLINES, 'cmdlines', (b) => this.cmdlines(b));
  }

  // The CPU data of a v7 buffer: raw bytes, or chunks (u32 count; u32 zsize, u32 size, data each)
  cpuDataV7(offset: number, size: number, compressed: boolean): Uint8Array {
    const r = this.r;
    r.pos = offset;
    if (!compressed) return r.take(size);
    if (!this.decompress) throw bad(`${this.file}: CPU data is compressed, but the file names no algorithm`);
    const count = r.u32();
    const parts: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const zsize = r.u32();
      const usize = r.u32();
      parts.push(this.decompress(r.take(zsize), usize));
    }
    return concatBytes(parts);
  }

  // "flyrecord\0", then (offset, size) per CPU and, when the TRACECLOCK option said so, the clock text
  flyrecordV6(name: string, cpus: number): TraceDatBuffer {
    const r = this.r;
    const tag = r.text(10);
    if (tag === LATENCY_TAG) throw bad(`${this.file}: a latency-format file (text, no CPU data) is not supported`);
    if (tag !== FLYRECORD_TAG) throw bad(`${this.file}: expected "flyrecord" at offset ${r.pos - 10}`);
    const table: { offset: number; size: number }[] = [];
    for (let i = 0; i < cpus; i++) table.push({ offset: r.u64(), size: r.u64() });
    let clock = this.t.traceClock;
    if (this.clockFollows) clock = r.text(r.u64());
    const end = r.bytes.length;
    const data = table.map(({ offset, size }, cpu) => {
      if (size && offset + size > end) throw bad(`${this.file}: CPU ${cpu} data (${size} bytes at ${offset}) is beyond the end of the file (${end}): truncated?`);
      return { cpu, data: r.bytes.subarray(offset, offset + size), fileOffset: offset, fileSize: size };
    });
    return { name, clock: clockName(clock), pageSize: this.t.pageSize, cpus: data };
  }
}

// "[local] global" or "[local]" or "local" -> "local"
function clockName(text: string): string {
  return /\[([^\]]+)\]/.exec(text)?.[1] ?? (text.trim().split(/\s+/)[0] || 'local');
}

export async function readTraceDat(bytes: Uint8Array, file = 'trace.dat'): Promise<TraceDat> {
  const p = new Parser(bytes, file);
  const t = p.t;
  const r = p.r;
  await p.initial();
  if (t.version === 6) {
    p.headerInfo(r);
    p.ftraceEvents(r);
    p.eventFormats(r);
    p.kallsyms(r);
    p.printk(r);
    p.cmdlines(r);
    const cpus = r.u32();
    const tag = r.text(10);
    if (tag === OPTIONS_TAG) p.optionsV6();
    else r.pos -= 10;
    if (!t.cpuCount) t.cpuCount = cpus;
    t.buffers.push(p.flyrecordV6('', cpus));
    for (const b of p.pending) {
      r.pos = b.offset;
      t.buffers.push(p.flyrecordV6(b.name, cpus));
    }
  } else {
    p.optionsV7(r.u64());
    const pending = [...p.pending].sort((a, b) => (a.name === '' ? -1 : b.name === '' ? 1 : 0));
    for (const b of pending) {
      const s = p.section(b.offset, OPTION.BUFFER);
      // compressed data is read from a decompressed copy, laid out from one page on (init_cpu_zfile), and
      // that is where trace-cmd says each CPU's data is
      const pageSize = b.pageSize ?? t.pageSize;
      let next = pageSize;
      const cpus = (b.cpus ?? []).map((c) => {
        const data = p.cpuDataV7(c.offset, c.size, s.compressed);
        if (!s.compressed || !c.size) return { cpu: c.cpu, data, fileOffset: c.offset, fileSize: c.size };
        const at = next;
        next = Math.ceil((next + data.length) / pageSize) * pageSize;
        return { cpu: c.cpu, data, fileOffset: at, fileSize: data.length };
      });
      t.buffers.push({ name: b.name, clock: b.clock ?? clockName(t.traceClock), pageSize, cpus });
    }
    if (!t.buffers.length || t.buffers[0].name !== '') t.buffers.unshift({ name: '', clock: clockName(t.traceClock), pageSize: t.pageSize, cpus: [] });
    if (!t.cpuCount) t.cpuCount = Math.max(0, ...t.buffers.flatMap((b) => b.cpus.map((c) => c.cpu + 1)));
  }
  if (!t.traceClock) t.traceClock = `[${t.buffers[0].clock}]`;
  return t;
}
