// The chaos test (issue 13): for CHAOS_MS, writers on every CPU, consuming and non-consuming readers of
// every kind (on the host and on CPUs), and every control operation run concurrently, chosen by a
// seeded generator, with no guard in the test: operations that collide get their errno (EBUSY, ENODEV,
// ...) and that is all. Checked:
//   - the host never blocks its event loop for MAX_BLOCKED_MS or more (StallMonitor),
//   - every trace_pipe_raw page decodes with the independent decoder, every self-checking payload
//     verifies, and each CPU's sequence numbers only grow in what consuming readers take,
//   - at the end, per buffer and CPU, the iterator, stats and consume agree, and the cpu_buffer's
//     counters add up (committed = overrun + read once drained),
//   - no RB_WARN_ON, no oops, and the process exits by itself: the run happens in a child process
//     (see CHILD_ENV), which must end on its own once its test passed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { createMachine, Workload, RingtraceError, type RingMachine, type TraceBuffer } from '../src/index.ts';
import { checkItem, dataEvents, decodePage } from './decode.ts';
import { runNodeChild } from './helpers.ts';

const CHAOS_MS = Number(process.env.CHAOS_MS ?? 30_000);
const SEED = Number(process.env.CHAOS_SEED ?? 0x13c4a05);
const CPUS = 4;
// The run goes on past CHAOS_MS until the controllers completed this many control operations, so that
// what is checked does not depend on how fast a loaded machine runs.
const MIN_CONTROLS = 200;
// Stalls are measured after this much of the run.
const WARMUP_MS = 3000;
// An operation still in flight after this long is a hang.
const HANG_MS = 60_000;
// Issue 13's bound: the host never blocks its event loop for this long (see StallMonitor).
const MAX_BLOCKED_MS = 100;

// How long the host blocked its event loop: how late a 5 ms interval timer fires (the stall), less the
// time the OS scheduler kept the runnable thread off the cores. Each late tick is taken apart with
// /proc/thread-self/schedstat (the time this thread ran, and the time it was runnable but waited for a
// core):
//   ran      the host's own work, GC included,
//   queued   the run-queue delay: not the host's doing; hundreds of ms with a load average of 20,
//   slept    the rest: a blocking wait.
// blocked = stall - queued (the host's work and its waits) stays under MAX_BLOCKED_MS.
// The run happens in a child process started with V8's --single-threaded (CHILD_FLAGS): by default
// the engine's main thread waits for its own helper threads, the scavenger's join and the queueing of
// optimising-compile jobs into the platform's worker pool (found with strace and gdb as futex waits in
// DefaultJobState::Join and NodePlatform::CallOnWorkerThread), and those threads wait for a core on a
// loaded machine: 30-150 ms of sleep on the main thread at a load average of 15. With the engine's work
// kept on the main thread, the main thread never sleeps inside a stall (slept is 0 in the report), so
// anything the host blocks on is measured, GC counted as the host's own work. PerformanceObserver's
// 'gc' entries inside each stall are reported beside it.
class StallMonitor {
  private static readonly INTERVAL_MS = 5;
  private static readonly KEEP_MS = 20; // stalls kept for the report
  readonly stalls: Stall[] = [];
  private readonly gcs: { start: number; end: number }[] = [];
  private timer?: ReturnType<typeof setInterval>;
  private observer?: PerformanceObserver;
  private last = 0;
  private lastRan = 0;
  private lastQueued = 0;

  // [ran, waited for a core] of this thread so far, in ms (zeros where Linux's schedstat is missing)
  static schedMs(): [number, number] {
    try {
      const [ran, queued] = readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ').map(Number);
      return [ran / 1e6, queued / 1e6];
    } catch {
      return [0, 0];
    }
  }

  static queuedMs(): number {
    return StallMonitor.schedMs()[1];
  }

  start(): void {
    this.observer = new PerformanceObserver((list) => this.addGcs(list.getEntries()));
    this.observer.observe({ entryTypes: ['gc'] });
    this.last = performance.now();
    [this.lastRan, this.lastQueued] = StallMonitor.schedMs();
    this.timer = setInterval(() => {
      const now = performance.now();
      const [ran, queued] = StallMonitor.schedMs();
      const ms = now - this.last - StallMonitor.INTERVAL_MS;
      if (ms > StallMonitor.KEEP_MS) {
        this.stalls.push({ from: this.last, to: now, ms, ran: ran - this.lastRan, queued: queued - this.lastQueued, gc: 0, blocked: 0 });
      }
      this.last = now;
      this.lastQueued = queued;
      this.lastRan = ran;
    }, StallMonitor.INTERVAL_MS);
  }

