// The in-run calibration: one fixed workload in Wasm and the same in JavaScript, both on the main
// thread. Their speed follows the machine and the engine only, so the gate compares machine-speed
// dependent figures as ratios to them (bench/figures.ts) and a slower CI machine is not a regression.
import { createMachine } from '../src/index.ts';
import type { BenchContext, OpenSuite, Phase, Suite } from './suite.ts';

const CALL = 1 << 16; // iterations per call: short calls, so V8 optimises the Wasm loop early
const CALLS = 64;

// the JavaScript twin of calibrationLoop in assembly/bench_floor.ts
function calibrationLoopJs(scratch: Uint32Array, n: number): number {
  let x = 0x9e3779b9 | 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    scratch[i & 255] = x;
  }
  return x;
}

export const calibrationSuite: Suite = {
  name: 'calibration',
  figures: ['calib.wasm', 'calib.js'],
  open: openCalibration,
};

async function openCalibration(ctx: BenchContext, needed: (figure: string) => boolean): Promise<OpenSuite> {
  const m = await createMachine({ cpus: 1, bufferSizeKb: 4 });
  const scratch = m.machine.arena.alloc(1024, 64);
  const js = new Uint32Array(256);
  const ex = m.machine.exports;
  // the fastest of many short bursts: what the machine does when nothing preempts it, so another
  // process's load barely moves it
  const timed = (loop: (n: number) => number): number => {
    let best = Infinity;
    for (let i = 0; i < CALLS; i++) {
      const t = performance.now();
      loop(CALL);
      best = Math.min(best, performance.now() - t);
    }
    return (best * 1e6) / CALL;
  };
  const kinds: [string, string, (n: number) => number][] = [
    ['calib.wasm', 'calibrationLoop() (assembly/bench_floor.ts)', (n) => ex.calibrationLoop(scratch, n)],
    ['calib.js', 'its JavaScript twin (bench/calibrate.ts)', (n) => calibrationLoopJs(js, n)],
  ];
  const phases: Phase[] = kinds.filter(([name]) => needed(name)).map(([name, what, loop]) => ({
    label: `${name}: the fastest of ${CALLS} x ${CALL} iterations of ${what} on the main thread`,
    figures: [name],
    slots: 0,
    estimateMs: 20,
    warm: async () => void timed(loop),
    sample: async () => ({ [name]: timed(loop) }),
    extra: () => [`${what}: xorshift32 stored round a 1 KiB scratch, on the main thread; ns per iteration of the fastest of ${CALLS} calls of ${CALL} iterations`, ctx.runsLine, ctx.machineLine],
  }));
  return { phases, close: () => m.close() };
}
