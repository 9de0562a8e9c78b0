// The emulated machine as `ringtrace sh` sees it: its file systems (a KernelFs) and its commands.
//
//   /sys/kernel/tracing, /sys/kernel/debug/tracing   tracefs (machine.fs)
//   /sys/devices/system/cpu                          the CPU masks and cpuN/online (CpuSysfs)
//   /proc/modules                                    the loaded modules, as m_show() prints them
//   /proc/cpuinfo                                    a processor entry per online CPU (nproc, lscpu)
//   /proc/kallsyms                                   the kernel's text symbols (its ftrace records)
//   /proc/interrupts                                 the local timer interrupts each CPU took
//   /dev/null
// and the directories above them, mounted at /sys, /proc and /dev in the shell's in-memory root.
//
// Commands: modprobe, rmmod, lsmod, dmesg (as kmod and util-linux print them), and the emulator's own
// `kcall [-c CPU] [-n COUNT] FUNC [PARENT]`, which makes a CPU call a kernel function through the
// ftrace core's workload call ops (the traced-call path: record lookup, ops dispatch, the tracers).
import type { RingMachine } from '../api.ts';
import { Workload } from '../machine/workload.ts';
import { RingtraceError } from '../errors.ts';
import { CpuSysfs } from '../sysfs.ts';
import { TRACEFS_MOUNTS } from '../tracefs/tracefs.ts';
import { catalogModules, moduleName } from '../ftrace/kernel-text.ts';
import { SHELL_PID, Shell, type Command } from './shell.ts';
import { KernelActivity, PLAIN_FILE_OPS, PROC_SEQ_OPS, SEQ_FILE_OPS, type FileOps, type Task } from './activity.ts';
import { Processes } from './process.ts';
import { moduleInitWorkload } from './module-init.ts';
import { errnoText, type KernelFs } from './kernel-fs.ts';

// The emulated kernel's release (uname -r); the same string the ftrace WARNING prints.
export const KERNEL_RELEASE = '6.6.0-ringtrace';

const CPU_SYSFS = '/sys/devices/system/cpu';

// Where the shell mounts machineFs: the top directories it owns.
export const MACHINE_MOUNTS = ['/sys', '/proc', '/dev'] as const;

// Directories of the emulated root that no file system above provides, with their entries.
const SKELETON: Record<string, readonly string[]> = {
  '/sys': ['devices', 'kernel'],
  '/sys/kernel': ['debug', 'tracing'],
  '/sys/kernel/debug': ['tracing'],
  '/sys/devices': ['system'],
  '/sys/devices/system': ['cpu'],
  '/proc': ['cpuinfo', 'interrupts', 'kallsyms', 'modules', 'self', 'sys'],
  '/proc/self': ['stat'],
  '/proc/sys': ['kernel'],
  '/proc/sys/kernel': ['stack_tracer_enabled'],
  '/dev': ['null'],
};

// Mount points: rmdir(2) of one is EBUSY.
const MOUNT_POINTS = new Set(['/', '/sys', '/proc', '/dev', '/sys/kernel/debug', ...TRACEFS_MOUNTS]);

// Whether a path is inside one of the tracefs mounts.
function inTracefs(path: string): boolean {
  return TRACEFS_MOUNTS.some((m) => path === m || path.startsWith(m + '/'));
}

function cpuRel(path: string): string | null {
  if (path === CPU_SYSFS) return '';
  return path.startsWith(CPU_SYSFS + '/') ? path.slice(CPU_SYSFS.length + 1) : null;
}

function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

// Modules from the kernel's own tree (the catalog) do not taint; user-defined ones are out of tree (O).
const IN_TREE = new Set(catalogModules().map((d) => d.name));