  private addGcs(entries: PerformanceEntryList): void {
    for (const e of entries) this.gcs.push({ start: e.startTime, end: e.startTime + e.duration });
  }

  // Stops, and works out each stall's GC time and blocked time.
  stop(): void {
    clearInterval(this.timer);
    if (this.observer) {
      this.addGcs(this.observer.takeRecords());
      this.observer.disconnect();
      this.observer = undefined;
    }
    for (const s of this.stalls) {
      s.gc = 0;
      for (const c of this.gcs) s.gc += Math.max(0, Math.min(c.end, s.to) - Math.max(c.start, s.from));
      s.blocked = Math.max(0, s.ms - Math.max(s.queued, s.gc));
    }
  }

  worst(key: 'ms' | 'ran' | 'gc' | 'blocked'): Stall | undefined {
    return this.stalls.reduce<Stall | undefined>((w, s) => (!w || s[key] > w[key] ? s : w), undefined);
  }
}

interface Stall {
  from: number; // the tick before, performance.now()
  to: number; // the late tick
  ms: number; // how late
  ran: number;
  queued: number;
  gc: number; // GC pause time inside it
  blocked: number; // by the host: ms - max(queued, gc)
}

// mulberry32: the same sequence of choices for a seed
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// What the run saw, for the report and the assertions.
interface Tally {
  ops: Map<string, number>; // completed operations by name
  errnos: Map<string, number>; // refused operations by "name: ERRNO"
  slowest: Map<string, number>; // the longest synchronous part of each operation, ms (without run-queue delay)
  syncParts: { name: string; from: number; to: number }[]; // synchronous parts over 10 ms, for the stalls' report
  pages: number;
  events: number;
  problems: string[];
}

