// `ringtrace ftracetest` over test/ftracetest/test.d: this project's own .tc cases in the kernel's style,
// one per result code, with the harness's output, summary, logs and exit status.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCliCaptured } from './helpers.ts';

const TREE = join(import.meta.dirname, 'ftracetest');

test('ftracetest: every result code, the instance round, the summary, per-test logs and exit status 1', async () => {
  const logs = await mkdtemp(join(tmpdir(), 'ringtrace-ftracetest-'));
  try {
    const r = await runCliCaptured(['ftracetest', '--timeout', '3', '-l', logs, join(TREE, 'test.d/basic'), join(TREE, 'test.d/results')]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], '=== Ftrace unit tests ===');
    // find | sort order, the description as ftracetest's cut leaves it (with its leading blank)
    assert.deepEqual(lines.slice(1, 13), [
      '[1] a function filter traces only that function\t[PASS]',
      '[2] tracefs files of the function tracer are there\t[PASS]',
      '[3] a failing command under set -e is FAIL\t[FAIL]',
      '[4] a test that runs out of time is UNRESOLVED\t[UNRESOLVED]',
      '[5] a missing program is UNRESOLVED\t[UNRESOLVED]',
      '[6] a missing feature is UNSUPPORTED\t[UNSUPPORTED]',
      '[7] a missing tracer is UNSUPPORTED\t[UNSUPPORTED]',
      '[8] exit_untested is UNTESTED, even from a subshell\t[UNTESTED]',
      '[9] exit_xfail is XFAIL\t[XFAIL]',
      '[10] (instance)  a function filter traces only that function\t[PASS]',
      '',
      '# of passed:  3',
    ]);
    assert.deepEqual(lines.slice(13, 19), ['# of failed:  1', '# of unresolved:  2', '# of untested:  1', '# of unsupported:  2', '# of xfailed:  1', '# of undefined(test bug):  0']);
    const files = await readdir(logs);
    // only the failed test keeps its log (no -k); ftracetest.log has what the console showed
    assert.deepEqual(files.filter((f) => f !== 'ftracetest.log').map((f) => f.replace(/\.[0-9a-f]{6}$/, '')), ['3-fail.tc-log']);
    const log = await readFile(join(logs, files.find((f) => f.startsWith('3-'))!), 'utf8');
    assert.match(log, /^execute: .*fail\.tc$/m);
    assert.match(log, /^\+ echo abc$/m); // set -x
    assert.match(log, /^sh: echo: write error: Invalid argument$/m);
    assert.ok(!log.includes('not reached'));
    assert.ok((await readFile(join(logs, 'ftracetest.log'), 'utf8')).includes('# of failed:  1'));
  } finally {
    await rm(logs, { recursive: true, force: true });
  }
});

test('ftracetest: passing tests exit 0; -v shows a failed log; --fail-unsupported counts UNSUPPORTED as failure', async () => {
  const ok = await runCliCaptured(['ftracetest', '-l', '-', join(TREE, 'test.d/basic/tracefs.tc')]);
  assert.equal(ok.code, 0, ok.stdout);
  assert.match(ok.stdout, /^\[1\] tracefs files of the function tracer are there\t\[PASS\]$/m);
  const unsup = await runCliCaptured(['ftracetest', '-l', '-', '--fail-unsupported', join(TREE, 'test.d/results/unsupported.tc')]);
  assert.equal(unsup.code, 1);
  const v = await runCliCaptured(['ftracetest', '-v', '-l', '-', join(TREE, 'test.d/results/fail.tc')]);
  assert.match(v.stdout, /^sh: echo: write error: Invalid argument$/m);
  const usage = await runCliCaptured(['ftracetest']);
  assert.equal(usage.code, 2);
});

// test.d/living: the living kernel's scheduler, ticks, locks and procfs writes, as the kernel's own
// func_traceonoff_triggers, func_profiler, fgraph-multi and fgraph-retval rely on them
test('ftracetest: the living kernel cases pass, and in an instance', async () => {
  const r = await runCliCaptured(['ftracetest', '--timeout', '60', '-l', '-', join(TREE, 'test.d/living')]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^# of passed: {2}7$/m);
});

test('ftracetest: processes of the living kernel (test.d/process): pid filters following forks (function-fork, event-fork), function_graph by pid, trace_options, the stack of a fork, the init of a module, sched_process_* events, set -e around forks', async () => {
  const r = await runCliCaptured(['ftracetest', '--timeout', '120', '-l', '-', join(TREE, 'test.d/process')]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const results = r.stdout.split('\n').filter((l) => /^\[\d+\]/.test(l));
  // nine tests, four of them again in an instance
  assert.equal(results.length, 13, r.stdout);
  for (const l of results) assert.match(l, /\t\[PASS\]$/);
});
