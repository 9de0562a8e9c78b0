// Small helpers of the benchmarks: medians and ranges, machine information, the JSON entries CI
// benchmark trackers read (customSmallerIsBetter / customBiggerIsBetter: name, unit, value, range, extra).
import os from 'node:os';

export interface Measurement {
  name: string; // stable: CI trackers key on it
  unit: string;
  value: number; // median of the runs
  range: string; // "min..max" of the runs
  extra: string; // method, parameters, machine
  samples: number[];
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

export function measurement(name: string, unit: string, samples: number[], extra: string[]): Measurement {
  const min = Math.min(...samples);
  const max = Math.max(...samples);
  return {
    name,
    unit,
    value: round(median(samples)),
    range: `${round(min)}..${round(max)}`,
    extra: extra.join('; '),
    samples: samples.map(round),
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

// The JSON file: an array of { name, unit, value, range, extra } (the samples stay out of it).
export function toJson(ms: Measurement[]): string {
  return JSON.stringify(
    ms.map(({ name, unit, value, range, extra }) => ({ name, unit, value, range, extra })),
    null,
    2,
  ) + '\n';
}
