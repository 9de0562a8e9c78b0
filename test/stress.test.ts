// The ring-buffer stress test, modelled on the kernel's CONFIG_RING_BUFFER_STARTUP_TEST
// (test_ringbuffer() / rb_test() / rb_write_something() / rb_hammer_test() in kernel/trace/ring_buffer.c):
// every online CPU writes self-checking events of random sizes, some of them nested inside others from
// higher interrupt contexts (the kernel's IPI hammer), a given number of them, while a reader consumes
// concurrently. Afterwards every consumed payload is verified and the counters must add up:
//   - the kernel's own check: total_lost + total_read == total_events (lost as ring_buffer_consume()
//     reports it), and in overwrite mode no reserve fails (RB_WARN_ON(buffer, total_dropped));
//   - per CPU, overwrite: written = read + overrun + entries (rb_num_of_entries(): entries is
//     cpu_buffer->entries - (overrun + read)), and after draining, the lost counts add up to overrun;
//   - per CPU, producer/consumer: written = read + entries, nothing overrun, and every refused reserve
//     is a dropped event (rb_move_tail(): dropped_events when the next page is the head page).
// The payload (assembly/workload.ts, after struct rb_item): u32 size, u32 per-CPU sequence number,
// u32 cpu, then bytes (seq + i) & 0xff. Sequence numbers are taken in reserve order, which is buffer
// order, so per CPU they strictly increase in what is read, and a gap is exactly the events lost there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMachine, Workload, type RingMachine, type WorkloadResult } from '../src/index.ts';
import { decodePage, checkItem } from './decode.ts';

// Top-level events per CPU (nested ones come on top): the writers stop on a count, not on time, so
// what the tests check does not depend on how fast the machine runs.
const COUNT = 200_000;
const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

interface CpuReadState {
  read: number; // events read
  lost: number; // lost events reported by the readers
  lastSeq: number;
  gapMismatches: string[]; // where a sequence gap and the reported loss disagree
  unknownLoss: number; // pages with RB_MISSED_EVENTS but no stored count
  errors: string[];
}

function newState(): CpuReadState {
  return { read: 0, lost: 0, lastSeq: -1, gapMismatches: [], unknownLoss: 0, errors: [] };
}

// One event read from `cpu`, with the loss the reader reported before it (null: lost, count unknown).
function account(st: CpuReadState, cpu: number, data: Uint8Array, lost: number | null): void {
  const item = checkItem(data, cpu);
  if (typeof item === 'string') {
    if (st.errors.length < 5) st.errors.push(item);
    return;
  }
  if (item.seq <= st.lastSeq && st.errors.length < 5) st.errors.push(`CPU ${cpu}: seq ${item.seq} after ${st.lastSeq}`);
  const gap = item.seq - st.lastSeq - 1;
  if (lost === null) {
    if (gap <= 0 && st.gapMismatches.length < 5) st.gapMismatches.push(`seq ${item.seq}: missed events flagged, no gap`);
    st.unknownLoss++;
    st.lost += gap;
  } else {
    if (gap !== lost && st.gapMismatches.length < 5) st.gapMismatches.push(`seq ${st.lastSeq} -> ${item.seq} with lost ${lost}`);
    st.lost += lost;
  }
  st.lastSeq = item.seq;
  st.read++;
}

// A page from ring_buffer_read_page(), decoded independently: its loss goes with its first event.
function accountPage(st: CpuReadState, cpu: number, raw: Uint8Array): void {
  const page = decodePage(raw);
  let lost: number | null = page.missedStored ? page.missedCount! : page.missedEvents ? null : 0;
  for (const ev of page.events) {
    if (ev.type !== 'data') continue;
    account(st, cpu, ev.data, lost);
    lost = 0;
  }
}

interface StressRun {
  results: WorkloadResult[];
  states: CpuReadState[];
}

