// machine.fs: the tracefs control surface, with the kernel's file names, formats and errors.
//
//   fs.read(path)                 what `cat path` prints (sync)
//   fs.readBinary(path)           the bytes of a binary file (per_cpu/cpuN/trace_pipe_raw)
//   fs.write(path, text, opts)    what `echo VALUE > path` does (`{ append: true }` for `>>`); async,
//                                 since resizing or resetting waits for a grace period
//   fs.ls(dir), fs.stat(path)
//   fs.open(path, flags)          an open file (handle.read/write/close): several write(2) calls on one
//                                 open set_ftrace_filter, or a trace_pipe held open (instance busy)
//   fs.mkdir('instances/NAME'), fs.rmdir('instances/NAME')   instance_mkdir / instance_rmdir
//
// Paths: "/sys/kernel/tracing/X", "/sys/kernel/debug/tracing/X", or "X" relative to the tracing root.
//
// Errors are RingtraceErrors with errno names and leave the machine unchanged: ENOENT for a path that
// does not exist, ENOTDIR for a file used as a directory, EISDIR for reading or writing a directory,
// EINVAL for a value the file's write() rejects. Writing a file without write permission (buffer_total_size_kb,
// per_cpu/cpuN/stats, mode 0440) is EACCES "Permission denied", as open(O_WRONLY) reports it to a user
// without CAP_DAC_OVERRIDE. (As root the open succeeds and the kernel's vfs_write() then returns EINVAL
// because the file has no write op; we report the mode instead, since that is what the caller got wrong.)
// Reading a file without read permission is EACCES likewise.
//
// Writes are serialised, like the kernel's trace_types_lock; reads do not wait for them.
import type { RingMachine } from '../api.ts';
import { RingtraceError } from '../errors.ts';
import type { OpenFile, OpenFlags, TraceDir, TraceFile, TraceNode, WriteOptions } from './node.ts';
import { printable } from './parse.ts';
import { instancesDir, traceArrayDir, topLevel } from './trace-array.ts';

// Where tracefs is mounted: the first is the canonical one (relative paths start there).
export const TRACEFS_MOUNTS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'] as const;

// An open tracefs file (Tracefs.open).
export interface FileHandle {
  read(): string;
  write(text: string): Promise<void>;
  close(): Promise<void>;
}

export interface TracefsStat {
  type: 'file' | 'dir';
  mode: number; // permission bits, e.g. 0o640
}

const encoder = new TextEncoder();

interface Resolved {
  node: TraceNode;
  path: string; // as the caller wrote it, for messages
}

export class Tracefs {
  private rootDir?: TraceDir;
  private lock: Promise<unknown> = Promise.resolve();

  constructor(private readonly rm: RingMachine) {}

  // Built on first use: the machine's buffer exists only once the RingMachine is constructed.
  private get root(): TraceDir {
    return (this.rootDir ??= traceArrayDir(topLevel(this.rm), [['instances', instancesDir(this.rm)]]));
  }

  // Split a path into segments inside the tracefs mount, or throw ENOENT.
  private segments(path: string): { parts: string[]; dirOnly: boolean } {
    if (typeof path !== 'string') throw new RingtraceError('EINVAL', `a tracefs path must be a string, not ${typeof path}`);
    if (path.includes('\0')) throw new RingtraceError('EINVAL', `"${printable(path)}": a path cannot contain NUL`);
    const abs = path.startsWith('/') ? path : `${TRACEFS_MOUNTS[0]}/${path}`;
    const parts: string[] = [];
    for (const s of abs.split('/')) {
      if (s === '' || s === '.') continue;
      if (s === '..') parts.pop();
      else parts.push(s);
    }
    const dirOnly = /(^|\/)\.{0,2}$/.test(path) && path !== '';
    for (const mount of TRACEFS_MOUNTS) {
      const m = mount.split('/').filter(Boolean);
      if (m.every((seg, i) => parts[i] === seg)) return { parts: parts.slice(m.length), dirOnly };
    }
    throw new RingtraceError('ENOENT', `${path}: no such file or directory (tracefs is at ${TRACEFS_MOUNTS.join(' and ')})`);
  }

