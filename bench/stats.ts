// Small helpers of the benchmarks: medians and ranges, machine information, and the result entry every
// output format is written from.
import os from 'node:os';
import { figureSpec, type Direction } from './figures.ts';

export interface Measurement {
  name: string; // stable: CI trackers key on it
  unit: string;
  direction: Direction;
  value: number; // median of the runs
  range: string; // "min..max" of the runs
  extra: string; // method, parameters, machine
  samples: number[]; // one per run, in run order
  target?: number;
  calibration?: string; // the in-run calibration figure the gate compares it against
  reference?: boolean; // measures the machine, not ringtrace: never gated
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? s[(n - 1) >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

// significant digits that keep a benchmark number readable
export function round(x: number): number {
  if (!Number.isFinite(x)) return x;
  const a = Math.abs(x);
  const digits = a >= 100 ? 1 : a >= 10 ? 2 : a >= 1 ? 3 : 4;
  return Number(x.toFixed(digits));
}

// (max - min) / median in percent: the spread of a figure's runs
export function spreadPct(samples: number[]): number {
  const m = median(samples);
  if (samples.length < 2 || !m) return 0;
  return ((Math.max(...samples) - Math.min(...samples)) / Math.abs(m)) * 100;
}

export function measurement(name: string, samples: number[], extra: string[]): Measurement {
  const spec = figureSpec(name);
  if (!spec) throw new Error(`bench: figure ${name} is not defined in bench/figures.ts`);
  const min = Math.min(...samples);
  const max = Math.max(...samples);
  return {
    name,
    unit: spec.unit,
    direction: spec.direction,
    value: round(median(samples)),
    range: `${round(min)}..${round(max)}`,
    extra: extra.join('; '),
    samples: samples.map(round),
    ...(spec.target !== undefined ? { target: spec.target } : {}),
    ...(spec.calibration ? { calibration: spec.calibration } : {}),
    ...(spec.reference ? { reference: true } : {}),
  };
}

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  node: string;
  platform: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model?.trim() ?? 'unknown',
    cores: os.availableParallelism?.() ?? cpus.length,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

export function machineLine(m: MachineInfo): string {
  return `cpu: ${m.cpuModel}, ${m.cores} cores; node ${m.node}; ${m.platform}`;
}

export function fmtNumber(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(2);
}
