// `ringtrace ftracetest [OPTIONS] PATH...`: the kernel's ftrace selftests (a kernel tree's
// tools/testing/selftests/ftrace, a test.d directory below it, or .tc files) against emulated machines,
// with ftracetest's output, logs, summary and exit status.
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { findTests, runCase, topDirOf, type CaseRun, type Result, type TestCase } from '../shell/ftracetest.ts';
import { UsageError, type Command, type Io } from './cli.ts';
import { ACTIVITY_OPTION, MACHINE_OPTIONS, TIMEOUT_OPTION, machineOptions, withLimits } from './sh.ts';

// date +%Y%m%d-%H%M%S
function logDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

export const ftracetestCommand: Command = {
  name: 'ftracetest',
  summary: "run the kernel's ftrace selftests (.tc files) against emulated machines, as the kernel's ftracetest does",
  usage: '[OPTIONS] PATH...',
  description: [
    "PATH: a kernel tree's tools/testing/selftests/ftrace (its test.d), a directory of .tc files, or .tc files.",
    "Each test runs on a fresh machine in 'ringtrace sh', after its tree's test.d/functions, the way",
    "ftracetest's __run_test runs it (cd to the tracing directory, set -e, set -x, check_requires with the",
    "test's '# requires:', initialize_ftrace); tests with '# flags: instance' run again inside an instance.",
    'Results PASS, FAIL, UNRESOLVED, UNTESTED, UNSUPPORTED, XFAIL and the summary are printed like ftracetest;',
    'the exit status is 1 when a test failed (or was UNSUPPORTED/UNRESOLVED with --fail-*), else 0.',
    'Logs go to TOP/logs/DATE/ like ftracetest (TOP: the directory holding test.d), or to --logdir; -l - keeps',
    'them on the console only. --timeout bounds each test (an expired one is UNRESOLVED).',
  ].join('\n'),
  options: [
    { name: 'verbose', short: 'v', help: 'show the log of a failed test (-vv: every test result output, -vvv: every command)', repeat: true },
    { name: 'keep', short: 'k', help: 'keep the logs of passed tests' },
    { name: 'fail-unsupported', help: 'treat UNSUPPORTED as a failure' },
    { name: 'fail-unresolved', help: 'treat UNRESOLVED as a failure' },
    { name: 'stop-fail', help: 'stop at the first failure' },
    { name: 'logdir', short: 'l', value: 'string', metavar: 'DIR', help: 'save the logs in DIR (- : console only)' },
    TIMEOUT_OPTION,
    ACTIVITY_OPTION,
    ...MACHINE_OPTIONS,
  ],
  async run(opts, args, io) {
    if (args.length === 0) throw new UsageError('a PATH (the selftests/ftrace directory, a test.d directory or .tc files) is needed');
    const machine = machineOptions(opts);
    let cases: TestCase[];
    try {
      cases = await findTests(args);
    } catch (err) {
      throw new UsageError(`${(err as NodeJS.ErrnoException).path ?? ''}: ${(err as Error).message}`);
    }
    if (cases.length === 0) throw new UsageError(`no test cases (*.tc) in ${args.join(' ')}`);
    const verbose = (opts.verbose as number | undefined) ?? 0;
    const timeoutS = opts.timeout as number | undefined;

    let logDir: string | undefined;
    if (opts.logdir !== '-') {
      const top = await topDirOf(cases);
      logDir = (opts.logdir as string | undefined) ?? join(top ?? '.', 'logs', logDate(new Date()));
      await mkdir(logDir, { recursive: true });
    }
    const logFile = logDir && join(logDir, 'ftracetest.log');
    if (logFile) await writeFile(logFile, `${new Date().toString()}\n`);

    // prlog: the console and ftracetest.log
    const prlog = async (text: string, newline = true) => {
      const t = text + (newline ? '\n' : '');
      if (io.write) io.write(t);
      else io.out(t.replace(/\n$/, ''));
      if (logFile) await appendFile(logFile, t);
    };

    await prlog('=== Ftrace unit tests ===');
    const byResult = new Map<Result, number[]>();
    let total = 0;
    let caseNo = 0;
    let stopped = false;

    const runOne = async (tc: TestCase, instance: boolean, signal: AbortSignal): Promise<void> => {
      caseNo++;
      await prlog(`[${caseNo}]${instance ? ' (instance) ' : ''}${tc.description}`, false);
      const run: CaseRun = await runCase(tc, { machine, instance, caseNo, timeoutS, signal, activity: opts.activity as boolean });
      await prlog(`\t[${run.result}]`);
      byResult.set(run.result, [...(byResult.get(run.result) ?? []), caseNo]);
      const failed = run.result === 'FAIL' || (run.result === 'UNSUPPORTED' && !!opts['fail-unsupported']) || (run.result === 'UNRESOLVED' && !!opts['fail-unresolved']);
      if (verbose >= 2) {
        const shown = verbose >= 3 ? run.log : run.stdout;
        if (io.write) io.write(shown);
        else io.out(shown);
      }
      if (failed) {
        total = 1;
        if (verbose === 1 || verbose === 2) {
          if (io.write) io.write(run.log);
          else io.out(run.log);
          if (logFile) await appendFile(logFile, run.log);
        }
      }
      if (logDir && (failed || opts.keep)) {
        // mktemp $LOG_DIR/${CASENO}-${testname}-log.XXXXXX
        await writeFile(join(logDir, `${caseNo}-${basename(tc.file)}-log.${randomBytes(3).toString('hex')}`), run.log, { flag: 'wx' });
      }
    };

    const limits = await withLimits(undefined, async (signal) => {
      for (const round of [false, true]) {
        for (const tc of cases) {
          if (round && !tc.instance) continue;
          if (signal.aborted) return;
          await runOne(tc, round, signal);
          if (opts['stop-fail'] && total !== 0) {
            await prlog('A failure detected. Stop test.');
            stopped = true;
            return;
          }
        }
      }
    });
    if (stopped) return 1;
    if (limits.stopped === 'interrupt') return 130;

    const count = (r: Result) => byResult.get(r)?.length ?? 0;
    await prlog('');
    await prlog(`# of passed:  ${count('PASS')}`);
    await prlog(`# of failed:  ${count('FAIL')}`);
    await prlog(`# of unresolved:  ${count('UNRESOLVED')}`);
    await prlog(`# of untested:  ${count('UNTESTED')}`);
    await prlog(`# of unsupported:  ${count('UNSUPPORTED')}`);
    await prlog(`# of xfailed:  ${count('XFAIL')}`);
    await prlog(`# of undefined(test bug):  0`);
    return total;
  },
};
