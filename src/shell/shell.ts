// `ringtrace sh`: runs kernel-style shell scripts against an emulated machine, so a reproducer from a
// mailing list runs as written. The file system and the machine commands (modprobe, rmmod, kcall, ...)
// come from the host; the builtins here behave like their coreutils/bash namesakes for what they do.
import { parseScript, type AndOr, type SimpleCommand, type Word, type Redirect } from './parse.ts';
import { RingtraceError } from '../errors.ts';

// The kernel's file systems as the shell sees them: absolute paths, errors as RingtraceError(errno).
export interface KernelFs {
  read(path: string): string;
  write(path: string, data: string, append: boolean): Promise<void>;
  list(path: string): string[];
  isDir(path: string): boolean;
  exists(path: string): boolean;
  mkdir(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
}

export interface CommandContext {
  args: string[]; // without the command name
  stdin: string;
  out(text: string): void;
  err(text: string): void;
  resolve(path: string): string; // to an absolute path against the shell's cwd
}

export type Command = (ctx: CommandContext) => Promise<number> | number;

export interface ShellOptions {
  fs: KernelFs;
  commands?: Record<string, Command>; // machine commands: modprobe, rmmod, lsmod, dmesg, kcall, ...
  cwd?: string;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  args?: string[]; // $1, $2, ...
}

class ExitSignal {
  constructor(readonly status: number) {}
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

// head/tail [-n N]: the first or last N lines of standard input (10 by default)
function firstOrLast(c: CommandContext, which: 'head' | 'tail'): number {
  const i = c.args.indexOf('-n');
  const n = i >= 0 ? Number(c.args[i + 1]) : 10;
  if (!Number.isInteger(n) || n < 0) {
    c.err(`${which}: invalid number of lines: '${c.args[i + 1]}'\n`);
    return 1;
  }
  const lines = c.stdin.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const keep = which === 'head' ? lines.slice(0, n) : lines.slice(Math.max(0, lines.length - n));
  c.out(keep.map((l) => l + '\n').join(''));
  return 0;
}

export class Shell {
  cwd: string;
  status = 0;
  private readonly vars = new Map<string, string>();
  private errexit = false;
  private line = 0;
  private readonly commands: Record<string, Command>;

  constructor(private readonly opts: ShellOptions) {
    this.cwd = opts.cwd ?? '/';
    this.commands = { ...this.builtins(), ...(opts.commands ?? {}) };
  }

  // Run a script; returns the exit status of the last command, or the one `exit` gave.
  async run(script: string): Promise<number> {
    let lists: AndOr[];
    try {
      lists = parseScript(script);
    } catch (err) {
      this.opts.stderr(`sh: ${(err as Error).message.replace(/^EINVAL: /, '')}\n`);
      return (this.status = 2);
    }
    try {
      for (const list of lists) {
        let status = await this.runPipeline(list.first);
        let failedUnchecked = list.rest.length === 0;
        for (const { op, pipeline } of list.rest) {
          if ((op === '&&' && status === 0) || (op === '||' && status !== 0)) {
            status = await this.runPipeline(pipeline);
            failedUnchecked = true;
          } else {
            failedUnchecked = false;
          }
        }
        this.status = status;
        if (this.errexit && status !== 0 && failedUnchecked) return status;
      }
    } catch (err) {
      if (err instanceof ExitSignal) return (this.status = err.status);
      throw err;
    }
    return this.status;
  }

  private expand(word: Word): string {
    let s = '';
    for (const p of word) {
      if ('text' in p) s += p.text;
      else if (p.variable === '?') s += String(this.status);
      else if (p.variable === '#') s += String(this.opts.args?.length ?? 0);
      else if (p.variable === '0') s += 'sh';
      else if (/^[1-9]$/.test(p.variable)) s += this.opts.args?.[Number(p.variable) - 1] ?? '';
      else s += this.vars.get(p.variable) ?? '';
    }
    return s;
  }

  private async runPipeline(cmds: SimpleCommand[]): Promise<number> {
    let stdin = '';
    let status = 0;
    for (let i = 0; i < cmds.length; i++) {
      const last = i === cmds.length - 1;
      let captured = '';
      status = await this.runCommand(cmds[i], stdin, last ? undefined : (t) => (captured += t));
      stdin = captured;
    }
    return status;
  }

