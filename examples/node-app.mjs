// A Node app embedding ringtrace (plain JavaScript, no loader): `node node-app.mjs`.
// Two CPUs write, the app reads everything back in time order and prints the per-CPU stats.
import { createMachine, Workload } from 'ringtrace';

const m = await createMachine({ cpus: 2, clock: 'virtual', bufferSizeKb: 64 });
try {
  await Promise.all([
    m.run(0, new Workload().write({ size: 16, count: 200 })),
    m.run(1, new Workload().write({ size: 32, count: 100 })),
  ]);
  let events = 0;
  for (let ev = m.buffer.consumeMerged(); ev; ev = m.buffer.consumeMerged()) {
    if (events === 0) console.log(`first event: CPU ${ev.cpu} at ${ev.ts} ns, ${ev.data.length} bytes`);
    events++;
  }
  console.log(`read ${events} events`);
  console.log((await m.fs.read('per_cpu/cpu1/stats')).trim());
} finally {
  await m.close(); // ends every CPU worker: the process exits by itself
}
