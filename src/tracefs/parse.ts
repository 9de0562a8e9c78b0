// What a tracefs write handler gets from user space, parsed the way the kernel's helpers do.
import { RingtraceError } from '../errors.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// The bytes write(2) would pass for `text` (what `echo VALUE > file` writes, usually with a trailing "\n").
export function userBytes(text: string): Uint8Array {
  return encoder.encode(text);
}

// A C string stops at its first NUL.
function cString(bytes: Uint8Array): Uint8Array {
  const nul = bytes.indexOf(0);
  return nul < 0 ? bytes : bytes.subarray(0, nul);
}

const U64_MAX = (1n << 64n) - 1n;

// kstrtoull_from_user(buf, count, 10, &val): at most 66 bytes are looked at (the longest "+0x" + 64
// binary digits + "\n"), then kstrtoull(): an optional '+', at least one decimal digit, one optional
// "\n", nothing else. No other whitespace is allowed, before or after. More than 64 bits is ERANGE.
export function kstrtoulFromUser(text: string): bigint {
  const bytes = cString(userBytes(text).subarray(0, 1 + 2 + 64 + 1));
  let i = 0;
  if (bytes[i] === 0x2b /* + */) i++;
  const start = i;
  let val = 0n;
  while (i < bytes.length && bytes[i] >= 0x30 && bytes[i] <= 0x39) {
    val = val * 10n + BigInt(bytes[i] - 0x30);
    i++;
  }
  if (i === start) throw new RingtraceError('EINVAL', `"${printable(text)}" is not an unsigned decimal number`);
  if (val > U64_MAX) throw new RingtraceError('ERANGE', `${val} does not fit in 64 bits`);
  if (bytes[i] === 0x0a) i++;
  if (i !== bytes.length) throw new RingtraceError('EINVAL', `"${printable(text)}" is not an unsigned decimal number`);
  return val;
}

// isspace() in the kernel's ctype: space, \t, \n, \v, \f, \r
function isspace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

// strstrip(): leading and trailing whitespace removed
export function strstrip(bytes: Uint8Array): string {
  let a = 0;
  let b = bytes.length;
  while (a < b && isspace(bytes[a])) a++;
  while (b > a && isspace(bytes[b - 1])) b--;
  return decoder.decode(bytes.subarray(a, b));
}

// copy_from_user() into a fixed `char buf[size]` with `if (cnt >= sizeof(buf)) return -EINVAL`, then
// buf[cnt] = 0 (tracing_clock_write and friends)
export function userString(text: string, size: number): Uint8Array {
  const bytes = userBytes(text);
  if (bytes.length >= size) throw new RingtraceError('EINVAL', `${bytes.length} bytes is too long (at most ${size - 1})`);
  return cString(bytes);
}

export function printable(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

// ns2usecs(): nanoseconds to microseconds, rounded to nearest
export function ns2usecs(ns: number): number {
  return Math.floor((ns + 500) / 1000);
}

// "%5llu.%06lu" of ns2usecs(ns) split at USEC_PER_SEC (tracing_stats_read)
export function formatSecUsec(ns: number): string {
  const us = ns2usecs(ns);
  const sec = Math.floor(us / 1_000_000);
  const rem = us - sec * 1_000_000;
  return `${String(sec).padStart(5)}.${String(rem).padStart(6, '0')}`;
}

// fls(): position of the most significant set bit, 1-based; 0 for 0
export function fls(x: bigint): number {
  let n = 0;
  while (x > 0n) {
    x >>= 1n;
    n++;
  }
  return n;
}
