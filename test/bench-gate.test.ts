// The benchmark's regression gate and its files: comparisons on made-up runs (direction, threshold,
// noise band, calibration, tolerance), the trackers' formats, `bench compare` / `bench plot` / `-` for
// stdout, and real runs: two honest runs pass against each other; a build slowed on purpose (extra full
// barriers per OP_BENCH event, RINGTRACE_BENCH_SLOW_BARRIERS) fails, naming the figure. No timing is
// asserted beyond that: the slowdown is ~100x, far outside any noise of a loaded 2-core machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compareRuns, regressions } from '../bench/gate.ts';
import { measurement, type Measurement } from '../bench/stats.ts';
import { toGabJson, toBmfJson, toRunJson, parseRun, bmfMeasure } from '../bench/formats.ts';
import { FIGURES } from '../bench/figures.ts';
import { runCliCaptured } from './helpers.ts';

const m = (name: string, samples: number[]) => measurement(name, samples, ['test']);
const gate = { maxRegressionPct: 10 };
const verdict = (base: Measurement[], now: Measurement[], name: string, o = gate) => compareRuns(base, now, o).find((r) => r.name === name)!.verdict;

test('gate: same numbers pass; worse beyond threshold and noise fails, in either direction', () => {
  const base = [m('calib.wasm', [2, 2, 2]), m('ring.write.wasm.counter', [10, 10.2, 10.4]), m('ring.pipe', [50, 51, 52])];
  assert.deepEqual(regressions(compareRuns(base, base, gate)), []);
  const slower = [m('calib.wasm', [2, 2, 2]), m('ring.write.wasm.counter', [14, 14.2, 14.4]), m('ring.pipe', [30, 31, 32])];
  const rows = compareRuns(base, slower, gate);
  assert.deepEqual(regressions(rows).map((r) => r.name), ['ring.write.wasm.counter', 'ring.pipe']);
  const pipe = rows.find((r) => r.name === 'ring.pipe')!;
  assert.ok(pipe.changePct! > 60, `bigger-is-better read as worse: ${pipe.changePct}`);
  assert.equal(verdict(slower, base, 'ring.write.wasm.counter'), 'better');
});

test('gate: a change inside the noise band of the two runs, or inside the threshold, passes', () => {
  const base = [m('ring.write.ts.counter', [40, 50, 60])]; // ±40 % spread
  assert.equal(verdict(base, [m('ring.write.ts.counter', [55, 60, 62])], 'ring.write.ts.counter'), 'worse, within noise');
  assert.equal(verdict(base, [m('ring.write.ts.counter', [52, 54, 56])], 'ring.write.ts.counter', { maxRegressionPct: 20 }), 'worse, within threshold');
});

test('gate: machine-speed figures are compared relative to the calibration, so a slower machine passes', () => {
  const base = [m('calib.wasm', [2, 2, 2]), m('calib.js', [3, 3, 3]), m('ring.write.wasm.counter', [10, 10, 10]), m('ring.pipe', [60, 60, 60]), m('smp.on_each_cpu', [11, 11, 11])];
  // everything twice as slow, calibration included
  const slow = [m('calib.wasm', [4, 4, 4]), m('calib.js', [6, 6, 6]), m('ring.write.wasm.counter', [20, 20, 20]), m('ring.pipe', [30, 30, 30]), m('smp.on_each_cpu', [22, 22, 22])];
  const rows = compareRuns(base, slow, gate);
  assert.deepEqual(regressions(rows), []);
  for (const r of rows.filter((x) => !x.name.startsWith('calib.'))) {
    assert.ok(r.calibrated, r.name);
    assert.ok(Math.abs(r.changePct!) < 1e-9, `${r.name} ${r.changePct}`);
  }
  // the calibration figures themselves are references, never regressions
  assert.equal(rows.find((r) => r.name === 'calib.wasm')!.verdict, 'reference');
});

test('gate: percentages near zero use an absolute tolerance; --only limits the comparison', () => {
  const base = [m('ring.pipe.lost', [0.1, 0.2, 0.3]), m('ring.write.wasm.counter', [10, 10, 10])];
  const now = [m('ring.pipe.lost', [0.5, 0.6, 0.7]), m('ring.write.wasm.counter', [30, 30, 30])];
  assert.equal(verdict(base, now, 'ring.pipe.lost'), 'pass');
  const rows = compareRuns(base, now, { maxRegressionPct: 10, only: 'ring.pipe.*' });
  assert.deepEqual(rows.map((r) => r.name), ['ring.pipe.lost']);
  assert.equal(verdict(base, [m('ring.pipe.lost', [5, 6, 7])], 'ring.pipe.lost'), 'REGRESSION');
});