// Run the stress workload on every online CPU, COUNT top-level events each (`count` overrides it),
// while `reader` reads in slices of about 20 ms with the event loop running in between.
// `reader(states)` reads one bounded batch per call and returns false when it must stop reading
// (the buffer reported RB_WARN_ON: recording is off and the readers would wait on a stuck writer).
// The caller drains what is left (drainConsume).
async function stress(
  m: RingMachine,
  opts: { maxSize: number; nestPercent: number; count?: number },
  reader: (states: CpuReadState[]) => boolean,
  states: CpuReadState[] = m.onlineCpus().map(() => newState()),
): Promise<StressRun> {
  const cpus = m.onlineCpus();
  let done = false;
  const runs = Promise.all(
    cpus.map((cpu) =>
      m.run(cpu, new Workload().stress({ seed: 0x9e3779b9 ^ (cpu * 7919 + 1), maxSize: opts.maxSize, nestPercent: opts.nestPercent, count: opts.count ?? COUNT })),
    ),
  ).finally(() => {
    done = true;
  });
  let readersOk = true;
  while (!done) {
    const until = performance.now() + 20;
    while (readersOk && performance.now() < until) readersOk = reader(states);
    await yieldToLoop();
  }
  const results = await runs;
  assert.ok(readersOk && m.buffer.recordIsOn, `RB_WARN_ON while the writers ran:\n${m.dmesg().join('\n')}`);
  return { results, states };
}

function drainConsume(m: RingMachine, run: StressRun): void {
  for (const cpu of m.onlineCpus()) {
    for (let e = m.buffer.consume(cpu); e; e = m.buffer.consume(cpu)) account(run.states[cpu], cpu, e.data, e.lost);
  }
}

// RB_WARN_ON() turns recording off for the whole buffer (ring_buffer_record_disable()); once that
// happened, readers may wait on a writer that will never finish its page, so the readers stop. Read
// without asking the CPUs for anything (recordIsOn is a plain load of record_disabled).
function healthy(m: RingMachine): boolean {
  return m.buffer.recordIsOn;
}

function consumeBatch(m: RingMachine, states: CpuReadState[], n = 200): boolean {
  for (let i = 0; i < n && healthy(m); i++) {
    const e = m.buffer.consumeMerged();
    if (!e) break;
    account(states[e.cpu], e.cpu, e.data, e.lost);
  }
  return healthy(m);
}

function checkPayloads(run: StressRun): void {
  run.states.forEach((st, cpu) => {
    assert.deepEqual(st.errors, [], `CPU ${cpu}: every consumed payload verifies`);
    assert.ok(st.read > 0, `CPU ${cpu} read something`);
  });
}

test('stress, overwrite mode: 2 CPUs write nested random-size events while the main thread consumes', { timeout: 60_000 }, async () => {
  const m = await createMachine({ cpus: 2, bufferSizeKb: 64, overwrite: true });
  try {
    const run = await stress(m, { maxSize: 300, nestPercent: 20 }, (states) => consumeBatch(m, states));
    drainConsume(m, run);
    checkPayloads(run);
    for (const cpu of [0, 1]) {
      const res = run.results[cpu];
      const st = run.states[cpu];
      const s = m.buffer.stats(cpu);
      assert.equal(res.written - res.nested, COUNT, `CPU ${cpu} wrote every top-level event`);
      assert.ok(res.nested > 0, `CPU ${cpu} wrote nested events`);
      // RB_WARN_ON(buffer, total_dropped): nothing is refused in overwrite mode
      assert.equal(res.failed, 0, `CPU ${cpu}: failed reserves`);
      assert.equal(s.droppedEvents, 0);
      assert.equal(m.buffer.written(cpu), res.written, `CPU ${cpu}: cpu_buffer->entries counts every commit`);
      assert.equal(s.entries, 0, `CPU ${cpu}: drained`);
      assert.equal(s.readEvents, st.read, `CPU ${cpu}: read counter`);
      assert.equal(s.readEvents + s.overrun + s.entries, res.written, `CPU ${cpu}: written = read + overrun + entries`);
      // the kernel's check: total_lost + total_read == total_events
      assert.equal(st.lost + st.read, res.written, `CPU ${cpu}: lost + read = written`);
      assert.equal(st.lost, s.overrun, `CPU ${cpu}: the reported losses add up to overrun`);
      assert.deepEqual(st.gapMismatches, [], `CPU ${cpu}: each loss is reported where it happened`);
      assert.equal(s.warnings, 0, `CPU ${cpu}: RB_WARN_ON hits`);
    }
  } finally {
    await m.close();
  }
});

