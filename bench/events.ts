// The event layer's embedding figure (issue 10): a user event with three fields written from the main
// thread through its typed writer (UserEvent.writer: the enable check, the fields encoded into the
// writer's scratch area, one call into Wasm through the tracepoint), against Writer.write() of the same
// 24 bytes (struct trace_entry and the fields) in the same sample. One call per event, counter clock,
// overwrite mode, timed with performance.now() on the writing thread; embed.user_event.ratio is the two,
// sample by sample.
import { createMachine } from '../src/index.ts';
import type { BenchContext, OpenSuite, Suite } from './suite.ts';

const now = () => performance.now();
const DEFINITION = 'bench_event u32 a;u32 b;u64 c';

export const eventsSuite: Suite = {
  name: 'events',
  figures: ['embed.user_event', 'embed.user_event.raw'],
  open: openEvents,
};

async function openEvents(ctx: BenchContext): Promise<OpenSuite> {
  const m = await createMachine({ cpus: 2, clock: 'counter', bufferSizeKb: 1024, overwrite: true });
  const ev = m.events.userEvents.register(DEFINITION);
  await m.fs.write(`events/user_events/${ev.name}/enable`, '1\n');
  const values = { a: 1, b: 2, c: 3 };
  // the record the typed writer builds, as raw bytes: common_type, then the fields after trace_entry
  const bytes = new Uint8Array(8 + ev.minSize);
  new DataView(bytes.buffer).setUint16(0, ev.id, true);
  bytes.set(ev.encode(values), 8);

  // ms per loop kind; returns ns/event of each
  const one = (ms: number): Record<string, number> => {
    const w = m.attachWriter(0);
    const write = ev.writer(w);
    try {
      const loop = (call: () => boolean): number => {
        let n = 0;
        const t0 = now();
        let t = t0;
        do {
          for (let k = 0; k < 2048; k++) if (call()) n++;
          t = now();
        } while (t - t0 < ms);
        return ((t - t0) * 1e6) / n;
      };
      return {
        'embed.user_event': loop(() => write(values)),
        'embed.user_event.raw': loop(() => w.write(bytes)),
      };
    } finally {
      ev.release();
      w.release();
    }
  };
  const how = 'from the main thread attached as CPU 0 (RingMachine.attachWriter), one call per event, counter clock, overwrite mode; timed with performance.now()';
  return {
    phases: [{
      label: `embed.user_event: UserEvent.writer() of "${DEFINITION}" vs Writer.write() of the same ${bytes.length} bytes`,
      figures: ['embed.user_event', 'embed.user_event.raw'],
      slots: 2,
      warm: async (ms) => void one(ms),
      sample: async (ms) => one(ms),
      extra: (f) => [
        f === 'embed.user_event'
          ? `UserEvent.writer() of a user event "${DEFINITION}" (a ${bytes.length}-byte entry) enabled in the top-level trace_array, values { a: 1, b: 2, c: 3 }, ${how}`
          : `Writer.write() of the same ${bytes.length} bytes the typed writer records, ${how}`,
        ctx.runsLine, ctx.machineLine,
      ],
    }],
    close: () => m.close(),
  };
}
