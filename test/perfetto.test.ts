// The Chrome JSON trace (what the Perfetto UI opens): valid against the Trace Event Format's schema
// (test/fixtures/chrome-trace.schema.json, checked with ajv), and loaded the way a viewer builds its
// tracks: one process per CPU, a thread per task, B/E slices nesting per thread, X slices, instants,
// markers. Besides the function_graph tracer's own records, cases it does not produce (a return whose
// entry was lost, trace_marker writes) come from raw records in the kernel's layout (raw-records.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import { toChromeTrace, type ChromeEvent, type ChromeTrace } from '../src/perfetto/chrome-json.ts';
import { withMachine, runCliCaptured } from './helpers.ts';
import { graphTrace } from './raw-records.ts';
import { Workload } from '../src/index.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'ringtrace-perfetto-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const schema = JSON.parse(readFileSync(new URL('./fixtures/chrome-trace.schema.json', import.meta.url), 'utf8'));
const validate = new Ajv({ allErrors: true, allowUnionTypes: true }).compile(schema);

function assertValid(trace: unknown): void {
  const ok = validate(trace);
  assert.ok(ok, JSON.stringify(validate.errors, null, 1));
}

// A viewer's view: per (pid, tid) track, its slices with nesting depth; instants; names.
function load(trace: ChromeTrace) {
  const procNames = new Map<number, string>();
  const threadNames = new Map<string, string>();
  const slices: { track: string; name: string; ts: number; dur: number; depth: number }[] = [];
  const instants: ChromeEvent[] = [];
  const stacks = new Map<string, { name: string; ts: number }[]>();
  for (const e of trace.traceEvents) {
    const track = `${e.pid}/${e.tid}`;
    if (e.ph === 'M') {
      if (e.name === 'process_name') procNames.set(e.pid, String(e.args!.name));
      if (e.name === 'thread_name') threadNames.set(track, String(e.args!.name));
      continue;
    }
    let st = stacks.get(track);
    if (!st) stacks.set(track, (st = []));
    if (e.ph === 'B') st.push({ name: e.name, ts: e.ts! });
    else if (e.ph === 'E') {
      const open = st.pop();
      assert.ok(open, `E without B on ${track} at ${e.ts}`);
      assert.equal(open.name, e.name, `E closes ${open.name}`);
      assert.ok(e.ts! >= open.ts);
      slices.push({ track, name: e.name, ts: open.ts, dur: e.ts! - open.ts, depth: st.length });
    } else if (e.ph === 'X') slices.push({ track, name: e.name, ts: e.ts!, dur: e.dur!, depth: st.length });
    else instants.push(e);
  }
  for (const [track, st] of stacks) assert.equal(st.length, 0, `unclosed slices on ${track}`);
  for (const e of trace.traceEvents) {
    if (e.ph === 'M') continue;
    assert.ok(procNames.has(e.pid), `process ${e.pid} has a name`);
    if (e.tid !== undefined) assert.ok(threadNames.has(`${e.pid}/${e.tid}`), `thread ${e.pid}/${e.tid} has a name`);
  }
  return { procNames, threadNames, slices, instants };
}

test('perfetto: graph entry/exit become nested slices per CPU and task, markers and calls instants; schema-valid', async () => {
  await withMachine({ cpus: 2, clock: 'virtual' }, async (m) => {
    const dat = await graphTrace(m);
    const trace = toChromeTrace(dat);
    assertValid(trace);
    const v = load(trace);
    // no pid or tid 0 (Perfetto treats them specially): CPU N is pid N + 1, the idle task a tid of its own per CPU
    assert.deepEqual([...v.procNames.entries()].sort(), [[1, 'CPU 0'], [2, 'CPU 1']]);
    assert.equal(v.threadNames.get('1/1234'), 'bash-1234');
    const idle = 4 * 1024 * 1024 + 1;
    assert.equal(v.threadNames.get(`2/${idle}`), '<idle>-0');
    assert.ok(trace.traceEvents.every((e) => e.pid !== 0 && e.tid !== 0));
    const s0 = v.slices.filter((s) => s.track === '1/1234').sort((x, y) => x.ts - y.ts || x.depth - y.depth);
    assert.deepEqual(s0.map((s) => [s.name, s.depth]), [['vfs_read', 0], ['rw_verify_area', 1], ['schedule', 0]]);
    const [outer, inner] = s0;
    assert.ok(inner.ts >= outer.ts && inner.ts + inner.dur <= outer.ts + outer.dur, 'the callee lies within its caller');
    const x = v.slices.find((s) => s.track === `2/${idle}`);
    assert.ok(x && x.name === 'schedule' && x.dur === 2.5, `X slice ${JSON.stringify(x)}`);
    const marker = v.instants.find((e) => e.cat === 'marker');
    assert.equal(marker?.s, 'g');
    assert.equal(marker?.args?.text, 'vfs_read: hello marker');
    const call = v.instants.find((e) => e.cat === 'function');
    assert.deepEqual([call?.name, call?.args?.parent, call?.pid], ['vfs_write', 'ksys_write', 2]);
  });
});

test('perfetto: the function_graph tracer\'s own records become nested slices with their durations', async () => {
  await withMachine({ cpus: 1, clock: 'virtual' }, async (m) => {
    await m.fs.write('current_tracer', 'function_graph\n');
    const rec = m.record();
    await m.run(0, new Workload().task(1234, 'bash').callGraph({ fn: 'vfs_read', durationNs: 5000, children: [{ fn: 'rw_verify_area', durationNs: 300 }] }));
    const trace = toChromeTrace(rec.stop());
    assertValid(trace);
    const s = load(trace).slices.sort((a, b) => a.depth - b.depth);
    assert.deepEqual(s.map((x) => [x.track, x.name, x.depth]), [['1/1234', 'vfs_read', 0], ['1/1234', 'rw_verify_area', 1]]);
    assert.ok(s[0].dur > s[1].dur && s[1].dur >= 0.3, JSON.stringify(s));
  });
});

test('perfetto: lost events are instants; record --perfetto and convert write the same schema-valid JSON', async () => {
  const file = join(dir, 't.dat');
  const json = join(dir, 't.json');
  const rec = await runCliCaptured(['record', '-p', 'function', '--no-activity', '--buffer-size-kb', '8', '--clock', 'virtual', '-o', file, '--perfetto', json, '-c', 'kcall -n 3000 schedule schedule_timeout']);
  assert.equal(rec.code, 0, rec.stderr);
  const fromRecord = JSON.parse(readFileSync(json, 'utf8'));
  assertValid(fromRecord);
  const conv = await runCliCaptured(['convert', file, join(dir, 'c.json')]);
  assert.equal(conv.code, 0, conv.stderr);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'c.json'), 'utf8')), fromRecord);
  const v = load(fromRecord);
  assert.ok(v.instants.some((e) => e.name === 'EVENTS DROPPED' && e.s === 'p'), 'lost events are shown');
  assert.ok(v.instants.filter((e) => e.cat === 'function').every((e) => e.name === 'schedule' && e.args?.parent === 'schedule_timeout'));
});