function count(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

// Buffers whose CPUs write self-checking items (the function tracer's instance writes function events).
const ITEM_BUFFERS = ['global', 'c0', 'c1', 'c2'];

class Chaos {
  readonly t: Tally = { ops: new Map(), errnos: new Map(), slowest: new Map(), syncParts: [], pages: 0, events: 0, problems: [] };
  private readonly lastSeq = new Map<string, number>();
  readonly end: number;

  constructor(readonly m: RingMachine, readonly rand: () => number) {
    this.end = performance.now() + CHAOS_MS;
  }

  controls = 0; // control operations completed

  get running(): boolean {
    return performance.now() < this.end || this.controls < MIN_CONTROLS;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rand() * xs.length)];
  }

  // The buffers of live instances (and the top level) that carry items, and their tracefs prefixes.
  itemBuffers(): { tb: TraceBuffer; dir: string }[] {
    const out = [{ tb: this.m.buffer, dir: '' }];
    for (const [name, tb] of this.m.instances) if (ITEM_BUFFERS.includes(name)) out.push({ tb, dir: `instances/${name}/` });
    return out;
  }

  // An operation: done, or refused with a RingtraceError (its errno counted); anything else is a bug.
  // operations in flight, for the report of a hang
  readonly inflight = new Map<number, { name: string; since: number }>();
  private nextOp = 0;

  async op(name: string, fn: () => unknown): Promise<boolean> {
    const id = this.nextOp++;
    this.inflight.set(id, { name, since: performance.now() });
    try {
      const t0 = performance.now();
      const q0 = StallMonitor.queuedMs();
      const done = fn();
      const t1 = performance.now();
      const ms = t1 - t0 - (StallMonitor.queuedMs() - q0);
      if (ms > (this.t.slowest.get(name) ?? 0)) this.t.slowest.set(name, ms);
      if (ms > 10) this.t.syncParts.push({ name, from: t0, to: t1 });
      await done;
      count(this.t.ops, name);
      return true;
    } catch (err) {
      // EFAULT: an oops or a corrupted ring, never a collision
      if (!(err instanceof RingtraceError) || err.code === 'EFAULT') this.t.problems.push(`${name}: ${(err as Error)?.stack ?? err}`);
      else count(this.t.errnos, `${name}: ${err.code}`);
      return false;
    } finally {
      this.inflight.delete(id);
    }
  }

  // A consumed self-checking item: it verifies, and its CPU's sequence grows in this buffer.
  consumed(tb: TraceBuffer, cpu: number, data: Uint8Array): void {
    this.t.events++;
    const item = checkItem(data, cpu);
    if (typeof item === 'string') {
      this.t.problems.push(`${tb.name} CPU ${cpu}: ${item}`);
      return;
    }
    const key = `${tb.id}/${cpu}`;
    const last = this.lastSeq.get(key);
    if (last !== undefined && item.seq <= last) this.t.problems.push(`${tb.name} CPU ${cpu}: seq ${item.seq} after ${last}`);
    this.lastSeq.set(key, item.seq);
  }

  // A writer CPU: short stress runs into a random buffer, again and again.
  async writer(cpu: number): Promise<void> {
    let seed = cpu * 1000;
    while (this.running) {
      const { tb } = this.pick(this.itemBuffers());
      const w = new Workload().stress({ seed: ++seed, maxSize: 120, nestPercent: 10, count: 2000 + Math.floor(this.rand() * 20000), buffer: tb });
      await this.op(`run on CPU ${cpu}`, () => this.m.run(cpu, w));
      if (!this.m.onlineCpus().includes(cpu)) await sleep(5);
      await tick();
    }
  }

  // The function tracer's instance: calls on one CPU while the tracer and filters change under it.
  async caller(): Promise<void> {
    while (this.running) {
      const w = new Workload().call('schedule', { count: 500 }).call('vfs_write', { count: 500 });
      await this.op('function calls', () => this.m.run(this.pick([0, 1, 2, 3]), w));
      await sleep(1);
    }
  }

  // A reader on a CPU: ring_buffer_read_page() of another CPU's buffer (the readPages workload) for a
  // while, sharing that CPU buffer's reader lock with the host's readers.
  async pageReader(): Promise<void> {
    while (this.running) {
      const { tb } = this.pick(this.itemBuffers());
      const w = new Workload().readPages({ cpu: this.pick([0, 1, 2, 3]), buffer: tb });
      await this.op('read pages on a CPU', () => this.m.run(this.pick([0, 1, 2, 3]), w, { durationMs: 10 + this.rand() * 90 }));
      await sleep(this.rand() * 50);
    }
  }

  // Readers of every kind, consuming and not, on every buffer, one after the other; all synchronous,
  // between them the event loop turns.
  async reader(): Promise<void> {
    const fs = this.m.fs;
    while (this.running) {
      const { tb, dir } = this.pick(this.itemBuffers());
      const cpu = this.pick([0, 1, 2, 3]);
      const kind = this.pick(['trace', 'per_cpu trace', 'trace_pipe', 'raw', 'stats', 'consume', 'iterate', 'peek', 'ft trace']);
      await this.op(`read ${kind}`, () => {
        if (kind === 'trace') fs.read(`${dir}trace`);
        else if (kind === 'per_cpu trace') fs.read(`${dir}per_cpu/cpu${cpu}/trace`);
        else if (kind === 'trace_pipe') fs.read(`${dir}trace_pipe`);
        else if (kind === 'stats') fs.read(`${dir}per_cpu/cpu${cpu}/stats`);
        else if (kind === 'ft trace') fs.read('instances/ft/trace');
        else if (kind === 'raw') this.raw(tb, dir, cpu);
        else if (kind === 'consume') {
          for (let i = 0; i < 200; i++) {
            const e = tb.consume(cpu);
            if (!e) break;
            this.consumed(tb, cpu, e.data);
          }
        } else if (kind === 'peek') tb.peek(cpu);
        else {
          let n = 0;
          for (const e of tb.iterate(cpu)) {
            const item = checkItem(e.data, cpu);
            if (typeof item === 'string') this.t.problems.push(`${tb.name} iterate CPU ${cpu}: ${item}`);
            if (++n === 500) break;
          }
        }
      });
      await tick();
    }
  }

  private raw(tb: TraceBuffer, dir: string, cpu: number): void {
    const bytes = this.m.fs.readBinary(`${dir}per_cpu/cpu${cpu}/trace_pipe_raw`);
    const size = tb.subbufSize;
    if (bytes.byteLength % size) this.t.problems.push(`${tb.name} CPU ${cpu}: trace_pipe_raw gave ${bytes.byteLength} bytes, not whole ${size}-byte pages`);
    for (let off = 0; off + size <= bytes.byteLength; off += size) {
      this.t.pages++;
      const page = decodePage(bytes.subarray(off, off + size));
      for (const e of dataEvents(page)) this.consumed(tb, cpu, e.data);
    }
  }

  // Every control operation, concurrently with everything else (tracefs serialises writes like
  // trace_types_lock; the direct API calls do not go through it).
  async controller(): Promise<void> {
    const { m } = this;
    const fs = m.fs;
    while (this.running) {
      const { tb, dir } = this.pick(this.itemBuffers());
      const action = this.pick([
        'resize', 'resize api', 'resize cpu', 'subbuf', 'clock', 'tracing_on', 'overwrite', 'hotplug', 'mkdir', 'rmdir', 'rmdir busy',
        'filter', 'tracer', 'trace reset',
      ]);
      const cpu = this.pick([1, 2, 3]);
      const done = await this.op(action, async () => {
        if (action === 'resize') await fs.write(`${dir}buffer_size_kb`, `${this.pick([8, 12, 16, 24])}\n`);
        else if (action === 'resize api') await tb.resize(this.pick([8, 16, 24]) * 1024);
        else if (action === 'resize cpu') await fs.write(`${dir}per_cpu/cpu${cpu}/buffer_size_kb`, `${this.pick([8, 12, 20])}\n`);
        else if (action === 'subbuf') await fs.write(`${dir}buffer_subbuf_size_kb`, `${this.pick([4, 8])}\n`);
        else if (action === 'clock') await fs.write(`${dir}trace_clock`, `${this.pick(['local', 'global', 'counter'])}\n`);
        else if (action === 'tracing_on') await fs.write(`${dir}tracing_on`, `${this.pick([0, 1, 1])}\n`);
        else if (action === 'overwrite') await fs.write(`${dir}options/overwrite`, `${this.pick([0, 1, 1])}\n`);
        else if (action === 'hotplug') {
          if (m.onlineCpus().includes(cpu)) await m.cpuDown(cpu);
          else await m.cpuUp(cpu);
        } else if (action === 'mkdir') await fs.mkdir(`instances/${this.pick(['c0', 'c1', 'c2'])}`);
        else if (action === 'rmdir') await fs.rmdir(`instances/${this.pick(['c0', 'c1', 'c2'])}`);
        else if (action === 'rmdir busy') {
          const name = this.pick(['c0', 'c1', 'c2']);
          const pipe = fs.open(`instances/${name}/trace_pipe`);
          try {
            await fs.rmdir(`instances/${name}`);
            this.t.problems.push(`rmdir of ${name} succeeded with its trace_pipe open`);
          } finally {
            await pipe.close();
          }
        } else if (action === 'filter') {
          await fs.write('instances/ft/set_ftrace_filter', `${this.pick(['schedule', 'vfs_*', '*sched*', ''])}\n`);
        } else if (action === 'tracer') await fs.write('instances/ft/current_tracer', `${this.pick(['function', 'nop'])}\n`);
        else await fs.write(`${dir}trace`, '\n');
      });
      if (done) this.controls++;
      await sleep(this.rand() * 20);
    }
  }
}