  private async runCommand(cmd: SimpleCommand, stdin: string, pipeOut?: (t: string) => void): Promise<number> {
    this.line = cmd.line;
    for (const a of cmd.assignments) this.vars.set(a.name, this.expand(a.value));
    if (cmd.words.length === 0) {
      return this.applyRedirects(cmd.redirects, 'sh', '', '', 0);
    }
    const words = cmd.words.map((w) => this.expand(w));
    const [name, ...args] = words;
    let input = stdin;
    for (const r of cmd.redirects.filter((r) => r.op === '<')) {
      const path = normalizePath(this.expand(r.target), this.cwd);
      try {
        input = this.opts.fs.read(path);
      } catch (err) {
        this.opts.stderr(`sh: line ${cmd.line}: ${this.expand(r.target)}: ${errnoText(err)}\n`);
        return 1;
      }
    }
    let out = '';
    let err = '';
    const ctx: CommandContext = {
      args,
      stdin: input,
      out: (t) => (out += t),
      err: (t) => (err += t),
      resolve: (p) => normalizePath(p, this.cwd),
    };
    const fn = this.commands[name];
    let status: number;
    if (!fn) {
      err += `sh: line ${cmd.line}: ${name}: command not found\n`;
      status = 127;
    } else {
      try {
        status = await fn(ctx);
      } catch (e) {
        if (e instanceof ExitSignal) {
          this.emit(out, err, pipeOut);
          throw e;
        }
        err += `${name}: ${errnoText(e)}\n`;
        status = 1;
      }
    }
    if (cmd.redirects.some((r) => r.op !== '<')) return this.applyRedirects(cmd.redirects, name, out, err, status, pipeOut);
    this.emit(out, err, pipeOut);
    return status;
  }

  private emit(out: string, err: string, pipeOut?: (t: string) => void) {
    if (pipeOut) pipeOut(out);
    else this.opts.stdout(out);
    this.opts.stderr(err);
  }

  // Output redirections, applied in order like the shell's open(2)s: `> f` opens with O_TRUNC even
  // when nothing is written (truncating set_ftrace_filter clears it), `2>&1` joins the streams.
  private async applyRedirects(redirects: Redirect[], name: string, out: string, err: string, status: number, pipeOut?: (t: string) => void): Promise<number> {
    const sinks: Record<number, { path?: string; append: boolean; toStdout?: boolean }> = { 1: { append: false }, 2: { append: false } };
    for (const r of redirects) {
      if (r.op === '<') continue;
      const target = this.expand(r.target);
      if (r.op === '>&') {
        if (target !== '1' && target !== '2') {
          this.opts.stderr(`sh: line ${this.line}: ${target}: ambiguous redirect\n`);
          return 1;
        }
        sinks[r.fd] = { ...sinks[Number(target)] };
        continue;
      }
      const path = normalizePath(target, this.cwd);
      const fs = this.opts.fs;
      if (path !== '/dev/null' && (!fs.exists(path) || fs.isDir(path))) {
        // open(O_CREAT) of a new name in tracefs or sysfs fails with EACCES: they have no ->create
        const parent = path.slice(0, path.lastIndexOf('/')) || '/';
        const why = fs.isDir(path) ? 'Is a directory' : fs.isDir(parent) ? 'Permission denied' : 'No such file or directory';
        this.opts.stderr(`sh: line ${this.line}: ${target}: ${why}\n`);
        return 1;
      }
      sinks[r.fd] = { path, append: r.op === '>>' };
    }
    let result = status;
    const streams: [number, string][] = [[1, out], [2, err]];
    const byPath = new Map<string, { append: boolean; text: string }>();
    for (const [fd, text] of streams) {
      const sink = sinks[fd];
      if (!sink.path) {
        if (fd === 1) {
          if (pipeOut) pipeOut(text);
          else this.opts.stdout(text);
        } else this.opts.stderr(text);
        continue;
      }
      const prev = byPath.get(sink.path);
      if (prev) prev.text += text;
      else byPath.set(sink.path, { append: sink.append, text });
    }
    for (const s of Object.values(sinks)) {
      if (s.path && !byPath.has(s.path)) byPath.set(s.path, { append: s.append, text: '' });
    }
    for (const [path, { append, text }] of byPath) {
      if (path === '/dev/null') continue;
      try {
        await this.opts.fs.write(path, text, append);
      } catch (e) {
        const code = e instanceof RingtraceError ? e.code : '';
        if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
          this.opts.stderr(`sh: line ${this.line}: ${path}: ${errnoText(e)}\n`);
        } else {
          this.opts.stderr(`sh: ${name}: write error: ${errnoText(e)}\n`);
        }
        result = 1;
      }
    }
    return result;
  }

