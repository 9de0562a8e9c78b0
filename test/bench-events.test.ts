// The event layer's bench figure: `ringtrace bench --only 'embed.user_event*'` measures the typed user
// event writer and Writer.write() of the same bytes, and reports their ratio against the 1.5x
// target. Only the figures' presence and definitions are checked, never their values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { runCliCaptured } from './helpers.ts';

test('bench: embed.user_event, its raw twin and their ratio are in the JSON run', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ringtrace-bench-events-'));
  try {
    const file = join(dir, 'run.json');
    const r = await runCliCaptured(['bench', '--only', 'embed.user_event*', '--duration', '200', '--runs', '1', '--json', file]);
    assert.equal(r.code, 0, r.stderr);
    const run = JSON.parse(readFileSync(file, 'utf8')) as { name: string; unit: string; direction: string; target?: number; value: number; extra: string }[];
    const by = new Map(run.map((f) => [f.name, f]));
    for (const name of ['embed.user_event', 'embed.user_event.raw']) {
      const f = by.get(name);
      assert.ok(f, name);
      assert.equal(f.unit, 'ns/event');
      assert.equal(f.direction, 'smaller');
      assert.ok(Number.isFinite(f.value) && f.value > 0, name);
    }
    assert.match(by.get('embed.user_event')!.extra, /UserEvent\.writer\(\)/);
    const ratio = by.get('embed.user_event.ratio');
    assert.ok(ratio);
    assert.equal(ratio.unit, 'x');
    assert.equal(ratio.target, 1.5);
    assert.equal(ratio.direction, 'smaller');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