// After the run, with nothing writing: per buffer and CPU the readers agree and the counters add up.
function settle(m: RingMachine, chaos: Chaos): void {
  for (const { tb } of chaos.itemBuffers()) {
    for (const cpu of tb.bufferCpus()) {
      const s = tb.stats(cpu);
      const where = `${tb.name} CPU ${cpu}`;
      const warnings = [...new Set(m.dmesg().filter((l) => l.includes('WARNING')).map((l) => l.replace(/^\[[ .\d]+\] /, '')))];
      assert.equal(s.warnings, 0, `${where}: RB_WARN_ON: ${warnings.join('; ')}`);
      const iterated = [...tb.iterate(cpu)].length;
      assert.equal(iterated, s.entries, `${where}: the iterator sees stats' entries`);
      let consumed = 0;
      for (let e = tb.consume(cpu); e; e = tb.consume(cpu)) {
        chaos.consumed(tb, cpu, e.data);
        consumed++;
      }
      assert.equal(consumed, s.entries, `${where}: consume takes stats' entries`);
      const after = tb.stats(cpu);
      assert.equal(after.entries, 0, `${where}: drained`);
      assert.equal(tb.written(cpu), after.overrun + after.readEvents, `${where}: committed = overrun + read`);
    }
  }
}

async function chaosRun(): Promise<void> {
  const m = await createMachine({ cpus: CPUS, bufferSizeKb: 8 });
  const stalls = new StallMonitor();
  let warm: ReturnType<typeof setTimeout> | undefined;
  try {
    await m.fs.mkdir('instances/c0');
    await m.fs.mkdir('instances/ft');
    const chaos = new Chaos(m, rng(SEED));
    // measured from the end of the warm-up: the first seconds include the engine compiling the host's
    // code and the Wasm module's optimised tier, on the main thread with --single-threaded
    warm = setTimeout(() => stalls.start(), WARMUP_MS);
    // every task ends after CHAOS_MS and MIN_CONTROLS; an operation in flight for a minute is a hang
    const all = Promise.all([
      ...[0, 1, 2, 3].map((cpu) => chaos.writer(cpu)),
      chaos.caller(),
      chaos.pageReader(),
      chaos.reader(),
      chaos.controller(),
      chaos.controller(),
    ]);
    let watchdog: ReturnType<typeof setInterval> | undefined;
    const hung = new Promise<string[]>((resolve) => {
      watchdog = setInterval(() => {
        const old = [...chaos.inflight.values()].filter((o) => performance.now() - o.since > HANG_MS);
        if (old.length) resolve(old.map((o) => `${o.name} (${((performance.now() - o.since) / 1000).toFixed(0)} s)`));
      }, 1000);
    });
    const stuck = await Promise.race([all.then(() => []), hung]);
    clearInterval(watchdog);
    assert.deepEqual(stuck, [], 'operations that never completed');
    clearTimeout(warm);
    stalls.stop();
    for (const cpu of [1, 2, 3]) await m.cpuUp(cpu);
    settle(m, chaos);
    const round = (x: number | undefined) => Number((x ?? 0).toFixed(1));
    const stall = (x: Stall | undefined) =>
      x && {
        ms: round(x.ms), ran: round(x.ran), queued: round(x.queued), slept: round(Math.max(0, x.ms - x.ran - x.queued)), gc: round(x.gc), blocked: round(x.blocked),
        ops: chaos.t.syncParts.filter((p) => p.to > x.from && p.from < x.to).map((p) => `${p.name} ${round(p.to - p.from)}`),
      };
    const report = {
      worstBlocked: stall(stalls.worst('blocked')),
      worstStall: stall(stalls.worst('ms')),
      mostRan: stall(stalls.worst('ran')),
      mostSlept: stall(stalls.stalls.reduce<Stall | undefined>((w, s) => (!w || s.ms - s.ran - s.queued > w.ms - w.ran - w.queued ? s : w), undefined)),
      longestGc: stall(stalls.worst('gc')),
      stallsOver20Ms: stalls.stalls.length,
      loadAverage: loadavg().map((x) => round(x)),
      pages: chaos.t.pages,
      events: chaos.t.events,
      ops: Object.fromEntries([...chaos.t.ops].sort()),
      refused: Object.fromEntries([...chaos.t.errnos].sort()),
      slowestSyncMs: Object.fromEntries([...chaos.t.slowest].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([k, v]) => [k, Number(v.toFixed(1))])),
    };
    console.log(`chaos report: ${JSON.stringify(report)}`);
    assert.deepEqual(chaos.t.problems, []);
    const worst = stalls.worst('blocked');
    assert.ok(!worst || worst.blocked < MAX_BLOCKED_MS, `the host blocked its event loop: ${JSON.stringify(stall(worst))}`);
    assert.ok(!m.dmesg().some((l) => /WARNING|BUG|Oops/.test(l)), m.dmesg().join('\n'));
  } finally {
    clearTimeout(warm);
    stalls.stop();
    await m.close();
  }
}

