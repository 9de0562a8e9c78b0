// The chaos test (issue 13): for CHAOS_MS, writers on every CPU, consuming and non-consuming readers of
// every kind, and every control operation run concurrently, chosen by a seeded generator, with no guard
// in the test: operations that collide get their errno (EBUSY, ENODEV, ...) and that is all. Checked:
//   - the host never works more than 100 ms between two turns of its event loop, and nothing blocks
//     the loop for long (StallMonitor, see MAX_STALL_MS),
//   - every trace_pipe_raw page decodes with the independent decoder, every self-checking payload
//     verifies, and each CPU's sequence numbers only grow in what consuming readers take,
//   - at the end, per buffer and CPU, the iterator, stats and consume agree, and the cpu_buffer's
//     counters add up (committed = overrun + read once drained),
//   - no RB_WARN_ON, no oops, and the process exits by itself (the machine is closed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setImmediate as tick, setTimeout as sleep } from 'node:timers/promises';
import { createMachine, Workload, RingtraceError, type RingMachine, type TraceBuffer } from '../src/index.ts';
import { checkItem, dataEvents, decodePage } from './decode.ts';

const CHAOS_MS = Number(process.env.CHAOS_MS ?? 30_000);
const SEED = Number(process.env.CHAOS_SEED ?? 0x13c4a05);
const CPUS = 4;
// The host's own work between two turns of the event loop stays under MAX_STALL_MS; and nothing blocks
// it for long (the old readers' waits on a CPU did for 9 to 52 s): the whole stall, run-queue delay
// taken off, stays under MAX_BLOCKED_MS. What lies between the two is the engine sleeping on a loaded
// machine (its GC helper threads and its futex lock wait for a core as well), measured at 100-180 ms
// with a load average of 20-28 on 2 cores.
const MAX_STALL_MS = 100;
const MAX_BLOCKED_MS = 1000;

// How long the event loop could not run a 5 ms timer, minus the time this thread was runnable but
// waited for a core (the run-queue delay in /proc/thread-self/schedstat, where Linux provides it): on a
// shared 2-core machine the scheduler alone keeps a thread off the CPU for hundreds of milliseconds, and
// that is not the host blocking. Time the thread spent asleep (a blocking wait) or computing counts.
class StallMonitor {
  maxWallMs = 0; // the longest gap between two ticks, beyond the interval
  maxOwnMs = 0; // the same, without the run-queue delay
  cpuMsOfMax = 0; // of that gap, the time the thread ran (the rest it slept: in a wait, or on the engine)
  maxCpuMs = 0; // the most the thread ran between two ticks
  private timer?: ReturnType<typeof setInterval>;
  private last = 0;
  private lastQueued = 0;
  private static readonly INTERVAL_MS = 5;

  // [ran, waited for a core] of this thread so far, in ms
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

  private lastRan = 0;

  start(): void {
    this.last = performance.now();
    [this.lastRan, this.lastQueued] = StallMonitor.schedMs();
    this.timer = setInterval(() => {
      const now = performance.now();
      const [ran, queued] = StallMonitor.schedMs();
      const gap = now - this.last - StallMonitor.INTERVAL_MS;
      this.maxWallMs = Math.max(this.maxWallMs, gap);
      const own = gap - (queued - this.lastQueued);
      this.maxCpuMs = Math.max(this.maxCpuMs, ran - this.lastRan - StallMonitor.INTERVAL_MS);
      if (own > this.maxOwnMs) {
        this.maxOwnMs = own;
        this.cpuMsOfMax = ran - this.lastRan;
      }
      this.last = now;
      this.lastQueued = queued;
      this.lastRan = ran;
    }, StallMonitor.INTERVAL_MS);
  }

  stop(): void {
    clearInterval(this.timer);
  }
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
  readonly t: Tally = { ops: new Map(), errnos: new Map(), slowest: new Map(), pages: 0, events: 0, problems: [] };
  private readonly lastSeq = new Map<string, number>();
  readonly end: number;

