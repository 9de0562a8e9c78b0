// The CI workflow examples (examples/ci-*.yml) run as written, without the network: the test reads
// each workflow, runs its `ringtrace bench` command line (shortened with --only/--duration/--runs
// appended, which override the workflow's), and feeds the files it names to a mock of each tracker's
// input parser: github-action-benchmark's custom tools (an array of {name, value, unit, range?,
// extra?}; an empty file is an error) and Bencher's json adapter (the BMF schema, slugs of at most
// 64 characters), plus the workflow's own wiring: the tool reads the file of its direction, and each
// Bencher threshold bounds its measure on the side that means "worse".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIGURES, figureSpec } from '../bench/figures.ts';
import { bmfMeasure } from '../bench/formats.ts';
import { runCliCaptured } from './helpers.ts';

const SHORT = ['--only', 'ring.write.wasm.counter,ring.write.cpu*,smp.on_each_cpu', '--duration', '300', '--runs', '1'];
const FILE_OPTIONS = new Set(['--json', '--gab-smaller', '--gab-bigger', '--bmf', '--svg', '--baseline']);

function example(name: string): string {
  return readFileSync(new URL(`../examples/${name}`, import.meta.url), 'utf8');
}

// the arguments after `ringtrace bench` on the workflow's run line, files moved into `dir`
function benchArgs(workflow: string, dir: string): string[] {
  const line = workflow.split('\n').find((l) => /ringtrace bench /.test(l));
  assert.ok(line, 'the workflow runs ringtrace bench');
  const words = line.slice(line.indexOf('ringtrace bench ') + 'ringtrace bench '.length).trim().split(/\s+/).filter((w) => !w.startsWith('$'));
  return words.map((w, i) => (FILE_OPTIONS.has(words[i - 1]) ? join(dir, w) : w));
}

// github-action-benchmark, tools customSmallerIsBetter / customBiggerIsBetter
function gabParse(text: string): { name: string; value: number; unit: string; range?: string; extra?: string }[] {
  const json = JSON.parse(text) as unknown;
  if (!Array.isArray(json)) throw new Error('must be JSON file containing an array of entries in BenchmarkResult format');
  const benches = json.map(({ name, value, unit, range, extra }) => ({ name, value, unit, range, extra }));
  if (benches.length === 0) throw new Error('No benchmark result was found');
  for (const b of benches) {
    assert.equal(typeof b.name, 'string');
    assert.equal(typeof b.value, 'number');
    assert.equal(typeof b.unit, 'string');
    if (b.range !== undefined) assert.equal(typeof b.range, 'string');
    if (b.extra !== undefined) assert.equal(typeof b.extra, 'string');
  }
  return benches;
}

// Bencher's json adapter: BMF
function bmfParse(text: string): Map<string, Map<string, number>> {
  const json = JSON.parse(text) as Record<string, Record<string, Record<string, unknown>>>;
  assert.ok(json && typeof json === 'object' && !Array.isArray(json), 'BMF is an object');
  const out = new Map<string, Map<string, number>>();
  for (const [benchmark, measures] of Object.entries(json)) {
    assert.ok(benchmark.length >= 1 && benchmark.length <= 1024, benchmark);
    const ms = new Map<string, number>();
    for (const [measure, metric] of Object.entries(measures)) {
      assert.ok(measure.length <= 64 && /^[a-z0-9-]+$/.test(measure), `measure slug ${measure}`);
      assert.equal(typeof metric.value, 'number');
      for (const k of Object.keys(metric)) assert.ok(['value', 'lower_value', 'upper_value'].includes(k), k);
      if (metric.lower_value !== undefined) assert.ok((metric.lower_value as number) <= (metric.value as number));
      if (metric.upper_value !== undefined) assert.ok((metric.upper_value as number) >= (metric.value as number));
      ms.set(measure, metric.value as number);
    }
    out.set(benchmark, ms);
  }
  return out;
}

test('examples/ci-github-action-benchmark.yml: each tool reads the file of its direction', async () => {
  const wf = example('ci-github-action-benchmark.yml');
  const dir = mkdtempSync(join(tmpdir(), 'ringtrace-gab-'));
  try {
    const r = await runCliCaptured(['bench', ...benchArgs(wf, dir), ...SHORT]);
    assert.equal(r.code, 0, r.stderr);
    const steps = [...wf.matchAll(/tool: (\S+)\n\s+output-file-path: (\S+)/g)];
    assert.deepEqual(steps.map((s) => s[1]).sort(), ['customBiggerIsBetter', 'customSmallerIsBetter']);
    for (const [, tool, file] of steps) {
      const benches = gabParse(readFileSync(join(dir, file), 'utf8'));
      const want = tool === 'customSmallerIsBetter' ? 'smaller' : 'bigger';
      for (const b of benches) assert.equal(figureSpec(b.name)?.direction, want, `${b.name} in the ${tool} file`);
    }
    // the run file the workflow caches is a baseline the next run can gate on
    const again = await runCliCaptured(['bench', 'compare', join(dir, 'bench.json'), join(dir, 'bench.json')]);
    assert.equal(again.code, 0, again.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('examples/ci-bencher.yml: the BMF file parses, and every threshold bounds its measure on the worse side', async () => {
  const wf = example('ci-bencher.yml');
  const dir = mkdtempSync(join(tmpdir(), 'ringtrace-bmf-'));
  try {
    const r = await runCliCaptured(['bench', ...benchArgs(wf, dir), ...SHORT]);
    assert.equal(r.code, 0, r.stderr);
    const file = /--adapter json[\s\\]+--file (\S+)/.exec(wf);
    assert.ok(file, 'bencher run reads a file with the json adapter');
    const bmf = bmfParse(readFileSync(join(dir, file[1]), 'utf8'));
    assert.ok(bmf.get('ring.write.wasm.counter')?.has('ns-per-event-lower-is-better'));
    assert.ok(bmf.get('ring.write.cpu1')?.has('m-events-per-s-higher-is-better'));
    const thresholds = [...wf.matchAll(/--threshold-measure (\S+) --threshold-test (\S+) --threshold-lower-boundary (\S+) --threshold-upper-boundary (\S+)/g)];
    assert.ok(thresholds.length > 0);
    for (const [, measure, , lower, upper] of thresholds) {
      const lowerIsBetter = measure.endsWith('-lower-is-better');
      assert.ok(lowerIsBetter || measure.endsWith('-higher-is-better'), measure);
      assert.equal(upper === '_', !lowerIsBetter, `${measure}: upper boundary ${upper}`);
      assert.equal(lower === '_', lowerIsBetter, `${measure}: lower boundary ${lower}`);
    }
    // every measure ringtrace can write has a threshold in the example
    const measures = new Set(thresholds.map((t) => t[1]));
    for (const [name, f] of Object.entries(FIGURES)) {
      if (!f.reference) assert.ok(measures.has(bmfMeasure(f.unit, f.direction)), `${name}: ${bmfMeasure(f.unit, f.direction)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
