// `ringtrace sh`'s shell: just-bash (a bash interpreter in TypeScript: functions, loops, $(…), $((…)),
// case, subshells, here-documents, and the usual text utilities) over a file system of our own: an
// in-memory root (a writable /tmp; the host's files are out of reach) with the kernel's file systems
// mounted in it. Commands that must know the kernel (cat, mkdir, rmdir: their errno messages), trap,
// kill and the machine commands (modprobe, kcall, ...) are ours.
//
// Limits: a time limit and cancellation (Ctrl-C) stop the script at the next command; just-bash runs
// `&` jobs to completion before going on (no concurrency inside one shell), and a `trap … EXIT` runs
// after the script in a fresh shell state (its command string only, without the script's functions).
import { Bash, InMemoryFs, MountableFs, bytesOutput, decodeBytesToUtf8, defineCommand, latin1FromBytes, unsafeBytesFromLatin1, type BufferEncoding, type CustomCommand, type FileContent, type WriteFileOptions } from 'just-bash';
import { RingtraceError } from '../errors.ts';
import { KernelMount, WriteErrors, errnoText, normalizePath, type KernelFs } from './kernel-fs.ts';
import { redirectStatusCommand, redirectStatusPlugin, writeFailureText } from './redirect-status.ts';

// What a machine command gets: its arguments (without its name), standard input, and output sinks.
export interface CommandContext {
  args: string[];
  stdin: string;
  out(text: string): void;
  err(text: string): void;
  resolve(path: string): string; // to an absolute path against the shell's cwd
}

export type Command = (ctx: CommandContext) => Promise<number> | number;

export interface ShellOptions {
  fs: KernelFs;
  // where fs is mounted: the top directories it owns (e.g. /sys, /proc, /dev)
  mounts: readonly string[];
  commands?: Record<string, Command>; // machine commands: modprobe, rmmod, lsmod, dmesg, kcall, ...
  cwd?: string;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  args?: string[]; // $1, $2, ...
  env?: Record<string, string>;
  // how `sleep N` passes: the machine's idle time (default: real time)
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface RunOptions {
  signal?: AbortSignal; // cancel: the script stops at the next command
  name?: string; // $0
}

// Resolves after ms of real time, or when the signal aborts; long sleeps do not overflow setTimeout.
export function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const end = Date.now() + ms;
    let timer: ReturnType<typeof setTimeout>;
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const arm = () => {
      const left = end - Date.now();
      if (left <= 0) return done();
      timer = setTimeout(arm, Math.min(left, 2 ** 30));
    };
    signal.addEventListener('abort', done);
    arm();
  });
}

export class Shell {
  private readonly bash: Bash;
  private readonly writeErrors = new WriteErrors();
  private readonly exitTraps: string[] = [];
  private signal = new AbortController().signal;
  private cwd: string;

  constructor(private readonly opts: ShellOptions) {
    this.cwd = opts.cwd ?? '/';
    const root = new RootFs(this.writeErrors);
    const fs = new MountableFs({ base: root });
    for (const m of opts.mounts) fs.mount(m, new KernelMount(opts.fs, m, this.writeErrors));
    const ours: CustomCommand[] = [redirectStatusCommand(this.writeErrors), ...this.fileCommands(), this.trapCommand(), this.killCommand()];
    for (const [name, fn] of Object.entries(opts.commands ?? {})) ours.push(this.machineCommand(name, fn));
    const sleep = opts.sleep ?? abortableDelay;
    this.bash = new Bash({
      fs,
      cwd: this.cwd,
      env: { HOME: '/root', PATH: '/usr/sbin:/usr/bin:/sbin:/bin', SHELL: '/bin/sh', USER: 'root', TMPDIR: '/tmp', ...opts.env },
      customCommands: ours,
      sleep: (ms) => sleep(ms, this.signal),
      // kernel selftests loop on tracefs for a while; the time limit (--timeout) bounds them instead
      executionLimits: { maxLoopIterations: 1e9, maxCommandCount: 1e9, maxOutputSize: 1 << 30 },
      processInfo: { pid: 1000, ppid: 1, uid: 0, gid: 0 },
      // the machine commands are host code that waits on the CPUs with Atomics
      defenseInDepth: false,
    });
    this.bash.registerTransformPlugin(redirectStatusPlugin());
    root.mkdirSync('/tmp', { recursive: true });
  }

