// The kernel's ftrace selftest harness (tools/testing/selftests/ftrace/ftracetest) over emulated
// machines: each test case (.tc) runs on a fresh machine, in `ringtrace sh`'s shell, the way
// ftracetest's __run_test() runs it: cd to the tracing directory, set -e, set -x, check_requires with
// the test's `# requires:` line, initialize_ftrace, then the test. test.d/functions comes from the
// test's own tree; exit_pass / exit_fail / exit_unsupported / ... are defined here as ftracetest does,
// with a result command in place of its real-time signals.
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { createMachine, type MachineOptions, type RingMachine } from '../api.ts';
import { machineShell } from './machine.ts';
import type { Command } from './shell.ts';

// ftracetest's result codes (PASS=0 ... XFAIL=5) and its names for them.
export const RESULTS = ['PASS', 'FAIL', 'UNRESOLVED', 'UNTESTED', 'UNSUPPORTED', 'XFAIL'] as const;
export type Result = (typeof RESULTS)[number];

export const RESULT_COMMAND = '__ftracetest_result';

// What ftracetest defines before it sources test.d/functions. exit_pass and exit_fail are plain exits;
// the others report their result first (ftracetest sends itself SIG_BASE + code).
function prelude(): string {
  const lines = RESULTS.map((r, code) => `${r}=${code}`);
  lines.push('exit_pass () { exit 0; }', 'exit_fail () { exit 1; }');
  for (const [code, r] of RESULTS.entries()) {
    if (r === 'PASS' || r === 'FAIL') continue;
    lines.push(`exit_${r.toLowerCase()} () { ${RESULT_COMMAND} ${code}; exit 0; }`);
  }
  return lines.join('\n') + '\n';
}

export interface TestCase {
  file: string; // absolute host path of the .tc
  text: string;
  description: string; // what follows "description:", with its leading blank, as ftracetest's cut prints it
  requires: string; // what follows "requires:", for `eval check_requires`
  instance: boolean; // `# flags: instance`
  functions?: string; // the text of the tree's test.d/functions
}

// `grep "^#[ \t]*KEY:" FILE | cut -f2- -d:` (all matching lines, joined by newlines)
function header(text: string, key: string): string {
  const re = new RegExp(`^#[ \\t]*${key}:`);
  return text
    .split('\n')
    .filter((l) => re.test(l))
    .map((l) => l.slice(l.indexOf(':') + 1))
    .join('\n');
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

// `find DIR -name \*.tc | sort` (LC_ALL=C: byte order)
async function findTestcases(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await findTestcases(p)));
    else if (e.name.endsWith('.tc')) out.push(p);
  }
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

// The test.d directory a test belongs to (the one holding `functions`), searching upwards.
async function testDirOf(file: string): Promise<string | undefined> {
  for (let d = dirname(file); ; d = dirname(d)) {
    if (basename(d) === 'test.d') {
      try {
        await stat(join(d, 'functions'));
        return d;
      } catch {
        // a test.d without functions: keep looking
      }
    }
    if (dirname(d) === d) return undefined;
  }
}

// PATH arguments as ftracetest takes them: .tc files, or directories searched for .tc files; a
// selftests/ftrace directory stands for its test.d.
export async function findTests(paths: string[]): Promise<TestCase[]> {
  const files: string[] = [];
  for (const p of paths) {
    const abs = resolve(p);
    if (abs.endsWith('.tc')) files.push(abs);
    else if (await isDir(join(abs, 'test.d'))) files.push(...(await findTestcases(join(abs, 'test.d'))));
    else files.push(...(await findTestcases(abs)));
  }
  const functionsOf = new Map<string, string | undefined>();
  const cases: TestCase[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    const testDir = await testDirOf(file);
    if (testDir && !functionsOf.has(testDir)) functionsOf.set(testDir, await readFile(join(testDir, 'functions'), 'utf8'));
    cases.push({
      file,
      text,
      description: header(text, 'description'),
      requires: header(text, 'requires'),
      instance: /^#[ \t]*flags:.*instance/m.test(text),
      functions: testDir ? functionsOf.get(testDir) : undefined,
    });
  }
  return cases;
}

// The top of the tree (where ftracetest keeps logs/): the parent of the first test's test.d.
export async function topDirOf(cases: TestCase[]): Promise<string | undefined> {
  const d = cases.length ? await testDirOf(cases[0].file) : undefined;
  return d && dirname(d);
}