  private builtins(): Record<string, Command> {
    const fs = this.opts.fs;
    const test = (args: string[]): number => {
      const t = (a: string[]): boolean => {
        if (a[0] === '!') return !t(a.slice(1));
        if (a.length === 0) return false;
        if (a.length === 1) return a[0] !== '';
        if (a.length === 2) {
          const p = this.resolvePath(a[1]);
          if (a[0] === '-e') return fs.exists(p);
          if (a[0] === '-d') return fs.isDir(p);
          if (a[0] === '-f') return fs.exists(p) && !fs.isDir(p);
          if (a[0] === '-n') return a[1] !== '';
          if (a[0] === '-z') return a[1] === '';
          throw new RingtraceError('EINVAL', `test: ${a[0]}: unary operator expected`);
        }
        const [x, op, y] = a;
        const num = (v: string) => {
          if (!/^-?\d+$/.test(v.trim())) throw new RingtraceError('EINVAL', `test: ${v}: integer expression expected`);
          return Number(v);
        };
        switch (op) {
          case '=':
          case '==':
            return x === y;
          case '!=':
            return x !== y;
          case '-eq':
            return num(x) === num(y);
          case '-ne':
            return num(x) !== num(y);
          case '-lt':
            return num(x) < num(y);
          case '-le':
            return num(x) <= num(y);
          case '-gt':
            return num(x) > num(y);
          case '-ge':
            return num(x) >= num(y);
        }
        throw new RingtraceError('EINVAL', `test: ${op}: binary operator expected`);
      };
      return t(args) ? 0 : 1;
    };
    return {
      true: () => 0,
      false: () => 1,
      ':': () => 0,
      exit: (c) => {
        throw new ExitSignal(c.args[0] !== undefined ? Number(c.args[0]) & 255 : this.status);
      },
      set: (c) => {
        for (const a of c.args) {
          if (a === '-e') this.errexit = true;
          else if (a === '+e') this.errexit = false;
          else {
            c.err(`sh: line ${this.line}: set: ${a}: invalid option (only -e and +e)\n`);
            return 2;
          }
        }
        return 0;
      },
      cd: (c) => {
        const target = c.args[0] ?? '/';
        const path = c.resolve(target);
        if (!fs.exists(path)) {
          c.err(`sh: line ${this.line}: cd: ${target}: No such file or directory\n`);
          return 1;
        }
        if (!fs.isDir(path)) {
          c.err(`sh: line ${this.line}: cd: ${target}: Not a directory\n`);
          return 1;
        }
        this.cwd = path;
        return 0;
      },
      pwd: (c) => {
        c.out(this.cwd + '\n');
        return 0;
      },
      // bash's builtin echo: -n, -e, -E
      echo: (c) => {
        let args = c.args;
        let newline = true;
        let escapes = false;
        while (args.length && /^-[neE]+$/.test(args[0])) {
          for (const f of args[0].slice(1)) {
            if (f === 'n') newline = false;
            else if (f === 'e') escapes = true;
            else escapes = false;
          }
          args = args.slice(1);
        }
        let text = args.join(' ');
        if (escapes) text = text.replace(/\\(n|t|\\|0[0-7]{0,3})/g, (_, e: string) => (e === 'n' ? '\n' : e === 't' ? '\t' : e === '\\' ? '\\' : String.fromCharCode(parseInt(e, 8))));
        c.out(text + (newline ? '\n' : ''));
        return 0;
      },
      cat: (c) => {
        if (c.args.length === 0) {
          c.out(c.stdin);
          return 0;
        }
        let status = 0;
        for (const a of c.args) {
          try {
            c.out(fs.read(c.resolve(a)));
          } catch (e) {
            c.err(`cat: ${a}: ${errnoText(e)}\n`);
            status = 1;
          }
        }
        return status;
      },
      ls: (c) => {
        const args = c.args.filter((a) => !a.startsWith('-'));
        const targets = args.length ? args : ['.'];
        let status = 0;
        for (const a of targets) {
          const p = c.resolve(a);
          if (!fs.exists(p)) {
            c.err(`ls: cannot access '${a}': No such file or directory\n`);
            status = 2;
            continue;
          }
          if (targets.length > 1 && fs.isDir(p)) c.out(`${a}:\n`);
          c.out(fs.isDir(p) ? fs.list(p).sort().map((e) => e + '\n').join('') : a + '\n');
        }
        return status;
      },
      mkdir: async (c) => {
        let status = 0;
        for (const a of c.args.filter((x) => !x.startsWith('-'))) {
          try {
            await fs.mkdir(c.resolve(a));
          } catch (e) {
            c.err(`mkdir: cannot create directory '${a}': ${errnoText(e)}\n`);
            status = 1;
          }
        }
        return status;
      },
      rmdir: async (c) => {
        let status = 0;
        for (const a of c.args.filter((x) => !x.startsWith('-'))) {
          try {
            await fs.rmdir(c.resolve(a));
          } catch (e) {
            c.err(`rmdir: failed to remove '${a}': ${errnoText(e)}\n`);
            status = 1;
          }
        }
        return status;
      },
      test: (c) => test(c.args),
      '[': (c) => {
        if (c.args[c.args.length - 1] !== ']') {
          c.err(`sh: line ${this.line}: [: missing \`]'\n`);
          return 2;
        }
        return test(c.args.slice(0, -1));
      },
      // grep [-q] [-v] [-c] [-E] [-F] [-i] PATTERN [FILE...]: extended regular expressions
      grep: (c) => {
        const flags = new Set<string>();
        const rest: string[] = [];
        for (const a of c.args) {
          if (/^-[qvcEFiw]+$/.test(a) && rest.length === 0) for (const f of a.slice(1)) flags.add(f);
          else rest.push(a);
        }
        const [pattern, ...files] = rest;
        if (pattern === undefined) {
          c.err('Usage: grep [-qvcEFiw] PATTERN [FILE...]\n');
          return 2;
        }
        const source = flags.has('F') ? pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : pattern;
        let re: RegExp;
        try {
          re = new RegExp(flags.has('w') ? `\\b(?:${source})\\b` : source, flags.has('i') ? 'i' : '');
        } catch {
          c.err(`grep: invalid regular expression '${pattern}'\n`);
          return 2;
        }
        let text = c.stdin;
        if (files.length) {
          text = '';
          for (const f of files) {
            try {
              text += fs.read(c.resolve(f));
            } catch (e) {
              c.err(`grep: ${f}: ${errnoText(e)}\n`);
              return 2;
            }
          }
        }
        const lines = text.split('\n');
        if (lines[lines.length - 1] === '') lines.pop();
        const hits = lines.filter((l) => re.test(l) !== flags.has('v'));
        if (flags.has('c')) c.out(`${hits.length}\n`);
        else if (!flags.has('q')) c.out(hits.map((l) => l + '\n').join(''));
        return hits.length ? 0 : 1;
      },
      wc: (c) => {
        const lines = (c.stdin.match(/\n/g) ?? []).length;
        if (c.args.includes('-l')) c.out(`${lines}\n`);
        else c.out(`${lines} ${c.stdin.split(/\s+/).filter(Boolean).length} ${new TextEncoder().encode(c.stdin).length}\n`);
        return 0;
      },
      head: (c) => firstOrLast(c, 'head'),
      tail: (c) => firstOrLast(c, 'tail'),
      sleep: async (c) => {
        const s = Number(c.args[0] ?? 0);
        if (!Number.isFinite(s) || s < 0) {
          c.err(`sleep: invalid time interval '${c.args[0]}'\n`);
          return 1;
        }
        await new Promise((r) => setTimeout(r, s * 1000));
        return 0;
      },
    };
  }

  private resolvePath(p: string): string {
    return normalizePath(p, this.cwd);
  }
}
