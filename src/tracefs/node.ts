// The pieces a tracefs tree is made of: files with read/write handlers and a mode, and directories
// (static or computed on lookup, like per_cpu/ and, later, instances/).

// Modes as tracefs creates them (kernel/trace/trace.h): TRACE_MODE_WRITE 0640, TRACE_MODE_READ 0440;
// directories 0750 (tracefs_create_dir).
export const TRACE_MODE_WRITE = 0o640;
export const TRACE_MODE_READ = 0o440;
export const TRACE_MODE_DIR = 0o750;

export interface WriteOptions {
  // `>>` rather than `>`: the file is opened with O_APPEND instead of O_TRUNC. Only files whose open()
  // looks at the flags (trace, set_ftrace_filter, ...) behave differently.
  append?: boolean;
}

// What open(2) asked for: a write open without `append` is O_TRUNC.
export interface OpenFlags {
  write?: boolean;
  append?: boolean;
}

// An open file whose writes have state across write(2) calls until close (set_ftrace_filter's parser
// and pending hash, committed at close).
export interface OpenFile {
  read?(): string;
  write?(text: string): Promise<void>;
  close(): Promise<void>;
}

export interface TraceFile {
  readonly kind: 'file';
  readonly mode: number;
  // open(2) with its flags, for files whose open or release do something (ftrace_regex_open); fs.write
  // is then open + one write + close
  open?(flags: OpenFlags): OpenFile;
  // a reference on the file's trace_array while it is open (trace_array_get): an instance with open
  // files cannot be removed
  hold?(): () => void;
  // the whole text a `cat` would print
  read?(): string;
  // for binary files (trace_pipe_raw): the bytes a `cat` would print
  readBinary?(): Uint8Array;
  // one write(2) of `text`; resolves when the kernel's write() would have returned
  write?(text: string, opts: WriteOptions): Promise<void>;
}

export interface TraceDir {
  readonly kind: 'dir';
  readonly mode: number;
  // entry names, in no particular order (Tracefs.ls sorts them)
  list(): string[];
  lookup(name: string): TraceNode | undefined;
}

export type TraceNode = TraceFile | TraceDir;

export interface FileSpec {
  mode: number;
  open?: (flags: OpenFlags) => OpenFile;
  read?: () => string;
  readBinary?: () => Uint8Array;
  write?: (text: string, opts: WriteOptions) => Promise<void>;
}

export function file(spec: FileSpec): TraceFile {
  return { kind: 'file', ...spec };
}

// A directory with a fixed set of entries, built once.
export function staticDir(entries: Map<string, TraceNode>, mode = TRACE_MODE_DIR): TraceDir {
  return {
    kind: 'dir',
    mode,
    list: () => [...entries.keys()],
    lookup: (name) => entries.get(name),
  };
}

// A directory whose entries are computed when listed or looked up (per_cpu/, instances/).
export function dynamicDir(list: () => string[], lookup: (name: string) => TraceNode | undefined, mode = TRACE_MODE_DIR): TraceDir {
  return { kind: 'dir', mode, list, lookup };
}

// Build a static tree from "a/b/c" paths (intermediate directories are created as needed).
export function treeFrom(entries: Iterable<[string, TraceNode]>): TraceDir {
  const root = new Map<string, TraceNode>();
  const subdirs = new Map<Map<string, TraceNode>, Map<string, Map<string, TraceNode>>>();
  for (const [path, node] of entries) {
    const parts = path.split('/');
    let dir = root;
    for (const part of parts.slice(0, -1)) {
      let kids = subdirs.get(dir);
      if (!kids) subdirs.set(dir, (kids = new Map()));
      let sub = kids.get(part);
      if (!sub) {
        if (dir.has(part)) throw new Error(`tracefs: "${part}" in "${path}" is already a file`);
        sub = new Map();
        kids.set(part, sub);
        dir.set(part, staticDir(sub));
      }
      dir = sub;
    }
    const name = parts[parts.length - 1];
    if (dir.has(name)) throw new Error(`tracefs: "${path}" is defined twice`);
    dir.set(name, node);
  }
  return staticDir(root);
}