// The child process runs the chaos; the parent test starts it and checks that it passed and ended.
const CHILD_ENV = 'RINGTRACE_CHAOS_CHILD';
const CHILD_FLAGS = ['--single-threaded'];
// After its test passed, the child has this long to exit by itself (its machine is closed, nothing is
// left running); a hang guard, not a timing: an exit takes milliseconds.
const EXIT_MS = 30_000;
const TITLE = `chaos: writers, readers and control operations at once for ${CHAOS_MS / 1000} s (seed ${SEED})`;

if (process.env[CHILD_ENV]) {
  test(TITLE, { timeout: CHAOS_MS + 300_000 }, chaosRun);
} else {
  test(`${TITLE}, in a child process that exits by itself`, { timeout: CHAOS_MS + 300_000 + EXIT_MS }, async () => {
    const { code, out, hung } = await runNodeChild(fileURLToPath(import.meta.url), {
      flags: CHILD_FLAGS,
      env: { [CHILD_ENV]: '1' },
      done: /^# pass 1$/m, // node:test's summary: the test is over, the process must end by itself now
      exitMs: EXIT_MS,
      timeoutMs: CHAOS_MS + 300_000,
    });
    const report = out.match(/chaos report: .*/)?.[0];
    if (report) console.log(report);
    assert.ok(!hung, `the chaos process did not end by itself:\n${out}`);
    assert.equal(code, 0, out);
  });
}
