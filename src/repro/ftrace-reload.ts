// Reproducer of the bug fixed by upstream 8c4f3c3fa968 ("ftrace: Check module functions being traced
// on reload"): the shell reproducer from the patch mail, run as written through `ringtrace sh` on a
// machine with the fix and on one without it (the kernel before the commit).
//
// Without the fix, the records of uinput reloaded at the same address start with a count of 0 while
// the filter hash still holds uinput_release; `echo nop > current_tracer` then decrements that count
// below zero: FTRACE_WARN_ON in __ftrace_hash_rec_update() (the WARNING of the report, in dmesg) and
// ftrace_kill(), after which the filter files fail with ENODEV. With the fix, referenced_filters()
// gives the reloaded record its count back (and clear_mod_from_hashes() dropped the hash entry at the
// unload in the kernels that have it), so nothing warns and ftrace keeps working.
import { createMachine, type MachineOptions } from '../api.ts';
import { machineShell, procModules } from '../shell/machine.ts';

export const FTRACE_RELOAD_COMMIT = '8c4f3c3fa968';

// The reproducer exactly as in the patch mail ("With the help of Steve and Joern, we found a reproducer").
export const FTRACE_RELOAD_SCRIPT = `cd /sys/kernel/debug/tracing
modprobe uinput
echo uinput_release > set_ftrace_filter
echo function > current_tracer
rmmod uinput
modprobe uinput
# check /proc/modules to see if loaded in same addr, otherwise try again
echo nop > current_tracer
`;

// Run afterwards in the same shell (cwd still the tracing directory): does ftrace still work? After
// ftrace_kill() the filter files' open() fails with ENODEV.
export const FTRACE_ALIVE_CHECK = 'echo schedule > set_ftrace_filter\n';

export const FTRACE_RELOAD_MACHINE: MachineOptions = { cpus: 2, bufferSizeKb: 64, clock: 'virtual' };

export interface ShellRun {
  status: number;
  stdout: string;
  stderr: string;
}

export interface FtraceReloadRun {
  fix: boolean; // the machine had 8c4f3c3fa968
  script: ShellRun; // the reproducer
  check: ShellRun; // FTRACE_ALIVE_CHECK afterwards
  modules: string[]; // /proc/modules's uinput line at each load (the "same addr" check of the script)
  sameAddress: boolean; // uinput was reloaded where it was first loaded
  dmesg: string[];
  warning: boolean; // the FTRACE_WARN_ON of __ftrace_hash_rec_update fired (a WARNING in dmesg)
  dead: boolean; // ftrace is disabled: the check's write failed with ENODEV
  expected: boolean; // with the fix: no warning and alive; without: the warning and dead
}

export interface FtraceReloadResult {
  script: string;
  check: string;
  withFix: FtraceReloadRun;
  withoutFix: FtraceReloadRun;
  ok: boolean; // both runs behaved as the kernels with and without the fix do
}

// One run of the reproducer on a fresh machine, with or without the fix.
export async function runFtraceReload(opts: { fix: boolean; machine?: MachineOptions }): Promise<FtraceReloadRun> {
  const base = opts.machine ?? FTRACE_RELOAD_MACHINE;
  const without = new Set(base.withoutFixes ?? []);
  if (opts.fix) without.delete(FTRACE_RELOAD_COMMIT);
  else without.add(FTRACE_RELOAD_COMMIT);
  const m = await createMachine({ ...base, withoutFixes: [...without] });
  try {
    const modules: string[] = [];
    const onLoad = (name: string) => {
      if (name === 'uinput') modules.push(procModules(m).split('\n').find((l) => l.startsWith('uinput ')) ?? '');
    };
    m.ftrace.onModuleLoaded.add(onLoad);
    const run = async (sh: ReturnType<typeof machineShell>, text: string, into: ShellRun) => {
      into.status = await sh.run(text);
    };
    const script: ShellRun = { status: 0, stdout: '', stderr: '' };
    const check: ShellRun = { status: 0, stdout: '', stderr: '' };
    let sink = script;
    const sh = machineShell(m, { stdout: (t) => (sink.stdout += t), stderr: (t) => (sink.stderr += t) });
    await run(sh, FTRACE_RELOAD_SCRIPT, script);
    sink = check;
    await run(sh, FTRACE_ALIVE_CHECK, check);
    m.ftrace.onModuleLoaded.delete(onLoad);
    const dmesg = m.dmesg();
    const addr = (line: string) => line.split(' ')[5];
    const sameAddress = modules.length >= 2 && addr(modules[0]) === addr(modules[modules.length - 1]);
    const warning = dmesg.some((l) => /WARNING: at kernel\/trace\/ftrace\.c:\d+ __ftrace_hash_rec_update/.test(l));
    const dead = check.status !== 0 && /write error: No such device/.test(check.stderr);
    const expected = opts.fix ? !warning && !dead && check.status === 0 : warning && dead;
    return { fix: opts.fix, script, check, modules, sameAddress, dmesg, warning, dead, expected };
  } finally {
    await m.close();
  }
}

// The reproducer in both switch states.
export async function reproFtraceReload(opts: { machine?: MachineOptions } = {}): Promise<FtraceReloadResult> {
  const withFix = await runFtraceReload({ fix: true, machine: opts.machine });
  const withoutFix = await runFtraceReload({ fix: false, machine: opts.machine });
  return { script: FTRACE_RELOAD_SCRIPT, check: FTRACE_ALIVE_CHECK, withFix, withoutFix, ok: withFix.expected && withoutFix.expected };
}
