// The command line: the command table, usage errors (exit 2), and a short `ringtrace bench` run whose
// JSON carries the stable names. No timing is asserted: only that every figure is a finite number.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type Io } from '../src/cli/cli.ts';
import { commands } from '../src/cli/commands.ts';

function capture(): Io & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    out(t: string) {
      io.stdout += t + '\n';
    },
    err(t: string) {
      io.stderr += t + '\n';
    },
  };
  return io;
}

async function cli(...argv: string[]) {
  const io = capture();
  const code = await runCli(argv, commands, io);
  return { code, ...io };
}

test('cli: help lists the commands; help bench shows its options', async () => {
  const a = await cli('help');
  assert.equal(a.code, 0);
  assert.match(a.stdout, /bench/);
  const b = await cli('help', 'bench');
  assert.equal(b.code, 0);
  for (const opt of ['--duration', '--cpus', '--size', '--runs', '--json', '--consumer', '--only', '--baseline', '--max-regression', '--gab-smaller', '--gab-bigger', '--bmf', '--svg']) {
    assert.ok(b.stdout.includes(opt), opt);
  }
  const c = await cli('bench', '--help');
  assert.equal(c.code, 0);
});

test('cli: unknown commands and options, and bad values, are usage errors (exit 2) named on stderr', async () => {
  const cases: [string[], RegExp][] = [
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['bench', '--bogus'], /unknown option '--bogus'/],
    [['bench', '-x'], /unknown option '-x'/],
    [['bench', '--size', '0'], /--size' must be at least 1/],
    [['bench', '--size', 'abc'], /--size' needs a whole number/],
    [['bench', '--cpus', '0'], /--cpus' must be at least 1/],
    [['bench', '--cpus', '-1'], /--cpus/],
    [['bench', '--runs'], /--runs' needs a value/],
    [['bench', '--duration', '1'], /--duration 1 ms is too short/],
    [['bench', '--duration', '100'], /--duration 100 ms is too short for 3 runs of \d+ timed phases/],
    [['bench', 'extra'], /unexpected argument 'extra' \(subcommands: compare, plot\)/],
    [['help', 'nope'], /unknown command 'nope'/],
    [[], /usage: ringtrace COMMAND/],
  ];
  for (const [argv, re] of cases) {
    const r = await cli(...argv);
    assert.equal(r.code, 2, `exit status of ${argv.join(' ')}`);
    assert.match(r.stderr, re, argv.join(' '));
    assert.equal(r.stdout, '', `nothing on stdout for ${argv.join(' ')}`);
  }
});

test('cli: an event larger than a sub-buffer allows is refused with the limit named', async () => {
  const r = await cli('bench', '--size', '5000', '--duration', '800', '--runs', '1');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--size 5000 is larger than a 4096-byte sub-buffer allows \(at most 4072 bytes\)/);
});

test('cli: a short bench run prints the kernel-style report, progress per phase, and writes every file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ringtrace-'));
  try {
    const f = (n: string) => join(dir, n);
    const r = await cli('bench', '--duration', '800', '--runs', '1', '--json', f('run.json'), '--gab-smaller', f('s.json'), '--gab-bigger', f('b.json'), '--bmf', f('bmf.json'), '--svg', f('run.svg'));
    assert.equal(r.code, 0, r.stderr);
    for (const field of ['Time:', 'Overruns:', 'Read:', 'Entries:', 'Total:', 'Missed:', 'Hit:', 'Entries per millisec:', 'ns per entry']) {
      assert.ok(r.stdout.includes(field), field);
    }
    // one line per phase without a terminal: its number, the figures with their units, the time
    assert.match(r.stderr, /\[ ?1\/\d+\] run 1\/1 calib\.wasm [\d.]+ ns\/iter \([\d.]+ s elapsed, ~[\d.]+ s left\)/);
    for (const name of ['ftrace.call.traced', 'smp.on_each_cpu', 'ring.pipe.floor']) assert.match(r.stderr, new RegExp(`\\] run 1/1 ${name.replace(/\./g, '\\.')} [\\d.]+ `));
    const json = JSON.parse(readFileSync(f('run.json'), 'utf8')) as { name: string; unit: string; value: number; range: string; extra: string; direction: string; samples: number[] }[];
    const names = json.map((x) => x.name);
    for (const name of [
      'ring.write.wasm.counter', 'ring.write.wasm.local', 'ring.write.ts.counter', 'ring.write.jscall.counter',
      'ring.write.jsbatch.counter', 'ring.write.cpu1', 'ring.write.cpu2', 'ring.pipe', 'ring.pipe.lost',
      'ring.write.floor', 'ring.write.floor_ratio', 'ring.pipe.floor', 'ring.pipe.floor_ratio', 'ring.pipe.cold_spares', 'calib.wasm', 'calib.js',
      'ftrace.call.disabled', 'smp.on_each_cpu', 'embed.write.worker',
    ]) {
      assert.ok(names.includes(name), name);
    }
    for (const x of json) {
      assert.ok(Number.isFinite(x.value), `${x.name} = ${x.value}`);
      assert.match(x.range, /^[\d.e+-]+\.\.[\d.e+-]+$/);
      assert.ok(x.direction === 'smaller' || x.direction === 'bigger', x.name);
      assert.equal(x.samples.length, 1, x.name);
      if (!x.name.startsWith('bench.')) assert.match(x.extra, /node v\d+/);
    }
    const small = JSON.parse(readFileSync(f('s.json'), 'utf8')) as { name: string }[];
    const big = JSON.parse(readFileSync(f('b.json'), 'utf8')) as { name: string }[];
    assert.ok(small.some((x) => x.name === 'ring.write.wasm.counter') && !small.some((x) => x.name === 'ring.pipe'));
    assert.ok(big.some((x) => x.name === 'ring.pipe') && !big.some((x) => x.name === 'ring.write.wasm.counter'));
    assert.ok(Object.keys(JSON.parse(readFileSync(f('bmf.json'), 'utf8'))).includes('ring.pipe'));
    assert.match(readFileSync(f('run.svg'), 'utf8'), /^<svg[^]*ring\.write\.wasm\.counter[^]*<\/svg>\n$/);
    // the kernel benchmark's bookkeeping: Total = Entries + Overruns + Read equals Hit
    assert.doesNotMatch(r.stdout, /Hit - Total/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
