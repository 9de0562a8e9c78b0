// The files `ringtrace bench` writes, and reading a run back (for --baseline, compare and plot).
//
//   --json FILE          the run: an array of every measurement with its direction and samples (the
//                        entries github-action-benchmark reads, plus fields it ignores)
//   --gab-smaller FILE   github-action-benchmark, tool customSmallerIsBetter: the smaller-is-better figures
//   --gab-bigger FILE    github-action-benchmark, tool customBiggerIsBetter: the bigger-is-better figures
//   --bmf FILE           Bencher Metric Format: {figure: {measure: {value, lower_value, upper_value}}}
//
// Reference figures (calibration, floors, machine load) measure the machine, not ringtrace: they stay
// in the run file and out of the trackers' files, so no tracker raises an alert on them.
import { figureSpec, type Direction } from './figures.ts';
import { round, type Measurement } from './stats.ts';

export interface RunEntry {
  name: string;
  unit: string;
  value: number;
  range: string;
  extra: string;
  direction: Direction;
  samples: number[];
  target?: number;
  calibration?: string;
  reference?: boolean;
}

export function toRunJson(ms: Measurement[]): string {
  return JSON.stringify(ms.map(runEntry), null, 2) + '\n';
}

function runEntry(m: Measurement): RunEntry {
  const { name, unit, value, range, extra, direction, samples, target, calibration, reference } = m;
  return { name, unit, value, range, extra, direction, samples, target, calibration, reference };
}

export function toGabJson(ms: Measurement[], direction: Direction): string {
  const out = ms
    .filter((m) => m.direction === direction && !m.reference)
    .map(({ name, unit, value, range, extra }) => ({ name, unit, value, range, extra }));
  return JSON.stringify(out, null, 2) + '\n';
}

// A Bencher measure has one direction for its thresholds, so the slug carries it:
// ns/event -> ns-per-event-lower-is-better, M events/s -> m-events-per-s-higher-is-better.
export function bmfMeasure(unit: string, direction: Direction): string {
  const u = unit === '%' ? 'percent' : unit.toLowerCase().replace(/\//g, '-per-').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  return `${u}-${direction === 'smaller' ? 'lower' : 'higher'}-is-better`;
}

export function toBmfJson(ms: Measurement[]): string {
  const out: Record<string, Record<string, { value: number; lower_value: number; upper_value: number }>> = {};
  for (const m of ms) {
    if (m.reference) continue;
    out[m.name] = {
      [bmfMeasure(m.unit, m.direction)]: { value: m.value, lower_value: Math.min(...m.samples), upper_value: Math.max(...m.samples) },
    };
  }
  return JSON.stringify(out, null, 2) + '\n';
}

export class RunFileError extends Error {}

// A run file: this format, or the older array without direction and samples (taken from
// bench/figures.ts and the median).
export function parseRun(text: string, what: string): Measurement[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new RunFileError(`${what}: not JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(json)) throw new RunFileError(`${what}: not a ringtrace bench run (expected an array of measurements)`);
  return json.map((e: Partial<RunEntry>, i) => {
    if (typeof e !== 'object' || e === null || typeof e.name !== 'string' || typeof e.value !== 'number' || typeof e.unit !== 'string') {
      throw new RunFileError(`${what}: entry ${i} is not a measurement ({name, unit, value, ...})`);
    }
    const spec = figureSpec(e.name);
    const direction = e.direction ?? spec?.direction;
    if (direction !== 'smaller' && direction !== 'bigger') throw new RunFileError(`${what}: ${e.name} has no direction`);
    const samples = Array.isArray(e.samples) && e.samples.length && e.samples.every((x) => typeof x === 'number') ? e.samples : [e.value];
    return {
      name: e.name,
      unit: e.unit,
      direction,
      value: e.value,
      range: e.range ?? `${round(Math.min(...samples))}..${round(Math.max(...samples))}`,
      extra: e.extra ?? '',
      samples,
      ...(e.target ?? spec?.target) !== undefined ? { target: e.target ?? spec?.target } : {},
      ...(e.calibration ?? spec?.calibration) ? { calibration: e.calibration ?? spec?.calibration } : {},
      ...(e.reference ?? spec?.reference) ? { reference: true } : {},
    };
  });
}
