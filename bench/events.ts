// The event layer's embedding figure: a user event with three fields written from the main thread
// through its typed writer (UserEvent.writer: the enable check, the fields into a reusable record, one
// call into Wasm through the tracepoint), against Writer.write() of the same bytes in the same run.
// Timed on the writing thread with performance.now() over batches of calls, after a warm-up batch.
//
//   embed.user_event        ns/event  typed writer, u32 + u32 + u64 fields (a 24-byte entry)
//   embed.raw_write         ns/event  Writer.write() of the same 24 bytes
//   embed.user_event.ratio  x         the two, same run
import { createMachine } from '../src/index.ts';
import { machineInfo, machineLine, measurement, type Measurement } from './stats.ts';

export interface EventsBenchOptions {
  runs: number;
  log?: (line: string) => void;
}

const CALLS = 200_000;

export async function runEventsBench(opts: EventsBenchOptions): Promise<Measurement[]> {
  const log = opts.log ?? (() => {});
  const machine = machineLine(machineInfo());
  const m = await createMachine({ cpus: 2, bufferSizeKb: 4096, clock: 'counter' });
  const typed: number[] = [];
  const raw: number[] = [];
  const ratio: number[] = [];
  try {
    log('[events 1/1] a user event through its typed writer vs Writer.write() of the same bytes');
    const ev = m.events.userEvents.register('bench_event u32 a;u32 b;u64 c');
    await m.fs.write('events/user_events/bench_event/enable', '1\n');
    const bytes = new Uint8Array(24);
    bytes.set(ev.encode({ a: 1, b: 2, c: 3 }), 8);
    new DataView(bytes.buffer).setUint16(0, ev.id, true);
    const w = m.attachWriter(0);
    try {
      const write = ev.writer(w);
      const values = { a: 1, b: 2, c: 3 };
      for (let r = 0; r < opts.runs + 1; r++) {
        let t = performance.now();
        for (let i = 0; i < CALLS; i++) write(values);
        const tTyped = ((performance.now() - t) * 1e6) / CALLS;
        t = performance.now();
        for (let i = 0; i < CALLS; i++) w.write(bytes);
        const tRaw = ((performance.now() - t) * 1e6) / CALLS;
        if (r === 0) continue; // warm-up
        typed.push(tTyped);
        raw.push(tRaw);
        ratio.push(tTyped / tRaw);
      }
      ev.release();
    } finally {
      w.release();
    }
  } finally {
    await m.close();
  }
  const how = `main thread attached as CPU 0, counter clock, overwrite mode; ${CALLS} calls per run after a warm-up run`;
  return [
    measurement('embed.user_event', 'ns/event', typed, [machine, `UserEvent.writer(): u32 a, u32 b, u64 c (24-byte entry); ${how}`]),
    measurement('embed.raw_write', 'ns/event', raw, [machine, `Writer.write() of the same 24 bytes; ${how}`]),
    measurement('embed.user_event.ratio', 'x', ratio, [machine, 'embed.user_event / embed.raw_write per run (target <= 1.5)']),
  ];
}
