// `ringtrace sh`'s shell: just-bash (a bash interpreter in TypeScript: functions, loops, $(…), $((…)),
// case, subshells, here-documents, and the usual text utilities) over a file system of our own: an
// in-memory root (a writable /tmp; the host's files are out of reach) with the kernel's file systems
// mounted in it. Commands that must know the kernel (cat, mkdir, rmdir: their errno messages), trap,
// kill and the machine commands (modprobe, kcall, ...) are ours.
//
// Limits: a time limit and cancellation (Ctrl-C) stop the script at the next command; `&` jobs run
// concurrently (jobs.ts); a `trap … EXIT` runs after the script in a fresh shell state (its command
// string only, without the script's functions); output comes when the script (or a job) ends.
import { Bash, InMemoryFs, MountableFs, bytesOutput, decodeBytesToUtf8, defineCommand, getCommandNames, latin1FromBytes, unsafeBytesFromLatin1, type Command as BashCommand, type CustomCommand, type ExecResult, type FileContent } from 'just-bash';
import { RingtraceError } from '../errors.ts';
import { KernelMount, WriteErrors, errnoText, normalizePath, type KernelFs, type WriteFileOptions } from './kernel-fs.ts';
import { shellQuote } from './ast.ts';
import { COND_RESCHED, condReschedCommand, condReschedPlugin } from './cond-resched.ts';
import { FORK_COMMAND, FORK_DONE, Jobs, forkPlugin, jobCommands, jobsPlugin } from './jobs.ts';
import { TASK_VAR, type Processes } from './process.ts';
import { REDIRECT, REDIRECT_STATUS, redirectCommand, redirectStatusCommand, redirectStatusPlugin, writeFailureText } from './redirect-status.ts';

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
  // the kernel's processes behind the shell's forks, execs, exits and waits (process.ts)
  processes?: Processes;
  // what runs beside a script from its start to its end (the living kernel's clock)
  beside?: { start(): void; stop(): Promise<void> };
}

// $$ of the shell; background jobs get the pids after it
export const SHELL_PID = 1000;