test('formats: one github-action-benchmark file per direction, BMF with directional measures, run files round-trip', () => {
  const ms = [m('calib.wasm', [2, 3]), m('ring.write.wasm.counter', [10, 12]), m('ring.pipe', [50, 55]), m('ring.write.speedup.wasm_vs_ts', [3, 4])];
  const smaller = JSON.parse(toGabJson(ms, 'smaller'));
  const bigger = JSON.parse(toGabJson(ms, 'bigger'));
  assert.deepEqual(smaller.map((x: { name: string }) => x.name), ['ring.write.wasm.counter']);
  assert.deepEqual(bigger.map((x: { name: string }) => x.name), ['ring.pipe', 'ring.write.speedup.wasm_vs_ts']);
  for (const x of [...smaller, ...bigger]) assert.deepEqual(Object.keys(x).sort(), ['extra', 'name', 'range', 'unit', 'value']);
  const bmf = JSON.parse(toBmfJson(ms));
  assert.deepEqual(bmf['ring.write.wasm.counter'], { 'ns-per-event-lower-is-better': { value: 11, lower_value: 10, upper_value: 12 } });
  assert.deepEqual(Object.keys(bmf['ring.pipe']), ['m-events-per-s-higher-is-better']);
  assert.equal(bmf['calib.wasm'], undefined);
  // every figure's measure slug fits Bencher's 64 characters
  for (const [, f] of Object.entries(FIGURES)) assert.ok(bmfMeasure(f.unit, f.direction).length <= 64);
  assert.deepEqual(parseRun(toRunJson(ms), 'x'), ms);
  // the array written before directions existed still reads as a baseline
  const old = parseRun(JSON.stringify([{ name: 'ring.pipe', unit: 'M events/s', value: 53.3, range: '50..55', extra: '' }]), 'old');
  assert.equal(old[0].direction, 'bigger');
  assert.deepEqual(old[0].samples, [53.3]);
  assert.throws(() => parseRun('{"a":1}', 'bad.json'), /bad.json: not a ringtrace bench run/);
});

test('cli: bench compare exits 0 on a pass, 1 on a regression naming it; plot draws an SVG; bad input is named', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ringtrace-gate-'));
  try {
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    writeFileSync(a, toRunJson([m('calib.wasm', [2, 2]), m('ring.write.wasm.counter', [10, 11]), m('smp.on_each_cpu', [11, 12])]));
    writeFileSync(b, toRunJson([m('calib.wasm', [2, 2]), m('ring.write.wasm.counter', [20, 21]), m('smp.on_each_cpu', [11, 12])]));
    const same = await runCliCaptured(['bench', 'compare', a, a]);
    assert.equal(same.code, 0, same.stderr);
    assert.match(same.stdout, /gate: passed/);
    const worse = await runCliCaptured(['bench', 'compare', a, b]);
    assert.equal(worse.code, 1);
    assert.match(worse.stdout, /ring\.write\.wasm\.counter .* REGRESSION/);
    assert.match(worse.stdout, /gate: FAILED: 1 regression\(s\): ring\.write\.wasm\.counter/);
    const only = await runCliCaptured(['bench', 'compare', a, b, '--only', 'smp.*']);
    assert.equal(only.code, 0);

    const svg = join(dir, 'trend.svg');
    const plot = await runCliCaptured(['bench', 'plot', a, b, '-o', svg]);
    assert.equal(plot.code, 0, plot.stderr);
    const text = readFileSync(svg, 'utf8');
    assert.match(text, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(text, /<\/svg>\n$/);
    assert.ok(text.includes('ring.write.wasm.counter') && text.includes('smp.on_each_cpu'));
    assert.equal((text.match(/<text/g) ?? []).length, (text.match(/<\/text>/g) ?? []).length);
    const toStdout = await runCliCaptured(['bench', 'plot', a, '-o', '-']);
    assert.match(toStdout.stdout, /^<svg/);

    for (const [argv, re] of [
      [['bench', 'compare', a], /two runs/],
      [['bench', 'plot', a], /needs -o/],
      [['bench', 'compare', a, b, '--runs', '5'], /--runs is an option of a benchmark run/],
      [['bench', '--json', '-', '--bmf', '-'], /only one output can go to stdout/],
      [['bench', '--only', 'nothing.like.this'], /matches no figure/],
      [['bench', '-o', svg], /-o is for 'bench plot'/],
    ] as [string[], RegExp][]) {
      const r = await runCliCaptured(argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.stderr, re);
    }
    const missing = await runCliCaptured(['bench', 'compare', a, join(dir, 'nope.json')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read .*nope\.json/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('gate, real runs: two runs pass against each other; a build slowed on purpose fails naming the figure', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ringtrace-gate-'));
  const only = 'ring.write.wasm.counter';
  const short = ['--only', only, '--duration', '240', '--runs', '3'];
  try {
    const base = join(dir, 'base.json');
    const first = await runCliCaptured(['bench', ...short, '--json', base]);
    assert.equal(first.code, 0, first.stderr);
    // a loaded CI machine moves honest runs by a few x: the threshold is generous, the slowdown is not
    const again = await runCliCaptured(['bench', ...short, '--baseline', base, '--max-regression', '300', '--json', '-']);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stderr, /gate: passed/); // the report goes to stderr when the run goes to stdout
    const run = JSON.parse(again.stdout) as { name: string; direction: string; samples: number[] }[];
    assert.deepEqual(run.map((x) => x.name).filter((n) => n !== 'bench.others_cpu'), ['calib.wasm', only]);
    assert.equal(run.find((x) => x.name === only)!.samples.length, 3);

    process.env.RINGTRACE_BENCH_SLOW_BARRIERS = '400';
    let slowed;
    try {
      slowed = await runCliCaptured(['bench', ...short, '--baseline', base, '--max-regression', '300']);
    } finally {
      delete process.env.RINGTRACE_BENCH_SLOW_BARRIERS;
    }
    assert.equal(slowed.code, 1, slowed.stdout + slowed.stderr);
    assert.match(slowed.stdout, new RegExp(`gate: FAILED: 1 regression\\(s\\): ${only.replace(/\./g, '\\.')}`));
    assert.match(slowed.stderr, /slowed down on purpose/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
