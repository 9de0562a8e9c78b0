// `ringtrace sh`: run a kernel-style shell script against a fresh emulated machine (tracefs at
// /sys/kernel/tracing and /sys/kernel/debug/tracing, /sys/devices/system/cpu, /proc/modules, and the
// commands modprobe, rmmod, lsmod, dmesg, kcall). The exit status is that of the last command, as in sh.
import { readFile } from 'node:fs/promises';
import { createMachine, type MachineOptions, type RingMachine } from '../api.ts';
import { RingtraceError } from '../errors.ts';
import { findFix } from '../fixes.ts';
import { clockByName, type ClockName } from '../ring/trace-buffer.ts';
import { machineShell } from '../shell/machine.ts';
import { UsageError, type Command, type Io } from './cli.ts';

// A CPU list as the kernel prints them (cpulist_parse): "0-2,5"
export function parseCpuList(text: string): number[] {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    if (!m) throw new UsageError(`option '--online' needs a CPU list like 0-1,3, not '${text}'`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new UsageError(`option '--online': range ${part.trim()} goes backwards`);
    for (let c = lo; c <= hi; c++) out.add(c);
  }
  return [...out].sort((a, b) => a - b);
}

// The machine the sh options ask for; UsageError for values no machine can have.
export function machineOptions(opts: Record<string, unknown>): MachineOptions {
  const o: MachineOptions = {};
  if (opts.cpus !== undefined) o.cpus = opts.cpus as number;
  if (opts.online !== undefined) {
    o.online = parseCpuList(opts.online as string);
    const cpus = o.cpus ?? 2;
    const bad = o.online.find((c) => c >= cpus);
    if (bad !== undefined) throw new UsageError(`option '--online': CPU ${bad} does not exist (possible CPUs: 0-${cpus - 1}; see --cpus)`);
  }
  if (opts['buffer-size-kb'] !== undefined) o.bufferSizeKb = opts['buffer-size-kb'] as number;
  if (opts['memory-model'] !== undefined) {
    const mm = opts['memory-model'] as string;
    if (mm !== 'tso' && mm !== 'weak') throw new UsageError(`option '--memory-model' must be tso or weak, not '${mm}'`);
    o.memoryModel = mm;
  }
  if (opts.clock !== undefined) {
    try {
      clockByName(opts.clock as string);
    } catch (err) {
      throw new UsageError(`option '--clock': ${(err as Error).message.replace(/^[A-Z]+: /, '')}`);
    }
    o.clock = opts.clock as ClockName;
  }
  const without = (opts['without-fix'] as string[] | undefined) ?? [];
  o.withoutFixes = without.map((id) => {
    try {
      return findFix(id).commit;
    } catch (err) {
      throw new UsageError(`option '--without-fix': ${(err as Error).message.replace(/^[A-Z]+: /, '')}`);
    }
  });
  return o;
}

export const MACHINE_OPTIONS = [
  { name: 'cpus', value: 'int', metavar: 'N', help: 'possible CPUs (nr_cpu_ids)', default: 2, min: 1 },
  { name: 'online', value: 'string', metavar: 'LIST', help: 'CPUs online at boot, e.g. 0-1,3 (default: all)' },
  { name: 'buffer-size-kb', value: 'int', metavar: 'N', help: 'per-CPU ring buffer size, like buffer_size_kb (default 1408)', min: 1 },
  { name: 'memory-model', value: 'string', metavar: 'tso|weak', help: "the CPUs' memory ordering (default tso)" },
  { name: 'clock', value: 'string', metavar: 'NAME', help: 'trace_clock: local, global, counter or virtual (default local)' },
  { name: 'without-fix', value: 'string', metavar: 'COMMIT', help: 'emulate the kernel before a modelled fix (see ringtrace repro --list)', repeat: true },
] as const satisfies Command['options'];

// The script's output, byte for byte
export function rawOut(io: Io): (t: string) => void {
  return io.write ? (t) => io.write!(t) : (t) => t && io.out(t);
}

export function rawErr(io: Io): (t: string) => void {
  return io.writeErr ? (t) => io.writeErr!(t) : (t) => t && io.err(t);
}

async function readStdin(io: Io): Promise<string> {
  if (!io.readStdin) throw new UsageError('standard input cannot be read here');
  return io.readStdin();
}

// The script and its arguments: -c COMMANDS (the first argument after it is $0), or a SCRIPT file (- for
// standard input). A number is the exit status for a script that cannot be read.
export async function scriptOf(cmd: string, opts: Record<string, unknown>, args: string[], io: Io): Promise<{ script: string; args: string[] } | number> {
  if (opts.command !== undefined) return { script: opts.command as string, args: args.slice(1) };
  if (args.length === 0) throw new UsageError("a SCRIPT (or - for standard input) or -c 'COMMANDS' is needed");
  const [file, ...rest] = args;
  if (file === '-') return { script: await readStdin(io), args: rest };
  try {
    return { script: await readFile(file, 'utf8'), args: rest };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'No such file or directory' : code === 'EISDIR' ? 'Is a directory' : code === 'EACCES' ? 'Permission denied' : (err as Error).message;
    io.err(`ringtrace ${cmd}: ${file}: ${why}`);
    return 127; // like bash for a script it cannot open
  }
}

// A fresh machine with the machine options; values no machine can have are usage errors.
export async function bootMachine(opts: Record<string, unknown>): Promise<RingMachine> {
  try {
    return await createMachine(machineOptions(opts));
  } catch (err) {
    if (err instanceof RingtraceError && err.code === 'EINVAL') throw new UsageError(err.message.replace(/^EINVAL: /, ''));
    throw err;
  }
}

export const shCommand: Command = {
  name: 'sh',
  summary: 'run a kernel-style shell script (a reproducer from a mailing list) against an emulated machine',
  usage: "[OPTIONS] SCRIPT [ARGS...] | [OPTIONS] -c 'COMMANDS' [NAME [ARGS...]] | [OPTIONS] - [ARGS...]",
  description: [
    'The script runs with cwd / on a fresh machine: tracefs at /sys/kernel/tracing and',
    '/sys/kernel/debug/tracing, /sys/devices/system/cpu (cpuN/online for hotplug), /proc/modules,',
    '/dev/null. Builtins: cd, echo (> and >>), cat, ls, mkdir, rmdir, test/[, grep, wc, head, tail, sleep,',
    'set -e, exit; machine commands: modprobe, rmmod, lsmod, dmesg, and',
    '  kcall [-c CPU] [-n COUNT] FUNC [PARENT]   CPU (default 0) calls FUNC COUNT times from PARENT',
    'SCRIPT - reads the script from standard input. With -c, the first argument after COMMANDS is $0',
    '(ignored: $0 is always sh) and the rest are $1... The exit status is that of the last command.',
  ].join('\n'),
  options: [{ name: 'command', short: 'c', value: 'string', metavar: 'COMMANDS', help: 'run COMMANDS instead of a script file (put the machine options before it)', last: true }, ...MACHINE_OPTIONS],
  optionsFirst: true,
  async run(opts, args, io) {
    const src = await scriptOf('sh', opts, args, io);
    if (typeof src === 'number') return src;
    const m = await bootMachine(opts);
    try {
      const shell = machineShell(m, { stdout: rawOut(io), stderr: rawErr(io), args: src.args });
      return await shell.run(src.script);
    } finally {
      await m.close();
    }
  },
};
