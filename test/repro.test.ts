// `ringtrace repro`: the reproducer of 8c4f3c3fa968 run as written through the shell, in both switch
// states, with the kernel's answers; and `repro --list`. (The 20ad8b0888be reproducer's runs are in
// hotplug.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runFtraceReload, FTRACE_RELOAD_SCRIPT, FTRACE_ALIVE_CHECK } from '../src/repro/ftrace-reload.ts';
import { listReproducers, findReproducer } from '../src/repro/index.ts';
import { FIXES } from '../src/fixes.ts';
import { runCliCaptured } from './helpers.ts';

test('the reproducer is the one of the patch mail, with cd /sys/kernel/debug/tracing', () => {
  assert.deepEqual(FTRACE_RELOAD_SCRIPT.split('\n'), [
    'cd /sys/kernel/debug/tracing',
    'modprobe uinput',
    'echo uinput_release > set_ftrace_filter',
    'echo function > current_tracer',
    'rmmod uinput',
    'modprobe uinput',
    '# check /proc/modules to see if loaded in same addr, otherwise try again',
    'echo nop > current_tracer',
    '',
  ]);
  assert.equal(FTRACE_ALIVE_CHECK, 'echo schedule > set_ftrace_filter\n');
});

test('8c4f3c3fa968 on: the script runs cleanly, no WARNING, and ftrace still works', async () => {
  const r = await runFtraceReload({ fix: true });
  assert.equal(r.script.stderr, '');
  assert.equal(r.script.stdout, '');
  assert.equal(r.script.status, 0);
  assert.equal(r.modules.length, 2);
  assert.ok(r.sameAddress, `uinput reloaded in the same place: ${r.modules.join(' / ')}`);
  assert.match(r.modules[0], /^uinput \d+ 0 - Live 0xffffffffc[0-9a-f]{7}$/);
  assert.equal(r.warning, false);
  assert.ok(!r.dmesg.some((l) => l.includes('WARNING')), r.dmesg.join('\n'));
  // echo schedule > set_ftrace_filter succeeds afterwards
  assert.deepEqual(r.check, { status: 0, stdout: '', stderr: '' });
  assert.equal(r.dead, false);
  assert.equal(r.expected, true);
});

test('8c4f3c3fa968 off: the WARNING of the report is in dmesg and ftrace is dead (ENODEV)', async () => {
  const r = await runFtraceReload({ fix: false });
  // the kernel's write of nop to current_tracer succeeds: the WARNING fires inside it
  assert.equal(r.script.stderr, '');
  assert.equal(r.script.status, 0);
  assert.ok(r.sameAddress);
  assert.equal(r.warning, true);
  const at = r.dmesg.findIndex((l) => /WARNING: at kernel\/trace\/ftrace\.c:\d+ __ftrace_hash_rec_update\+0x[0-9a-f]+\/0x[0-9a-f]+\(\)/.test(l));
  assert.ok(at > 0, r.dmesg.join('\n'));
  assert.match(r.dmesg[at - 1], /------------\[ cut here \]------------/);
  assert.match(r.dmesg[at + 1], /comm: bash/);
  assert.ok(r.dmesg.some((l) => /---\[ end trace [0-9a-f]{16} \]---/.test(l)));
  // ftrace_kill(): the filter files' open() fails with ENODEV, as bash reports a failed write
  assert.equal(r.check.status, 1);
  assert.equal(r.check.stderr, 'sh: echo: write error: No such device\n');
  assert.equal(r.dead, true);
  assert.equal(r.expected, true);
});

test('cli: repro 8c4f3c3fa968 prints the script, both runs with dmesg, and the verdict; exit 0', async () => {
  const r = await runCliCaptured(['repro', '8c4f3c3']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  for (const line of FTRACE_RELOAD_SCRIPT.trim().split('\n')) assert.ok(r.stdout.includes(line), line);
  assert.match(r.stdout, /== with 8c4f3c3fa968 ==/);
  assert.match(r.stdout, /== without 8c4f3c3fa968 ==/);
  assert.match(r.stdout, /sh: echo: write error: No such device/);
  assert.match(r.stdout, /WARNING: at kernel\/trace\/ftrace\.c/);
  assert.match(r.stdout, /no WARNING, ftrace still works: as expected/);
  assert.match(r.stdout, /the WARNING is in dmesg, ftrace is dead \(ENODEV\): as expected/);
  assert.match(r.stdout, /^verdict: ok/m);
});

test('cli: repro --list names every modelled fix with its subject and one-line summary', async () => {
  const r = await runCliCaptured(['repro', '--list']);
  assert.equal(r.code, 0);
  assert.equal(r.stderr, '');
  for (const fix of FIXES) {
    assert.ok(r.stdout.includes(`${fix.commit}  ${fix.subject}\n`), fix.commit);
    assert.ok(r.stdout.includes(`    ${fix.summary}\n`), fix.commit);
  }
  assert.equal(listReproducers().length, FIXES.length);
  assert.ok(listReproducers().every((x) => x.reproducer), 'every modelled fix has a reproducer');
  assert.equal(findReproducer('20ad8b0').fix.commit, '20ad8b0888be');
});

test('cli: repro usage errors exit 2', async () => {
  for (const argv of [['repro'], ['repro', 'deadbeef00'], ['repro', 'zz'], ['repro', '--list', '20ad8b0888be'], ['repro', '20ad8b0888be', '8c4f3c3fa968']]) {
    const r = await runCliCaptured(argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.equal(r.stdout, '');
  }
});