// /proc/modules, m_show() in kernel/module/procfs.c: "name size refcount deps state address [taints]",
// newest module first (load_module() adds to the head of the modules list). print_unload_info() prints
// "-" when no module uses this one. The size is the module's text (the emulator models no data
// sections); the address is its text base, as root sees it (0x%px).
export function procModules(m: RingMachine): string {
  return m.ftrace
    .loadedModules()
    .reverse()
    .map((mod) => `${mod.name} ${mod.size} 0 - Live 0x${mod.base.toString(16).padStart(16, '0')}${IN_TREE.has(mod.name) ? '' : ' (O)'}\n`)
    .join('');
}

// /proc/cpuinfo as show_cpuinfo() starts each online CPU's entry (what nproc and lscpu count).
function procCpuinfo(m: RingMachine): string {
  return m.onlineCpus().map((c) => `processor\t: ${c}\nvendor_id\t: ringtrace\nmodel name\t: ringtrace emulated CPU\n\n`).join('');
}

// /proc/kallsyms as s_show() prints text symbols to root: "%px %c %s" and "\t[%s]" for a module's. The
// emulated kernel's text is its ftrace records.
function procKallsyms(m: RingMachine): string {
  let out = '';
  for (const r of m.ftrace.records()) out += `${r.ip.toString(16).padStart(16, '0')} ${r.module ? 't' : 'T'} ${r.name}${r.module ? `\t[${r.module}]` : ''}\n`;
  return out;
}

// /proc/self/stat of the shell, as do_task_stat() begins it: "pid (comm) state ppid pgrp session tty_nr
// tpgid"; the emulator keeps no accounting for the fields after those, which read 0.
function procSelfStat(): string {
  return `${SHELL_PID} (sh) R 1 ${SHELL_PID} ${SHELL_PID} 0 -1${' 0'.repeat(44)}\n`;
}

// /proc/interrupts: show_interrupts()'s header of online CPUs (prec 3, so 11 columns before the first
// "CPU%-8d") and arch_show_interrupts()'s LOC row ("%*s: ", "%10u " per online CPU); the emulated
// machine has no device interrupts, and the local timer ticks only in the living kernel.
function procInterrupts(m: RingMachine, activity?: KernelActivity): string {
  const cpus = m.onlineCpus();
  const head = ' '.repeat(11) + cpus.map((c) => `CPU${String(c).padEnd(8)}`).join('');
  const loc = 'LOC: ' + cpus.map((c) => `${String(activity?.clock.localTimerInterrupts(c) ?? 0).padStart(10)} `).join('');
  return `${head}\n${loc}  Local timer interrupts\n`;
}

const PROC_FILES: Record<string, (m: RingMachine, activity?: KernelActivity) => string> = {
  '/proc/modules': procModules,
  '/proc/interrupts': procInterrupts,
  '/proc/cpuinfo': procCpuinfo,
  '/proc/kallsyms': procKallsyms,
  '/proc/self/stat': procSelfStat,
  '/proc/sys/kernel/stack_tracer_enabled': (m) => m.ftrace.stack.readSysctl(),
};

// The writable sysctls (proc_dointvec handlers).
const PROC_SYSCTLS: Record<string, (m: RingMachine, text: string) => Promise<void>> = {
  '/proc/sys/kernel/stack_tracer_enabled': (m, text) => m.ftrace.stack.writeSysctl(text),
};

// A file's operations, as the living kernel calls them: tracefs's seq_files, procfs's entries (the
// sysctls' proc_sys_* handlers are not modelled), sysfs's plain reads.
function fileOps(path: string): FileOps {
  if (inTracefs(path)) return SEQ_FILE_OPS;
  if (path in PROC_FILES && !(path in PROC_SYSCTLS)) return PROC_SEQ_OPS;
  return PLAIN_FILE_OPS;
}

// The optional instance operations of machine.fs (instances/NAME).
interface InstanceFs {
  mkdir?(path: string): Promise<void>;
  rmdir?(path: string): Promise<void>;
}

