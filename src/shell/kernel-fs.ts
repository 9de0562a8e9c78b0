// The kernel's file systems (tracefs, sysfs, procfs, /dev) as just-bash sees a mounted file system.
//
// The kernel side is a KernelFs: absolute paths, errors as RingtraceError(errno). KernelMount adapts one
// to just-bash's IFileSystem at a mount point. just-bash delivers a redirection as writeFile(path, '')
// when it opens the target (O_TRUNC, or appendFile for O_APPEND) and one writeFile/appendFile of the
// command's whole output afterwards; each becomes one open → write(2) → close of the kernel file, so
// `echo x > set_ftrace_filter` truncates, writes and commits at close like the kernel's
// ftrace_regex_open/write/release.
//
// just-bash has no way for a failed write to become a command's exit status, so a failure here is
// not thrown: it is recorded in the WriteErrors that the redirect-status transform reads right after
// the command (see redirect-status.ts), as bash reports it after its write(2) fails.
import type { BufferEncoding, CpOptions, FileContent, FsStat, IFileSystem, MkdirOptions, RmOptions } from 'just-bash';

export type ReadFileOptions = Parameters<IFileSystem['readFile']>[1];
export type WriteFileOptions = Parameters<IFileSystem['writeFile']>[2];
import { RingtraceError } from '../errors.ts';

export interface KernelFs {
  read(path: string): string;
  readBinary?(path: string): Uint8Array;
  // open (O_TRUNC, or O_APPEND with append) → one write(2) of data unless it is empty → close
  write(path: string, data: string, append: boolean): Promise<void>;
  list(path: string): string[];
  isDir(path: string): boolean;
  exists(path: string): boolean;
  mode?(path: string): number;
  mkdir(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  // the system calls of one access (open, read or write, close), before it happens
  access?(kind: 'read' | 'write', path: string): Promise<void>;
}

export function errnoText(err: unknown): string {
  if (err instanceof RingtraceError) return err.strerror;
  return String((err as Error)?.message ?? err);
}

export function normalizePath(path: string, cwd: string): string {
  const parts = (path.startsWith('/') ? path : `${cwd}/${path}`).split('/');
  const out: string[] = [];
  for (const p of parts) {
    if (p === '' || p === '.') continue;
    if (p === '..') out.pop();
    else out.push(p);
  }
  return '/' + out.join('/');
}

// A write that failed, kept until the command that made it has finished.
export interface WriteFailure {
  path: string;
  error: unknown;
}

export class WriteErrors {
  private failures: WriteFailure[] = [];

  record(f: WriteFailure): void {
    this.failures.push(f);
  }

  take(): WriteFailure[] {
    const out = this.failures;
    this.failures = [];
    return out;
  }
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function text(content: FileContent): string {
  return typeof content === 'string' ? content : decoder.decode(content);
}

export class KernelMount implements IFileSystem {
  constructor(
    private readonly k: KernelFs,
    private readonly mountPoint: string,
    private readonly writeErrors: WriteErrors,
  ) {}

  // MountableFs hands us paths relative to the mount point
  private abs(path: string): string {
    return normalizePath(this.mountPoint + '/' + path, '/');
  }

  async readFile(path: string, _options?: ReadFileOptions): Promise<string> {
    const p = this.abs(path);
    await this.k.access?.('read', p);
    return this.k.read(p);
  }

  async readFileBuffer(path: string): Promise<Uint8Array> {
    const p = this.abs(path);
    await this.k.access?.('read', p);
    return this.k.readBinary ? this.k.readBinary(p) : encoder.encode(this.k.read(p));
  }

  private async put(path: string, content: FileContent, append: boolean): Promise<void> {
    const p = this.abs(path);
    try {
      await this.k.access?.('write', p);
      await this.k.write(p, text(content), append);
    } catch (error) {
      this.writeErrors.record({ path: p, error });
    }
  }

  writeFile(path: string, content: FileContent, _options?: WriteFileOptions): Promise<void> {
    return this.put(path, content, false);
  }

  appendFile(path: string, content: FileContent, _options?: WriteFileOptions): Promise<void> {
    return this.put(path, content, true);
  }

  async exists(path: string): Promise<boolean> {
    return this.k.exists(this.abs(path));
  }

  async stat(path: string): Promise<FsStat> {
    const p = this.abs(path);
    if (!this.k.exists(p)) throw new RingtraceError('ENOENT', `${p}: no such file or directory`);
    const dir = this.k.isDir(p);
    // identity: what cp compares to refuse copying a file onto itself
    return { isFile: !dir, isDirectory: dir, isSymbolicLink: false, mode: this.k.mode?.(p) ?? (dir ? 0o755 : 0o644), size: 0, mtime: new Date(0), identity: `kernel:${p}` };
  }

  lstat(path: string): Promise<FsStat> {
    return this.stat(path);
  }

  async mkdir(path: string, options?: MkdirOptions): Promise<void> {
    const p = this.abs(path);
    if (options?.recursive && this.k.isDir(p)) return;
    await this.k.mkdir(p);
  }

  async readdir(path: string): Promise<string[]> {
    return this.k.list(this.abs(path));
  }

  async readdirWithFileTypes(path: string) {
    const p = this.abs(path);
    return this.k.list(p).map((name) => {
      const dir = this.k.isDir(`${p === '/' ? '' : p}/${name}`);
      return { name, isFile: !dir, isDirectory: dir, isSymbolicLink: false };
    });
  }

  // rm of a directory is rmdir(2); the kernel's files cannot be unlinked (no ->unlink in tracefs, sysfs, procfs)
  async rm(path: string, options?: RmOptions): Promise<void> {
    const p = this.abs(path);
    if (!this.k.exists(p)) {
      if (options?.force) return;
      throw new RingtraceError('ENOENT', `${p}: no such file or directory`);
    }
    if (this.k.isDir(p)) return this.k.rmdir(p);
    throw new RingtraceError('EPERM', `${p}: the file system has no unlink`);
  }

  async cp(src: string, _dest: string, _options?: CpOptions): Promise<void> {
    throw new RingtraceError('EPERM', `${this.abs(src)}: cannot create files here`);
  }

  async mv(src: string, _dest: string): Promise<void> {
    throw new RingtraceError('EPERM', `${this.abs(src)}: the file system has no rename`);
  }

  resolvePath(base: string, path: string): string {
    return normalizePath(path, base);
  }

  getAllPaths(): string[] {
    return [];
  }

  // the kernel's files keep their modes (tracefs honours chmod, but nothing here reads it back)
  async chmod(_path: string, _mode: number): Promise<void> {}

  async symlink(_target: string, linkPath: string): Promise<void> {
    throw new RingtraceError('EPERM', `${this.abs(linkPath)}: the file system has no symlink`);
  }

  async link(_existingPath: string, newPath: string): Promise<void> {
    throw new RingtraceError('EPERM', `${this.abs(newPath)}: the file system has no link`);
  }

  async readlink(path: string): Promise<string> {
    throw new RingtraceError('EINVAL', `${this.abs(path)}: not a symbolic link`);
  }

  // relative to the mount point, like every path MountableFs exchanges with us
  async realpath(path: string): Promise<string> {
    const p = this.abs(path);
    if (!this.k.exists(p)) throw new RingtraceError('ENOENT', `${p}: no such file or directory`);
    return normalizePath(path, '/');
  }

  async utimes(_path: string, _atime: Date, _mtime: Date): Promise<void> {}
}
