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
  for (const opt of ['--duration', '--cpus', '--size', '--runs', '--json', '--consumer']) assert.ok(b.stdout.includes(opt), opt);
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
    [['bench', 'extra'], /unexpected argument 'extra'/],
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

test('cli: a short bench run prints the kernel-style report and writes the JSON with the stable names', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ringtrace-'));
  try {
    const file = join(dir, 'bench.json');
    const r = await cli('bench', '--duration', '800', '--runs', '1', '--json', file);
    assert.equal(r.code, 0, r.stderr);
    for (const field of ['Time:', 'Overruns:', 'Read:', 'Entries:', 'Total:', 'Missed:', 'Hit:', 'Entries per millisec:', 'ns per entry']) {
      assert.ok(r.stdout.includes(field), field);
    }
    assert.match(r.stderr, /\[1\/8\]/);
    const json = JSON.parse(readFileSync(file, 'utf8')) as { name: string; unit: string; value: number; range: string; extra: string }[];
    const names = json.map((x) => x.name);
    for (const name of [
      'ring.write.wasm.counter', 'ring.write.wasm.local', 'ring.write.ts.counter', 'ring.write.jscall.counter',
      'ring.write.jsbatch.counter', 'ring.write.cpu1', 'ring.write.cpu2', 'ring.pipe', 'ring.pipe.lost', 'embed.write.worker',
    ]) {
      assert.ok(names.includes(name), name);
    }
    for (const x of json) {
      assert.deepEqual(Object.keys(x).sort(), ['extra', 'name', 'range', 'unit', 'value']);
      assert.ok(Number.isFinite(x.value), `${x.name} = ${x.value}`);
      assert.match(x.range, /^[\d.e+-]+\.\.[\d.e+-]+$/);
      assert.match(x.extra, /node v\d+/);
    }
    // the kernel benchmark's bookkeeping: Total = Entries + Overruns + Read equals Hit
    assert.doesNotMatch(r.stdout, /Hit - Total/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