  // Run a script; the exit status of the last command, or the one `exit` gave.
  async run(script: string, runOpts: RunOptions = {}): Promise<number> {
    this.signal = runOpts.signal ?? new AbortController().signal;
    const args = this.opts.args ?? [];
    // positional parameters: just-bash takes them from a `set --` in the script's environment
    const prologue = args.length ? `set -- ${args.map(shellQuote).join(' ')}\n` : '';
    let status: number;
    try {
      const r = await this.bash.exec(prologue + script, { rawScript: true, signal: this.signal, cwd: this.cwd, env: { '0': runOpts.name ?? 'sh' } });
      // the next run goes on where this one left (just-bash starts each exec afresh)
      this.cwd = r.env.PWD ?? this.cwd;
      this.opts.stdout(r.stdout);
      this.opts.stderr(asSh(r.stderr));
      status = r.exitCode;
    } catch (err) {
      // a cancelled script: what it printed so far, then why it stopped
      const partial = err as { stdout?: unknown; stderr?: unknown };
      if (typeof partial.stdout === 'string') this.opts.stdout(partial.stdout);
      if (typeof partial.stderr === 'string') this.opts.stderr(asSh(partial.stderr));
      this.opts.stderr(`sh: ${errnoText(err)}\n`);
      status = 2;
    }
    for (const f of this.writeErrors.take()) this.opts.stderr(writeFailureText(f, '?', 'sh', f.path));
    for (const trap of this.exitTraps.splice(0)) {
      const r = await this.bash.exec(trap, { rawScript: true });
      this.opts.stdout(r.stdout);
      this.opts.stderr(r.stderr);
    }
    return status;
  }

  private machineCommand(name: string, fn: Command): CustomCommand {
    return defineCommand(name, async (args, ctx) => {
      let stdout = '';
      let stderr = '';
      const status = await fn({
        args,
        stdin: decodeBytesToUtf8(ctx.stdin),
        out: (t) => (stdout += t),
        err: (t) => (stderr += t),
        resolve: (p) => normalizePath(p, ctx.cwd),
      });
      return { stdout, stderr, exitCode: status };
    });
  }

  // cat, mkdir and rmdir with the errno the kernel's file systems give ("cat: x: No such device"), and
  // rmdir of a non-empty instance directory (instance_rmdir removes its files itself)
  private fileCommands(): CustomCommand[] {
    return [
      defineCommand('cat', async (args, ctx) => {
        let stdout = '';
        let stderr = '';
        let status = 0;
        const files = args.filter((a) => a !== '--');
        if (files.length === 0) files.push('-');
        for (const f of files) {
          if (f === '-') {
            stdout += latin1FromBytes(ctx.stdin);
            continue;
          }
          try {
            stdout += latin1(await ctx.fs.readFileBuffer(ctx.fs.resolvePath(ctx.cwd, f)));
          } catch (e) {
            stderr += `cat: ${f}: ${fileErrorText(e)}\n`;
            status = 1;
          }
        }
        return { ...bytesOutput(unsafeBytesFromLatin1(stdout)), stderr, exitCode: status };
      }),
      defineCommand('mkdir', async (args, ctx) => {
        const parents = args.some((a) => /^-\w*p/.test(a));
        let stderr = '';
        let status = 0;
        for (const d of args.filter((a) => !a.startsWith('-'))) {
          try {
            await ctx.fs.mkdir(ctx.fs.resolvePath(ctx.cwd, d), { recursive: parents });
          } catch (e) {
            stderr += `mkdir: cannot create directory '${d}': ${fileErrorText(e)}\n`;
            status = 1;
          }
        }
        return { stdout: '', stderr, exitCode: status };
      }),
      defineCommand('rmdir', async (args, ctx) => {
        let stderr = '';
        let status = 0;
        for (const d of args.filter((a) => !a.startsWith('-'))) {
          const p = ctx.fs.resolvePath(ctx.cwd, d);
          try {
            if (!(await ctx.fs.exists(p))) throw new RingtraceError('ENOENT', p);
            if (!(await ctx.fs.stat(p)).isDirectory) throw new RingtraceError('ENOTDIR', p);
            await ctx.fs.rm(p, { recursive: false });
          } catch (e) {
            stderr += `rmdir: failed to remove '${d}': ${fileErrorText(e)}\n`;
            status = 1;
          }
        }
        return { stdout: '', stderr, exitCode: status };
      }),
    ];
  }