export function machineFs(m: RingMachine, activity?: KernelActivity): KernelFs {
  const cpu = new CpuSysfs(m);
  const tfs = m.fs;
  const inst = m.fs as unknown as InstanceFs;

  const isDir = (path: string): boolean => {
    if (path in SKELETON) return true;
    if (inTracefs(path)) {
      try {
        return tfs.stat(path).type === 'dir';
      } catch {
        return false;
      }
    }
    const rel = cpuRel(path);
    return rel !== null && cpu.list(rel) !== null;
  };

  const exists = (path: string): boolean => {
    if (isDir(path)) return true;
    if (inTracefs(path)) return tfs.exists(path);
    if (path in PROC_FILES || path === '/dev/null') return true;
    const rel = cpuRel(path);
    return rel !== null && cpu.isFile(rel);
  };

  const noEntry = (path: string) => new RingtraceError('ENOENT', `${path}: no such file or directory`);

  // What mkdir(2)/rmdir(2) check before the file system's own operation (filename_create, do_rmdir).
  const checkParent = (path: string) => {
    const parent = dirname(path);
    if (!exists(parent)) throw noEntry(parent);
    if (!isDir(parent)) throw new RingtraceError('ENOTDIR', `${parent}: not a directory`);
  };

  const fs: KernelFs = {
    read(path) {
      if (inTracefs(path)) return tfs.read(path);
      if (isDir(path)) throw new RingtraceError('EISDIR', `${path}: is a directory`);
      if (path in PROC_FILES) return PROC_FILES[path](m, activity);
      if (path === '/dev/null') return '';
      const rel = cpuRel(path);
      if (rel !== null && cpu.isFile(rel)) return cpu.read(rel);
      throw noEntry(path);
    },
    access: activity && ((kind, path) => activity.fileAccess(kind, fileOps(path))),
    readBinary(path) {
      return inTracefs(path) ? tfs.readBinary(path) : new TextEncoder().encode(this.read(path));
    },
    async write(path, data, append) {
      // open(O_CREAT) of a new name: tracefs, sysfs and procfs have no ->create
      if (!exists(path)) throw new RingtraceError(isDir(dirname(path)) ? 'EACCES' : 'ENOENT', `${path}: the file system has no create`);
      if (inTracefs(path)) {
        if (data !== '') return tfs.write(path, data, { append });
        // a redirection's open(2) with nothing written yet: O_TRUNC acts (trace, set_ftrace_filter), no write(2)
        return tfs.open(path, { write: true, append }).close();
      }
      if (isDir(path)) throw new RingtraceError('EISDIR', `${path}: is a directory`);
      if (path === '/dev/null') return;
      if (path in PROC_SYSCTLS) return data === '' ? undefined : PROC_SYSCTLS[path](m, data);
      // mode 0444 (proc_create(..., 0, ...)), which root opens for writing all the same; with no
      // ->proc_write, proc_reg_write() fails with EIO
      if (path in PROC_FILES) {
        if (data === '') return;
        throw new RingtraceError('EIO', `${path} has no write operation`);
      }
      const rel = cpuRel(path);
      if (rel !== null && cpu.isFile(rel)) return data === '' ? undefined : cpu.write(rel, data);
      throw noEntry(path);
    },
    list(path) {
      const skel = SKELETON[path];
      if (skel) return [...skel];
      if (inTracefs(path)) return tfs.ls(path);
      const rel = cpuRel(path);
      const entries = rel === null ? null : cpu.list(rel);
      if (entries) return entries;
      if (exists(path)) throw new RingtraceError('ENOTDIR', `${path}: not a directory`);
      throw noEntry(path);
    },
    isDir,
    exists,
    // Only tracefs's instances/ has a mkdir operation; every other directory here (tracefs, sysfs,
    // debugfs, procfs, the emulated root) has none, so vfs_mkdir() returns EPERM.
    async mkdir(path) {
      if (exists(path)) throw new RingtraceError('EEXIST', `${path}: file exists`);
      checkParent(path);
      if (inTracefs(path) && typeof inst.mkdir === 'function') return inst.mkdir.call(tfs, path);
      throw new RingtraceError('EPERM', `${dirname(path)}: the file system has no mkdir here`);
    },
    async rmdir(path) {
      if (!exists(path)) throw noEntry(path);
      if (!isDir(path)) throw new RingtraceError('ENOTDIR', `${path}: not a directory`);
      if (MOUNT_POINTS.has(path)) throw new RingtraceError('EBUSY', `${path} is a mount point`);
      if (inTracefs(path) && typeof inst.rmdir === 'function') return inst.rmdir.call(tfs, path);
      throw new RingtraceError('EPERM', `${dirname(path)}: the file system has no rmdir here`);
    },
  };
  if (!activity) return fs;
  // what runs work on the CPUs waits for the living kernel's clock to stand still
  const held = activity.clock;
  return {
    ...fs,
    write: (path, data, append) => held.hold(() => fs.write(path, data, append)),
    mkdir: (path) => held.hold(() => fs.mkdir(path)),
    rmdir: (path) => held.hold(() => fs.rmdir(path)),
  };
}

