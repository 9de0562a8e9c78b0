// A Deno app embedding ringtrace: `deno run --allow-read deno-app.ts` (with the package installed in
// node_modules: add --node-modules-dir=manual). Deno needs read access to the package's Wasm module only.
import { createMachine, Workload, type TraceEvent } from 'ringtrace';

const m = await createMachine({ cpus: 2, clock: 'counter', bufferSizeKb: 64 });
try {
  await m.fs.write('current_tracer', 'function\n');
  await m.run(1, new Workload().call('schedule', { count: 5 }).write({ size: 8, count: 3 }));
  const events: TraceEvent[] = [...m.buffer.iterate(1)];
  console.log(`CPU 1 recorded ${events.length} events`);
  console.log((await m.fs.read('trace')).split('\n').filter((l) => !l.startsWith('#')).slice(0, 3).join('\n'));
} finally {
  await m.close();
}