test('stress, producer/consumer mode: dropped events are the refused reserves; nothing read is lost', { timeout: 60_000 }, async () => {
  const m = await createMachine({ cpus: 2, bufferSizeKb: 32, overwrite: false });
  try {
    const concurrent = await stress(m, { maxSize: 200, nestPercent: 10 }, (states) => consumeBatch(m, states, 100));
    // then more than the buffer holds with nobody reading: reserves are refused (dropped events)
    const unread = await stress(m, { maxSize: 200, nestPercent: 10, count: 5000 }, () => true, concurrent.states);
    const run: StressRun = {
      states: concurrent.states,
      results: concurrent.results.map((r, cpu) => {
        const u = unread.results[cpu];
        return { written: r.written + u.written, failed: r.failed + u.failed, nested: r.nested + u.nested, bytes: r.bytes + u.bytes, pages: 0 };
      }),
    };
    drainConsume(m, run);
    checkPayloads(run);
    for (const cpu of [0, 1]) {
      const res = run.results[cpu];
      const st = run.states[cpu];
      const s = m.buffer.stats(cpu);
      assert.ok(unread.results[cpu].failed > 0, `CPU ${cpu}: writing past a full buffer refused reserves`);
      assert.equal(s.overrun, 0, `CPU ${cpu}: nothing is overwritten`);
      assert.equal(st.lost, 0, `CPU ${cpu}: no losses reported to the reader`);
      // a refused reserve takes no sequence number: what was read is gapless
      assert.deepEqual(st.gapMismatches, [], `CPU ${cpu}: sequence numbers without gaps`);
      assert.equal(st.lastSeq + 1, res.written, `CPU ${cpu}: the last event read is the last written`);
      assert.equal(m.buffer.written(cpu), res.written);
      assert.equal(s.entries, 0);
      assert.equal(s.readEvents, st.read);
      assert.equal(s.readEvents + s.entries, res.written, `CPU ${cpu}: written = read + entries`);
      assert.equal(s.droppedEvents, res.failed, `CPU ${cpu}: dropped events = refused reserves`);
      assert.equal(s.warnings, 0);
    }
  } finally {
    await m.close();
  }
});

test('stress with a second reader: read_page pages and consumed events interleave on both CPUs', { timeout: 60_000 }, async () => {
  const m = await createMachine({ cpus: 2, bufferSizeKb: 128, overwrite: true });
  try {
    let pages = 0;
    let round = 0;
    const run = await stress(m, { maxSize: 500, nestPercent: 15 }, (states) => {
      round++;
      // stop before a reader waits on a writer that RB_WARN_ON stopped
      if (!healthy(m)) return false;
      // the consuming reader: a batch of events from each CPU
      for (const cpu of [0, 1]) {
        for (let i = 0; i < 100 && healthy(m); i++) {
          const e = m.buffer.consume(cpu);
          if (!e) break;
          account(states[cpu], cpu, e.data, e.lost);
        }
      }
      // the page reader (trace_pipe_raw): whole pages, decoded independently; on CPU 1 every round,
      // on CPU 0 every other round
      for (const cpu of round % 2 ? [1] : [0, 1]) {
        for (let i = 0; i < 4 && healthy(m); i++) {
          const raw = m.buffer.readPage(cpu);
          if (!raw) break;
          pages++;
          accountPage(states[cpu], cpu, raw);
          if (!healthy(m)) return false;
        }
      }
      return true;
    });
    // the page reader takes what is left first, then the consuming reader
    for (const cpu of [0, 1]) {
      for (let raw = m.buffer.readPage(cpu); raw; raw = m.buffer.readPage(cpu)) {
        pages++;
        accountPage(run.states[cpu], cpu, raw);
      }
    }
    drainConsume(m, run);
    checkPayloads(run);
    assert.ok(pages > 0, 'pages were read');
    for (const cpu of [0, 1]) {
      const res = run.results[cpu];
      const st = run.states[cpu];
      const s = m.buffer.stats(cpu);
      assert.equal(res.failed, 0);
      assert.equal(m.buffer.written(cpu), res.written);
      assert.equal(s.entries, 0);
      assert.equal(s.readEvents, st.read, `CPU ${cpu}: events read by both readers`);
      assert.equal(s.readEvents + s.overrun + s.entries, res.written, `CPU ${cpu}: written = read + overrun + entries`);
      assert.equal(st.lost + st.read, res.written, `CPU ${cpu}: lost + read = written`);
      assert.deepEqual(st.gapMismatches, [], `CPU ${cpu}: losses reported where they happened`);
      assert.equal(s.warnings, 0);
    }
  } finally {
    await m.close();
  }
});