  constructor(readonly m: RingMachine, readonly rand: () => number) {
    this.end = performance.now() + CHAOS_MS;
  }

  get running(): boolean {
    return performance.now() < this.end;
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

  async op(name: string, fn: () => unknown): Promise<void> {
    const id = this.nextOp++;
    this.inflight.set(id, { name, since: performance.now() });
    try {
      const t0 = performance.now();
      const q0 = StallMonitor.queuedMs();
      const done = fn();
      const ms = performance.now() - t0 - (StallMonitor.queuedMs() - q0);
      if (ms > (this.t.slowest.get(name) ?? 0)) this.t.slowest.set(name, ms);
      await done;
      count(this.t.ops, name);
    } catch (err) {
      // EFAULT: an oops or a corrupted ring, never a collision
      if (!(err instanceof RingtraceError) || err.code === 'EFAULT') {
        this.t.problems.push(`${name}: ${(err as Error)?.stack ?? err}`);
        return;
      }
      count(this.t.errnos, `${name}: ${err.code}`);
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
      await this.op(action, async () => {
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

test(`chaos: writers, readers and control operations at once for ${CHAOS_MS / 1000} s (seed ${SEED})`, { timeout: CHAOS_MS + 120_000 }, async () => {
  const m = await createMachine({ cpus: CPUS, bufferSizeKb: 8 });
  const stalls = new StallMonitor();
  try {
    await m.fs.mkdir('instances/c0');
    await m.fs.mkdir('instances/ft');
        const chaos = new Chaos(m, rng(SEED));
    stalls.start();
    // every task ends soon after CHAOS_MS; an operation that never completes is a hang to report
    const all = Promise.all([
      ...[0, 1, 2, 3].map((cpu) => chaos.writer(cpu)),
      chaos.caller(),
      chaos.reader(),
      chaos.controller(),
      chaos.controller(),
    ]);
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    const hung = new Promise<string[]>((resolve) => {
      watchdog = setTimeout(() => resolve([...chaos.inflight.values()].map((o) => `${o.name} (${((performance.now() - o.since) / 1000).toFixed(0)} s)`)), CHAOS_MS + 60_000);
    });
    const stuck = await Promise.race([all.then(() => []), hung]);
    clearTimeout(watchdog);
    assert.deepEqual(stuck, [], 'operations that never completed');
    stalls.stop();
    for (const cpu of [1, 2, 3]) await m.cpuUp(cpu);
    settle(m, chaos);
    const report = {
      maxStallMs: Number(stalls.maxOwnMs.toFixed(1)),
      maxStallCpuMs: Number(stalls.cpuMsOfMax.toFixed(1)),
      maxCpuBetweenTicksMs: Number(stalls.maxCpuMs.toFixed(1)),
      maxStallWithRunQueueMs: Number(stalls.maxWallMs.toFixed(1)),
      pages: chaos.t.pages,
      events: chaos.t.events,
      ops: Object.fromEntries([...chaos.t.ops].sort()),
      refused: Object.fromEntries([...chaos.t.errnos].sort()),
      slowestSyncMs: Object.fromEntries([...chaos.t.slowest].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([k, v]) => [k, Number(v.toFixed(1))])),
    };
    console.log(`chaos report: ${JSON.stringify(report)}`);
    assert.deepEqual(chaos.t.problems, []);
    assert.ok(stalls.maxCpuMs < MAX_STALL_MS, `the host worked ${stalls.maxCpuMs.toFixed(1)} ms between two turns of the event loop`);
    assert.ok(stalls.maxOwnMs < MAX_BLOCKED_MS, `the event loop was blocked ${stalls.maxOwnMs.toFixed(1)} ms`);
    assert.ok(!m.dmesg().some((l) => /WARNING|BUG|Oops/.test(l)), m.dmesg().join('\n'));
    let controls = 0;
    for (const [name, n] of chaos.t.ops) if (!name.startsWith('read') && !name.startsWith('run') && name !== 'function calls') controls += n;
    assert.ok(controls > 100, `${controls} control operations completed`);
  } finally {
    stalls.stop();
    await m.close();
  }
});