// The commands just-bash bundles that bash runs without a fork (its builtins); every other command is
// a program the shell forks and execs.
const BASH_BUILTINS = new Set(['echo', 'printf', 'pwd', 'true', 'false', 'alias', 'unalias', 'history', 'help', 'time', 'trap', 'kill']);

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
  private readonly jobs = new Jobs(SHELL_PID);
  private signal = new AbortController().signal;
  private cwd: string;

  constructor(private readonly opts: ShellOptions) {
    this.cwd = opts.cwd ?? '/';
    const root = new RootFs(this.writeErrors);
    const fs = new MountableFs({ base: root });
    for (const m of opts.mounts) fs.mount(m, new KernelMount(opts.fs, m, this.writeErrors));
    const sleep = opts.sleep ?? abortableDelay;
    const ours: CustomCommand[] = [
      redirectStatusCommand(this.writeErrors),
      // the command runs as the task of the shell code that redirects it
      redirectCommand(this.writeErrors, [TASK_VAR]),
      ...jobCommands(this.jobs, (script, cwd, signal, pid) => this.runJob(script, cwd, signal, pid), opts.processes),
      ...this.fileCommands(),
      condReschedCommand(),
      this.grepCommand(),
      ddCommand(),
      this.trapCommand(),
      sleepCommand((ms) => sleep(ms, this.signal)),
    ];
    for (const [name, fn] of Object.entries(opts.commands ?? {})) ours.push(this.machineCommand(name, fn));
    this.bash = new Bash({
      fs,
      cwd: this.cwd,
      env: { HOME: '/root', PATH: '/usr/sbin:/usr/bin:/sbin:/bin', SHELL: '/bin/sh', USER: 'root', TMPDIR: '/tmp', ...opts.env },
      customCommands: opts.processes ? asProcesses(ours as BashCommand[], opts.processes) : ours,
      sleep: (ms) => sleep(ms, this.signal),
      // kernel selftests loop on tracefs for a while; the time limit (--timeout) bounds them instead
      executionLimits: { maxLoopIterations: 1e9, maxCommandCount: 1e9, maxOutputSize: 1 << 30 },
      processInfo: { pid: SHELL_PID, ppid: 1, uid: 0, gid: 0 },
      // the machine commands are host code that waits on the CPUs with Atomics
      defenseInDepth: false,
    });
    this.bash.registerTransformPlugin(jobsPlugin());
    this.bash.registerTransformPlugin(forkPlugin());
    this.bash.registerTransformPlugin(condReschedPlugin());
    this.bash.registerTransformPlugin(redirectStatusPlugin());
    root.mkdirSync('/tmp', { recursive: true });
    root.mkdirSync('/dev', { recursive: true });
    root.writeFileSync('/dev/null', '');
  }

  // Run a script; the exit status of the last command, or the one `exit` gave.
  async run(script: string, runOpts: RunOptions = {}): Promise<number> {
    this.signal = runOpts.signal ?? new AbortController().signal;
    this.opts.processes?.enter(SHELL_PID);
    const args = this.opts.args ?? [];
    // positional parameters: just-bash takes them from a `set --` in the script's environment
    const prologue = args.length ? `set -- ${args.map(shellQuote).join(' ')}\n` : '';
    let status: number;
    this.opts.beside?.start();
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
    await this.jobs.stopAll();
    await this.opts.processes?.finish();
    for (const f of this.writeErrors.take()) this.opts.stderr(writeFailureText(f, '?', 'sh', f.path));
    for (const trap of this.exitTraps.splice(0)) {
      const r = await this.bash.exec(trap, { rawScript: true });
      this.opts.stdout(r.stdout);
      this.opts.stderr(r.stderr);
    }
    await this.opts.beside?.stop();
    return status;
  }

  // A background job (jobs.ts), as its own task when the kernel gave it one: its output joins the
  // shell's when it ends, and it exits.
  private async runJob(script: string, cwd: string, signal: AbortSignal, pid?: number): Promise<number> {
    const exec = () => this.bash.exec(script, { rawScript: true, cwd, signal });
    const procs = this.opts.processes;
    const r = procs && pid !== undefined ? await procs.runAs(pid, exec) : await exec();
    if (pid !== undefined) await procs?.exit(pid);
    this.opts.stdout(r.stdout);
    // a killed job goes quietly, as in a non-interactive bash
    this.opts.stderr(asSh(signal.aborted ? r.stderr.replace(/^.*execution aborted.*\n?/m, '') : r.stderr));
    return r.exitCode;
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

  // GNU grep's -H (print the file name with each match), which just-bash's grep lacks: the classic
  // second file /dev/null makes it name the file. And GNU grep's several -e PATTERN (each one more
  // pattern; just-bash's keeps the last): one -e with the patterns on lines, as GNU grep reads a
  // pattern with newlines too.
  private grepCommand(): CustomCommand {
    return defineCommand('grep', async (argv, ctx) => {
      const run = ctx.origCommand!;
      const args = basicPatternsJoined(argv);
      const h = args.findIndex((a) => /^-[A-Za-z]*H[A-Za-z]*$/.test(a));
      if (h < 0) return run(args);
      const rest = [...args];
      const flags = rest[h].replace('H', '');
      if (flags === '-') rest.splice(h, 1);
      else rest[h] = flags;
      // operands: the pattern (unless -e/-f gave it) and the files; stdin needs no name
      let operands = 0;
      let patternGiven = false;
      for (let i = 0; i < rest.length; i++) {
        if (/^-[efmABC]$/.test(rest[i])) {
          patternGiven ||= /^-[ef]$/.test(rest[i]);
          i++;
        } else if (!rest[i].startsWith('-') || rest[i] === '-') operands++;
      }
      return run(operands > (patternGiven ? 0 : 1) ? [...rest, '/dev/null'] : rest);
    });
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
}

// Several `-e PATTERN` of a basic regular expression grep as one `\(P1\)\|\(P2\)` (GNU grep's
// meaning): just-bash's grep joins them with a bare `\|` and loses the anchors next to it (`grep -v
// -e '^#' -e schedule` printed the comment lines). Patterns with back-references keep their numbers.
function basicPatternsJoined(args: string[]): string[] {
  const other = args.some((a) => /^-[A-Za-z]*[EFP]/.test(a) || /^--(extended|fixed|perl)/.test(a));
  const patterns = args.flatMap((a, i) => (a === '-e' && i + 1 < args.length ? [args[i + 1]] : []));
  if (other || patterns.length < 2 || patterns.some((p) => /\\[1-9]/.test(p))) return args;
  const rest = args.filter((_, i) => args[i] !== '-e' && args[i - 1] !== '-e');
  return ['-e', patterns.map((p) => `\\(${p}\\)`).join('\\|'), ...rest];
}

// dd if=FILE of=FILE bs=N count=N: copies in blocks of bs bytes (a read(2) each, reading a seq_file
// piecewise), and reports the records like coreutils
// coreutils sleep: NUMBER[smhd] operands, floating point as strtod reads it (".1", "2.", "1e-3"), summed.
// just-bash's own sleep rejects ".1", which the kernel's selftests use.
const SLEEP_UNIT_S: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };
function sleepCommand(sleep: (ms: number) => Promise<void>): CustomCommand {
  return defineCommand('sleep', async (args) => {
    if (args.length === 0) return { stdout: '', stderr: "sleep: missing operand\nTry 'sleep --help' for more information.\n", exitCode: 1 };
    let seconds = 0;
    for (const a of args) {
      const m = /^(\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?([smhd]?)$/.exec(a) ?? /^(inf(?:inity)?)([smhd]?)$/i.exec(a);
      if (!m) return { stdout: '', stderr: `sleep: invalid time interval '${a}'\nTry 'sleep --help' for more information.\n`, exitCode: 1 };
      seconds += Number(a.slice(0, a.length - m[2].length).replace(/^inf(inity)?$/i, 'Infinity')) * SLEEP_UNIT_S[m[2]];
    }
    await sleep(seconds * 1000);
    return { stdout: '', stderr: '', exitCode: 0 };
  });
}

function ddCommand(): CustomCommand {
  return defineCommand('dd', async (args, ctx) => {
    const o: Record<string, string> = {};
    for (const a of args) {
      const m = /^(if|of|bs|count|skip|seek|status|conv|iflag|oflag)=(.*)$/.exec(a);
      if (!m) return { stdout: '', stderr: `dd: unrecognized operand '${a}'\n`, exitCode: 1 };
      o[m[1]] = m[2];
    }
    const num = (v: string | undefined, dflt: number) => {
      if (v === undefined) return dflt;
      const m = /^(\d+)([kKMG]?)$/.exec(v);
      return m ? Number(m[1]) * ({ '': 1, k: 1024, K: 1024, M: 1 << 20, G: 1 << 30 } as Record<string, number>)[m[2]] : NaN;
    };
    const bs = num(o.bs, 512);
    const count = num(o.count, Infinity);
    if (!(bs > 0) || Number.isNaN(count)) return { stdout: '', stderr: `dd: invalid number: '${o.bs ?? o.count}'\n`, exitCode: 1 };
    let input: string;
    try {
      input = o.if === undefined ? latin1FromBytes(ctx.stdin) : latin1(await ctx.fs.readFileBuffer(ctx.fs.resolvePath(ctx.cwd, o.if)));
    } catch (e) {
      return { stdout: '', stderr: `dd: failed to open '${o.if}': ${fileErrorText(e)}\n`, exitCode: 1 };
    }
    const data = input.slice(0, count === Infinity ? undefined : bs * count);
    const full = Math.floor(data.length / bs);
    const partial = data.length % bs ? 1 : 0;
    const records = `${full}+${partial} records in\n${full}+${partial} records out\n${data.length} bytes copied, 0 s, 0 B/s\n`;
    const stderr = o.status === 'none' ? '' : records;
    if (o.of === undefined) return { ...bytesOutput(unsafeBytesFromLatin1(data)), stderr, exitCode: 0 };
    await ctx.fs.writeFile(ctx.fs.resolvePath(ctx.cwd, o.of), Uint8Array.from(data, (c) => c.charCodeAt(0)));
    return { stdout: '', stderr, exitCode: 0 };
  });
}

// The in-memory root (/, /tmp, /dev/null, ...): a redirection into a directory that does not exist
// fails with ENOENT as open(2) would (just-bash's InMemoryFs creates the parents); /dev/null discards.
class RootFs extends InMemoryFs {
  constructor(private readonly writeErrors: WriteErrors) {
    super();
  }

  // false when the write may go ahead; a missing directory is recorded as the failed open(2)
  private async refused(path: string): Promise<boolean> {
    if (path === '/dev/null') return true;
    const parent = path.slice(0, path.lastIndexOf('/')) || '/';
    if (await this.exists(parent)) return false;
    this.writeErrors.record({ path, error: new RingtraceError('ENOENT', `${parent}: no such directory`) });
    return true;
  }

  override async writeFile(path: string, content: FileContent, options?: WriteFileOptions): Promise<void> {
    if (!(await this.refused(path))) await super.writeFile(path, content, options);
  }

  override async appendFile(path: string, content: FileContent, options?: WriteFileOptions): Promise<void> {
    if (!(await this.refused(path))) await super.appendFile(path, content, options);
  }
}

// What coreutils prints for an errno, also for just-bash's own file system errors ("ENOENT: ...").
function fileErrorText(e: unknown): string {
  if (e instanceof RingtraceError) return e.strerror;
  const code = /^(E[A-Z]+)\b/.exec(String((e as Error)?.message ?? ''))?.[1] ?? (e as { code?: string })?.code;
  const known: Record<string, string> = { ENOENT: 'No such file or directory', EEXIST: 'File exists', ENOTDIR: 'Not a directory', EISDIR: 'Is a directory', ENOTEMPTY: 'Directory not empty', EACCES: 'Permission denied', EPERM: 'Operation not permitted' };
  return (code && known[code]) || errnoText(e);
}

// The shell's commands as the kernel runs them: a program (anything but a builtin or one of the shell's
// own hooks) is forked and exec'd as a child of the task that runs it, with its system calls in the
// child's context; the shell's hooks first tell the processes which task the script is in.
function asProcesses(ours: BashCommand[], procs: Processes): BashCommand[] {
  const isProgram = (name: string) => !BASH_BUILTINS.has(name) && !name.startsWith('__');
  const program = (name: string, run: (args: string[], ctx: Parameters<BashCommand['execute']>[1]) => Promise<ExecResult>): BashCommand =>
    defineCommand(name, (args, ctx) => procs.spawn(procs.taskOf(ctx.env), name, () => run(args, ctx)));
  const hook = (cmd: BashCommand): BashCommand =>
    defineCommand(cmd.name, async (args, ctx) => {
      const pid = procs.taskOf(ctx.env);
      procs.enter(pid);
      await procs.settle(pid);
      return cmd.execute(args, ctx);
    });
  const wrapped = ours.map((c) => (isProgram(c.name) ? program(c.name, (args, ctx) => c.execute(args, ctx)) : hook(c)));
  const have = new Set(ours.map((c) => c.name));
  for (const name of getCommandNames()) if (isProgram(name) && !have.has(name)) wrapped.push(program(name, (args, ctx) => ctx.origCommand!(args)));
  return wrapped;
}

// just-bash names itself bash in its messages; this shell is sh, as bash names itself when run as sh.
// set -x shows the commands the transforms add: they are not the script's.
const INTERNAL_TRACE = new RegExp(`^\\++ (${REDIRECT_STATUS}|${COND_RESCHED}|${FORK_COMMAND}|${FORK_DONE})( .*)?\n`, 'gm');
const REDIRECT_TRACE = new RegExp(`^(\\++) ${REDIRECT} \\S+ \\S+ [01] \\d+ `, 'gm');

function asSh(stderr: string): string {
  return stderr.replace(/^bash: /gm, 'sh: ').replace(INTERNAL_TRACE, '').replace(REDIRECT_TRACE, '$1 ');
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return s;
}