  // trap [ACTION] SIGNAL...: only EXIT has an effect (no signals reach a script here)
  private trapCommand(): CustomCommand {
    return defineCommand('trap', async (args) => {
      if (args.length < 2) return { stdout: '', stderr: '', exitCode: 0 };
      const [action, ...sigs] = args;
      if (sigs.some((s) => s === 'EXIT' || s === '0')) {
        this.exitTraps.length = 0;
        if (action !== '' && action !== '-') this.exitTraps.push(action);
      }
      return { stdout: '', stderr: '', exitCode: 0 };
    });
  }

  // kill [-SIG] PID...: an `&` job has already finished here (see the header), so like kill(2) on a
  // reaped pid
  private killCommand(): CustomCommand {
    return defineCommand('kill', async (args) => {
      const pids = args.filter((a) => !a.startsWith('-') && a !== '-s' && a !== '-n');
      if (pids.length === 0) return { stdout: '', stderr: 'kill: usage: kill [-s sigspec | -n signum | -sigspec] pid | jobspec ... or kill -l [sigspec]\n', exitCode: 2 };
      return { stdout: '', stderr: pids.map((p) => `sh: kill: (${p}) - No such process\n`).join(''), exitCode: 1 };
    });
  }
}

// The in-memory root (/, /tmp, ...): a redirection into a directory that does not exist fails with
// ENOENT as open(2) would (just-bash's InMemoryFs creates the parents).
class RootFs extends InMemoryFs {
  constructor(private readonly writeErrors: WriteErrors) {
    super();
  }

  private async parentMissing(path: string): Promise<boolean> {
    const parent = path.slice(0, path.lastIndexOf('/')) || '/';
    if (await this.exists(parent)) return false;
    this.writeErrors.record({ path, error: new RingtraceError('ENOENT', `${parent}: no such directory`) });
    return true;
  }

  override async writeFile(path: string, content: FileContent, options?: WriteFileOptions | BufferEncoding): Promise<void> {
    if (!(await this.parentMissing(path))) await super.writeFile(path, content, options);
  }

  override async appendFile(path: string, content: FileContent, options?: WriteFileOptions | BufferEncoding): Promise<void> {
    if (!(await this.parentMissing(path))) await super.appendFile(path, content, options);
  }
}

// What coreutils prints for an errno, also for just-bash's own file system errors ("ENOENT: ...").
function fileErrorText(e: unknown): string {
  if (e instanceof RingtraceError) return e.strerror;
  const code = /^(E[A-Z]+)\b/.exec(String((e as Error)?.message ?? ''))?.[1] ?? (e as { code?: string })?.code;
  const known: Record<string, string> = { ENOENT: 'No such file or directory', EEXIST: 'File exists', ENOTDIR: 'Not a directory', EISDIR: 'Is a directory', ENOTEMPTY: 'Directory not empty', EACCES: 'Permission denied', EPERM: 'Operation not permitted' };
  return (code && known[code]) || errnoText(e);
}

// just-bash names itself bash in its messages; this shell is sh, as bash names itself when run as sh
function asSh(stderr: string): string {
  return stderr.replace(/^bash: /gm, 'sh: ');
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return s;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