// ---------------------------------------------------------------------------------------------------
// commands

// A module name as modprobe/rmmod take it: a path to a .ko is reduced to its name; '-' reads as '_'.
function modArg(arg: string): string {
  return moduleName(arg.replace(/^.*\//, '').replace(/\.ko(\.(xz|gz|zst))?$/, ''));
}

// A plausible caller of a function, when kcall is given none: the usual path into a driver's file
// operations, else the syscall entry.
function defaultParent(fn: string): string {
  const known: Record<string, string> = {
    schedule: 'schedule_timeout',
    __schedule: 'schedule',
    schedule_timeout: 'do_nanosleep',
    try_to_wake_up: 'wake_up_process',
    kfree: '__fput',
    vfs_read: 'ksys_read',
    vfs_write: 'ksys_write',
    ksys_read: 'do_syscall_64',
    ksys_write: 'do_syscall_64',
    __fput: '____fput',
  };
  if (known[fn]) return known[fn];
  const bySuffix: [RegExp, string][] = [
    [/_release$/, '__fput'],
    [/_open$/, 'do_dentry_open'],
    [/_read$/, 'vfs_read'],
    [/_write$/, 'vfs_write'],
    [/_(compat_)?ioctl$/, '__x64_sys_ioctl'],
    [/_poll$/, 'do_sys_poll'],
  ];
  for (const [re, parent] of bySuffix) if (re.test(fn)) return parent;
  return 'do_syscall_64';
}

function parseCount(text: string): number | null {
  if (!/^\d+$/.test(text)) return null;
  const n = Number(text);
  return n <= 0xffffffff ? n : null;
}

function symbolArg(text: string): string | bigint {
  return /^0x[0-9a-f]{1,16}$/i.test(text) ? BigInt(text) : text;
}

// What the living kernel does beside a command: a module's init after modprobe loaded it, and a
// workload on a CPU queued behind its own work there (kcall).
export interface CommandActivity {
  moduleLoaded(name: string): Promise<void>;
  run(cpu: number, w: Workload): Promise<unknown>;
}

export function machineCommands(m: RingMachine, activity?: CommandActivity): Record<string, Command> {
  const ft = () => m.ftrace;
  const notFound = (name: string) => `modprobe: FATAL: Module ${name} not found in directory /lib/modules/${KERNEL_RELEASE}\n`;

  const remove = async (c: Parameters<Command>[0], prog: 'rmmod' | 'modprobe', arg: string): Promise<number> => {
    const name = modArg(arg);
    if (!ft().isLoaded(name)) {
      c.err(prog === 'rmmod' ? `rmmod: ERROR: Module ${name} is not currently loaded\n` : `modprobe: FATAL: Module ${name} is not in kernel.\n`);
      return 1;
    }
    try {
      await ft().unloadModule(name);
      return 0;
    } catch (e) {
      c.err(`${prog}: ERROR: could not remove '${name}': ${errnoText(e)}\n`);
      return 1;
    }
  };

  return {
    // modprobe [-q] [-r] MODULE [PARAM=VALUE ...]
    modprobe: async (c) => {
      let quiet = false;
      let rm = false;
      const rest: string[] = [];
      for (const a of c.args) {
        if (rest.length === 0 && /^-[qrv]+$/.test(a)) {
          if (a.includes('q')) quiet = true;
          if (a.includes('r')) rm = true;
        } else if (rest.length === 0 && (a === '--quiet' || a === '--remove' || a === '--verbose')) {
          if (a === '--quiet') quiet = true;
          if (a === '--remove') rm = true;
        } else if (rest.length === 0 && a.startsWith('-')) {
          c.err(`modprobe: ERROR: unknown option '${a}' (ringtrace's modprobe takes -q, -r, -v)\n`);
          return 1;
        } else rest.push(a);
      }
      if (rest.length === 0) {
        c.err('modprobe: ERROR: missing parameters. See -h.\n');
        return 1;
      }
      if (rm) {
        let status = 0;
        for (const a of rest) status = (await remove(c, 'modprobe', a)) || status;
        return status;
      }
      const [arg, ...params] = rest;
      const name = modArg(arg);
      if (ft().isLoaded(name)) return 0; // already loaded: modprobe succeeds and does nothing
      if (!ft().availableModules().includes(name)) {
        if (!quiet) c.err(notFound(name));
        return 1;
      }
      try {
        await ft().loadModule(name);
      } catch (e) {
        if (e instanceof RingtraceError && e.code === 'ENOENT') {
          if (!quiet) c.err(notFound(name));
        } else {
          c.err(`modprobe: ERROR: could not insert '${name}': ${errnoText(e)}\n`);
        }
        return 1;
      }
      // the module's parse_args(): it has no parameters, so each one is ignored with a message
      for (const p of params) m.machine.logLine(`${name}: unknown parameter '${p.replace(/=.*/, '')}' ignored`);
      await activity?.moduleLoaded(name);
      return 0;
    },

    // rmmod MODULE...
    rmmod: async (c) => {
      const names = c.args.filter((a) => !a.startsWith('-'));
      if (names.length === 0) {
        c.err('rmmod: ERROR: missing module name.\n');
        return 1;
      }
      let status = 0;
      for (const a of names) status = (await remove(c, 'rmmod', a)) || status;
      return status;
    },

    // kmod's lsmod: "%-19s %8lu  %d" and the holders, from /proc/modules
    lsmod: (c) => {
      let out = 'Module                  Size  Used by\n';
      for (const line of procModules(m).split('\n').filter(Boolean)) {
        const [name, size, refs, deps] = line.split(' ');
        const holders = deps === '-' ? '' : ' ' + deps.replace(/,$/, '');
        out += `${name.padEnd(19)} ${size.padStart(8)}  ${refs}${holders}\n`;
      }
      c.out(out);
      return 0;
    },

    // coreutils nproc: the CPUs the process may run on (all online ones); --all: the configured ones
    nproc: (c) => {
      c.out(`${c.args.includes('--all') ? m.nrCpuIds : m.onlineCpus().length}\n`);
      return 0;
    },

    dmesg: (c) => {
      c.out(m.dmesg().map((l) => l + '\n').join(''));
      return 0;
    },

    // kcall [-c CPU] [-n COUNT] FUNC [PARENT]
    kcall: async (c) => {
      const usage = 'usage: kcall [-c CPU] [-n COUNT] FUNC [PARENT]\n';
      let cpuArg = '0';
      let countArg = '1';
      const rest: string[] = [];
      const args = [...c.args];
      while (args.length) {
        const a = args.shift()!;
        const opt = /^-([cn])(.*)$/.exec(a);
        if (opt && rest.length === 0) {
          const v = opt[2] || args.shift();
          if (v === undefined) {
            c.err(`kcall: option -${opt[1]} needs a value\n${usage}`);
            return 2;
          }
          if (opt[1] === 'c') cpuArg = v;
          else countArg = v;
        } else if (a.startsWith('-') && a !== '-' && rest.length === 0) {
          c.err(`kcall: unknown option '${a}'\n${usage}`);
          return 2;
        } else rest.push(a);
      }
      if (rest.length < 1 || rest.length > 2) {
        c.err(usage);
        return 2;
      }
      const cpu = parseCount(cpuArg);
      if (cpu === null) {
        c.err(`kcall: invalid CPU '${cpuArg}'\n`);
        return 2;
      }
      const count = parseCount(countArg);
      if (count === null) {
        c.err(`kcall: invalid count '${countArg}'\n`);
        return 2;
      }
      if (cpu >= m.nrCpuIds) {
        c.err(`kcall: CPU ${cpu} does not exist (possible CPUs: 0-${m.nrCpuIds - 1})\n`);
        return 1;
      }
      if (!m.onlineCpus().includes(cpu)) {
        c.err(`kcall: CPU ${cpu} is offline\n`);
        return 1;
      }
      if (m.machine.cpuCrashed(cpu)) {
        c.err(`kcall: CPU ${cpu} crashed (see dmesg) and runs no more work\n`);
        return 1;
      }
      const [fnArg, parentArg] = rest;
      const fn = symbolArg(fnArg);
      const known = (s: string | bigint) => (typeof s === 'bigint' ? !!ft().symbolize(s) : ft().lookupName(s).length > 0);
      if (!known(fn)) {
        c.err(`kcall: ${fnArg}: no such function\n`);
        return 1;
      }
      let parent: string | bigint;
      if (parentArg !== undefined) {
        parent = symbolArg(parentArg);
        if (!known(parent)) {
          c.err(`kcall: ${parentArg}: no such function\n`);
          return 1;
        }
      } else {
        const p = defaultParent(typeof fn === 'string' ? fn : ft().symbolize(fn)!.name);
        parent = ft().lookupName(p).length ? p : 'do_syscall_64';
      }
      try {
        const w = new Workload().call(fn, { parent, count });
        await (activity ? activity.run(cpu, w) : m.run(cpu, w));
      } catch (e) {
        c.err(`kcall: ${e instanceof RingtraceError ? e.message.replace(/^[A-Z]+: /, '') : errnoText(e)}\n`);
        return 1;
      }
      return 0;
    },
  };
}

export interface MachineShellOptions {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  args?: string[];
  cwd?: string;
  env?: Record<string, string>;
  commands?: Record<string, Command>; // beside the machine's own
  activity?: boolean; // the living kernel (activity.ts): the shell's system calls, sleeps and ticks
}

// A shell over a machine: its file systems and commands, cwd `/` unless told.
export function machineShell(m: RingMachine, opts: MachineShellOptions): Shell {
  // the living kernel: the shell's processes make its system calls
  const processes: Processes | undefined = opts.activity ? new Processes(m, (w): Promise<void> => activity!.onShellCpu(w), { pid: SHELL_PID, comm: 'sh' }) : undefined;
  const activity: KernelActivity | undefined = processes && new KernelActivity(m, (): Task => processes.current());
  const moduleInit = async (name: string): Promise<void> => {
    const w = processes && moduleInitWorkload(m, name, processes.current());
    if (w) await activity?.onShellCpu(w);
  };
  return new Shell({
    fs: machineFs(m, activity),
    sleep: activity && ((ms, signal) => activity.sleep(ms, signal)),
    processes,
    beside: activity,
    mounts: MACHINE_MOUNTS,
    commands: {
      ...machineCommands(m, activity && processes && { moduleLoaded: (name) => moduleInit(name), run: (cpu, w) => activity.cpus.exclusive(cpu, () => m.run(cpu, w)) }),
      ...opts.commands,
    },
    cwd: opts.cwd ?? '/',
    stdout: opts.stdout,
    stderr: opts.stderr,
    args: opts.args,
    env: opts.env,
  });
}
