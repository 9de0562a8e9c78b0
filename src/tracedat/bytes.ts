// Little-endian byte building and reading for trace.dat files (the writer always writes little endian
// with 8-byte longs, like an x86-64 host; the reader follows the file's endianness flag).
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class ByteWriter {
  private buf = new Uint8Array(1 << 16);
  private dv = new DataView(this.buf.buffer);
  length = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.dv = new DataView(next.buffer);
  }

  u16(v: number): this {
    this.ensure(2);
    this.dv.setUint16(this.length, v, true);
    this.length += 2;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.dv.setUint32(this.length, v, true);
    this.length += 4;
    return this;
  }

  u64(v: number | bigint): this {
    this.ensure(8);
    this.dv.setBigUint64(this.length, BigInt(v), true);
    this.length += 8;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }

  // the text's UTF-8, without a NUL
  text(s: string): this {
    return this.bytes(encoder.encode(s));
  }

  // the text and a NUL
  cstr(s: string): this {
    return this.text(s).bytes(Uint8Array.of(0));
  }

  // zeros up to the next multiple of `align`
  align(align: number): this {
    const pad = (align - (this.length % align)) % align;
    this.ensure(pad);
    this.buf.fill(0, this.length, this.length + pad);
    this.length += pad;
    return this;
  }

  // overwrite a u64 written earlier (an offset known only later)
  patchU64(at: number, v: number | bigint): void {
    this.dv.setBigUint64(at, BigInt(v), true);
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

export class ByteReader {
  readonly dv: DataView;
  pos = 0;
  littleEndian = true;
  longSize = 8;

  constructor(readonly bytes: Uint8Array, readonly what: string, private readonly fail: (msg: string) => Error) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(n: number): void {
    if (this.pos + n > this.bytes.length) throw this.fail(`${this.what}: truncated at offset ${this.pos} (needs ${n} more bytes, ${this.bytes.length - this.pos} left)`);
  }

  u16(): number {
    this.need(2);
    const v = this.dv.getUint16(this.pos, this.littleEndian);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.dv.getUint32(this.pos, this.littleEndian);
    this.pos += 4;
    return v;
  }

  u64(): number {
    this.need(8);
    const v = this.dv.getBigUint64(this.pos, this.littleEndian);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw this.fail(`${this.what}: a size or offset of ${v} at ${this.pos - 8} is beyond any file`);
    return Number(v);
  }

  take(n: number): Uint8Array {
    this.need(n);
    const b = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  text(n: number): string {
    return decoder.decode(this.take(n));
  }

  // up to the next NUL (consumed)
  cstr(): string {
    const end = this.bytes.indexOf(0, this.pos);
    if (end < 0) throw this.fail(`${this.what}: unterminated string at offset ${this.pos}`);
    const s = decoder.decode(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }

  get left(): number {
    return this.bytes.length - this.pos;
  }
}

export function cstring(s: string): Uint8Array {
  return encoder.encode(s + '\0');
}

export function utf8(b: Uint8Array): string {
  return decoder.decode(b);
}

// the chunks one after another
export function concatBytes(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