  private resolve(path: string): Resolved {
    const { parts, dirOnly } = this.segments(path);
    let node: TraceNode = this.root;
    for (let i = 0; i < parts.length; i++) {
      if (node.kind !== 'dir') throw new RingtraceError('ENOTDIR', `${path}: ${parts.slice(0, i).join('/')} is not a directory`);
      const next = node.lookup(parts[i]);
      if (!next) throw new RingtraceError('ENOENT', `${path}: no such file or directory`);
      node = next;
    }
    if (dirOnly && node.kind !== 'dir') throw new RingtraceError('ENOTDIR', `${path}: not a directory`);
    return { node, path };
  }

  private file(path: string, access: 'read' | 'write'): TraceFile {
    const { node } = this.resolve(path);
    if (node.kind === 'dir') throw new RingtraceError('EISDIR', `${path}: is a directory`);
    const bit = access === 'read' ? 0o400 : 0o200;
    if (!(node.mode & bit)) {
      throw new RingtraceError('EACCES', `${path}: permission denied (mode ${node.mode.toString(8).padStart(4, '0')}, ${access === 'read' ? 'not readable' : 'read-only'})`);
    }
    return node;
  }

  // A handler's error, with the path it was about.
  private static withPath<T>(path: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw Tracefs.rename(path, err);
    }
  }

  private static rename(path: string, err: unknown): unknown {
    if (!(err instanceof RingtraceError) || err.constructor !== RingtraceError) return err;
    const msg = err.message.startsWith(`${err.code}: `) ? err.message.slice(err.code.length + 2) : err.message;
    return new RingtraceError(err.code, `${path}: ${msg}`);
  }

  // `cat path`
  read(path: string): string {
    const f = this.file(path, 'read');
    if (!f.read) {
      if (f.readBinary) throw new RingtraceError('EINVAL', `${path} is a binary file: read it with fs.readBinary()`);
      throw new RingtraceError('EINVAL', `${path}: the file cannot be read`);
    }
    return Tracefs.withPath(path, () => f.read!());
  }

  // The bytes of a file: trace_pipe_raw's pages, or a text file's UTF-8.
  readBinary(path: string): Uint8Array {
    const f = this.file(path, 'read');
    if (f.readBinary) return Tracefs.withPath(path, () => f.readBinary!());
    if (f.read) return encoder.encode(Tracefs.withPath(path, () => f.read!()));
    throw new RingtraceError('EINVAL', `${path}: the file cannot be read`);
  }

  // `echo VALUE > path` (text = "VALUE\n"), or `>>` with { append: true }
  write(path: string, text: string, opts: WriteOptions = {}): Promise<void> {
    const run = this.lock.then(async () => {
      if (typeof text !== 'string') throw new RingtraceError('EINVAL', `${path}: the value must be a string, not ${typeof text}`);
      const f = this.file(path, 'write');
      const append = opts.append ?? false;
      if (f.open) {
        // open + one write(2) + close: close runs (and commits) even when the write failed
        const h = Tracefs.withPath(path, () => f.open!({ write: true, append }));
        let failure: unknown;
        try {
          await h.write?.(text);
        } catch (err) {
          failure = err;
        }
        try {
          await h.close();
        } catch (err) {
          failure ??= err;
        }
        if (failure !== undefined) throw Tracefs.rename(path, failure);
        return;
      }
      if (!f.write) throw new RingtraceError('EINVAL', `${path}: the file cannot be written`);
      try {
        await f.write(text, { append });
      } catch (err) {
        throw Tracefs.rename(path, err);
      }
    });
    this.lock = run.catch(() => undefined);
    return run;
  }

  // Serialised like write(): trace_types_lock.
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  // open(2): the file stays open (and an instance's file keeps the instance busy) until close().
  // Writes go through the same lock as fs.write; a write-only open cannot be read.
  open(path: string, flags: OpenFlags = {}): FileHandle {
    const f = this.file(path, flags.write ? 'write' : 'read');
    const release = f.hold?.() ?? (() => undefined);
    let inner: OpenFile | undefined;
    try {
      if (flags.write && f.open) inner = Tracefs.withPath(path, () => f.open!({ write: true, append: flags.append ?? false }));
      else if (flags.write && !f.write) throw new RingtraceError('EINVAL', `${path}: the file cannot be written`);
    } catch (err) {
      release();
      throw err;
    }
    let closed = false;
    const check = () => {
      if (closed) throw new RingtraceError('EINVAL', `${path}: the file is closed`);
    };
    let truncated = false;
    return {
      read: () => {
        check();
        if (flags.write) throw new RingtraceError('EINVAL', `${path}: opened for writing only`);
        return this.read(path);
      },
      write: (text: string) =>
        this.locked(async () => {
          check();
          if (!flags.write) throw new RingtraceError('EINVAL', `${path}: opened for reading only`);
          try {
            if (inner) await inner.write?.(text);
            else {
              // O_TRUNC acts once, at open; later writes of the same open file append
              await f.write!(text, { append: (flags.append ?? false) || truncated });
              truncated = true;
            }
          } catch (err) {
            throw Tracefs.rename(path, err);
          }
        }),
      close: () =>
        this.locked(async () => {
          if (closed) return;
          closed = true;
          try {
            await inner?.close();
          } catch (err) {
            throw Tracefs.rename(path, err);
          } finally {
            release();
          }
        }),
    };
  }

  // mkdir(2): only in instances/ (tracefs has no mkdir elsewhere: EPERM), instance_mkdir()
  mkdir(path: string): Promise<void> {
    return this.locked(async () => {
      const { parent, name } = this.instancePath(path, 'mkdir');
      if (parent.lookup(name)) throw new RingtraceError('EEXIST', `${path}: file exists`);
      await this.rm.createInstance(name);
    });
  }

  // rmdir(2): only instances/NAME; EBUSY while one of its files is open (instance_rmdir)
  rmdir(path: string): Promise<void> {
    return this.locked(async () => {
      const { parent, name } = this.instancePath(path, 'rmdir');
      const node = parent.lookup(name);
      if (!node) throw new RingtraceError('ENOENT', `${path}: no such file or directory`);
      if (node.kind !== 'dir') throw new RingtraceError('ENOTDIR', `${path}: not a directory`);
      try {
        await this.rm.removeInstance(name);
      } catch (err) {
        throw Tracefs.rename(path, err);
      }
    });
  }

  private instancePath(path: string, op: string): { parent: TraceDir; name: string } {
    const { parts } = this.segments(path);
    if (parts.length === 0) throw new RingtraceError('EEXIST', `${path}: file exists`);
    const name = parts[parts.length - 1];
    const dirPath = parts.slice(0, -1);
    let node: TraceNode = this.root;
    for (let i = 0; i < dirPath.length; i++) {
      if (node.kind !== 'dir') throw new RingtraceError('ENOTDIR', `${path}: ${dirPath.slice(0, i).join('/')} is not a directory`);
      const next = node.lookup(dirPath[i]);
      if (!next) throw new RingtraceError('ENOENT', `${path}: no such file or directory`);
      node = next;
    }
    if (node.kind !== 'dir') throw new RingtraceError('ENOTDIR', `${path}: not a directory`);
    if (dirPath.length !== 1 || dirPath[0] !== 'instances') {
      if (op === 'mkdir' && node.lookup(name)) throw new RingtraceError('EEXIST', `${path}: file exists`);
      if (op === 'rmdir' && !node.lookup(name)) throw new RingtraceError('ENOENT', `${path}: no such file or directory`);
      throw new RingtraceError('EPERM', `${path}: tracefs only ${op === 'mkdir' ? 'creates' : 'removes'} directories in instances/`);
    }
    return { parent: node, name };
  }

  // The names in a directory, sorted like `ls`.
  ls(path = ''): string[] {
    const { node } = this.resolve(path);
    if (node.kind !== 'dir') throw new RingtraceError('ENOTDIR', `${path}: not a directory`);
    return node.list().sort();
  }

  stat(path: string): TracefsStat {
    const { node } = this.resolve(path);
    return { type: node.kind, mode: node.mode };
  }

  exists(path: string): boolean {
    try {
      this.resolve(path);
      return true;
    } catch (err) {
      if (err instanceof RingtraceError && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) return false;
      throw err;
    }
  }
}