// check_requires for a tree without test.d/functions, with the kernel's semantics: PROG:program must
// be found (else UNRESOLVED), NAME:tracer in available_tracers, TEXT:README in README, anything else
// must exist (else UNSUPPORTED).
const CHECK_REQUIRES = `check_requires () {
  for i in "$@"; do
    case "$i" in
    *:program) which "\${i%:program}" || { echo "Required program \${i%:program} is not found."; exit_unresolved; } ;;
    *:tracer) grep -wq "\${i%:tracer}" available_tracers || { echo "Required tracer \${i%:tracer} is not configured."; exit_unsupported; } ;;
    *:README) grep -Fq "\${i%:README}" README || { echo "Required feature pattern \\"\${i%:README}\\" is not in README."; exit_unsupported; } ;;
    *) [ -e "$i" ] || { echo "Required feature interface $i doesn't exist."; exit_unsupported; } ;;
    esac
  done
}
`;

export interface RunCaseOptions {
  machine: MachineOptions;
  instance: boolean; // the second round: inside a fresh instance
  caseNo: number;
  timeoutS?: number;
  signal?: AbortSignal; // Ctrl-C: the whole run stops
  activity?: boolean; // the living kernel (activity.ts)
}

export interface CaseRun {
  result: Result;
  log: string; // the test's stdout and stderr (set -x lines included)
  stdout: string;
}

const TRACING_DIR = '/sys/kernel/tracing';

// The script __run_test() runs for one test case, on a machine where TRACING_DIR is the tracing directory.
export function caseScript(tc: TestCase, tracingDir: string): string {
  return [
    prelude(),
    tc.functions ?? CHECK_REQUIRES,
    `export TRACING_DIR=${tracingDir}`,
    // ftracetest runs each test in a subshell of its own: `read PID _ < /proc/self/stat`
    'PID=$$',
    'cd $TRACING_DIR',
    'set -e',
    'set -x',
    `check_requires ${tc.requires}`,
    tc.functions ? 'initialize_ftrace' : '',
    tc.text,
  ].join('\n');
}

// One test case on a fresh machine.
export async function runCase(tc: TestCase, opts: RunCaseOptions): Promise<CaseRun> {
  let log = `execute${opts.instance ? ' (instance) ' : ''}: ${tc.file}\n`;
  let stdout = '';
  let m: RingMachine | undefined;
  try {
    m = await createMachine(opts.machine);
    let tracingDir = TRACING_DIR;
    if (opts.instance) {
      tracingDir = `${TRACING_DIR}/instances/ftracetest.${String(opts.caseNo).padStart(6, '0')}`;
      await m.fs.mkdir(tracingDir);
    }
    let signalled: Result | undefined;
    const result: Command = (c) => {
      signalled = RESULTS[Number(c.args[0])] ?? signalled;
      return 0;
    };
    const sh = machineShell(m, {
      stdout: (t) => ((stdout += t), (log += t)),
      stderr: (t) => (log += t),
      commands: { [RESULT_COMMAND]: result },
      activity: opts.activity,
      env: { TMPDIR: `/tmp/ftracetest-dir.${opts.caseNo}`, FTRACETEST_ROOT: dirname(dirname(tc.file)) },
    });
    const ac = new AbortController();
    const abort = () => ac.abort();
    opts.signal?.addEventListener('abort', abort);
    let timedOut = false;
    const timer = opts.timeoutS === undefined ? undefined : setTimeout(() => ((timedOut = true), ac.abort()), Math.min(opts.timeoutS * 1000, 2 ** 31 - 1));
    let status: number;
    try {
      status = await sh.run(`mkdir -p $TMPDIR\n${caseScript(tc, tracingDir)}`, { signal: ac.signal, name: tc.file });
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', abort);
    }
    // interrupted (a time limit, Ctrl-C): the result is undetermined
    if (timedOut || opts.signal?.aborted) {
      log += timedOut ? `ftracetest: the test ran out of time (--timeout ${opts.timeoutS})\n` : 'ftracetest: interrupted\n';
      return { result: 'UNRESOLVED', log, stdout };
    }
    // __run_test: a non-zero exit is a failure whatever was reported before
    return { result: status !== 0 ? 'FAIL' : (signalled ?? 'PASS'), log, stdout };
  } catch (err) {
    log += `ftracetest: ${(err as Error).message}\n`;
    return { result: 'UNRESOLVED', log, stdout };
  } finally {
    await m?.close();
  }
}
