// The regression gate: a run against a baseline, figure by figure. A figure regresses only when it is
// worse than the baseline beyond both the threshold (--max-regression) and the noise of the two runs
// (the larger min..max spread of its samples, plus its calibration's when calibrated). Machine-speed
// dependent figures are compared relative to their in-run calibration (bench/figures.ts), so a slower
// or faster machine moves both and cancels out.
import { figureSpec, globMatcher, type Direction } from './figures.ts';
import { fmtNumber, spreadPct, type Measurement } from './stats.ts';

export type Verdict = 'better' | 'pass' | 'worse, within threshold' | 'worse, within noise' | 'REGRESSION' | 'reference' | 'new' | 'missing';

export interface GateRow {
  name: string;
  unit: string;
  direction: Direction;
  base: number | null;
  now: number | null;
  changePct: number | null; // positive = worse; calibrated when `calibrated`
  noisePct: number;
  calibrated: string | null; // the calibration figure both runs were divided by
  verdict: Verdict;
}

export interface GateOptions {
  maxRegressionPct: number;
  only?: string;
}

export const DEFAULT_MAX_REGRESSION_PCT = 10;

// worse-ness of `now` against `base` in percent: time twice as long and throughput half as high both
// read +100 %
function worsePct(base: number, now: number, direction: Direction): number {
  const [a, b] = direction === 'smaller' ? [now, base] : [base, now];
  if (b === 0) return a === 0 ? 0 : Infinity;
  return (a / b - 1) * 100;
}

export function compareRuns(base: Measurement[], now: Measurement[], opts: GateOptions): GateRow[] {
  const match = globMatcher(opts.only);
  const byName = (ms: Measurement[]) => new Map(ms.map((m) => [m.name, m]));
  const b = byName(base);
  const n = byName(now);
  const names = [...new Set([...now.map((m) => m.name), ...base.map((m) => m.name)])].filter(match);
  return names.map((name): GateRow => {
    const x = b.get(name);
    const y = n.get(name);
    const m = (y ?? x)!;
    const row: GateRow = {
      name, unit: m.unit, direction: m.direction, base: x?.value ?? null, now: y?.value ?? null,
      changePct: null, noisePct: 0, calibrated: null, verdict: 'pass',
    };
    if (!x || !y) return { ...row, verdict: x ? 'missing' : 'new' };
    const calib = y.calibration ?? figureSpec(name)?.calibration;
    const cx = calib ? b.get(calib) : undefined;
    const cy = calib ? n.get(calib) : undefined;
    let bv = x.value;
    let nv = y.value;
    row.noisePct = Math.max(spreadPct(x.samples), spreadPct(y.samples));
    if (calib && cx && cy && cx.value > 0 && cy.value > 0) {
      // a calibration is a time per iteration: divide times by it, multiply rates by it
      const norm = (v: number, c: number) => (m.direction === 'smaller' ? v / c : v * c);
      bv = norm(bv, cx.value);
      nv = norm(nv, cy.value);
      row.calibrated = calib;
      row.noisePct += Math.max(spreadPct(cx.samples), spreadPct(cy.samples));
    }
    row.changePct = worsePct(bv, nv, m.direction);
    if (x.reference || y.reference) return { ...row, verdict: 'reference' };
    const tol = figureSpec(name)?.absTolerance;
    if (row.changePct <= 0) return { ...row, verdict: -row.changePct > Math.max(row.noisePct, opts.maxRegressionPct) ? 'better' : 'pass' };
    if (tol !== undefined && Math.abs(y.value - x.value) <= tol) return { ...row, verdict: 'pass' };
    if (row.changePct <= opts.maxRegressionPct) return { ...row, verdict: 'worse, within threshold' };
    if (row.changePct <= row.noisePct) return { ...row, verdict: 'worse, within noise' };
    return { ...row, verdict: 'REGRESSION' };
  });
}

export function regressions(rows: GateRow[]): GateRow[] {
  return rows.filter((r) => r.verdict === 'REGRESSION');
}

const pct = (x: number | null) => (x === null ? '' : !Number.isFinite(x) ? 'inf' : `${x > 0 ? '+' : ''}${x.toFixed(1)} %`);

export function formatGate(rows: GateRow[], opts: GateOptions): string {
  const table = rows.map((r) => [
    r.name,
    r.base === null ? '-' : `${fmtNumber(r.base)} ${r.unit}`,
    r.now === null ? '-' : `${fmtNumber(r.now)} ${r.unit}`,
    `${pct(r.changePct)}${r.calibrated ? ' (cal)' : ''}`,
    r.changePct === null ? '' : `±${r.noisePct.toFixed(1)} %`,
    r.verdict,
  ]);
  const head = ['figure', 'base', 'now', 'worse by', 'noise', 'verdict'];
  const w = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => (i >= 1 && i <= 4 ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ').trimEnd();
  const bad = regressions(rows);
  return [
    fmt(head),
    w.map((k) => '-'.repeat(k)).join('  '),
    ...table.map(fmt),
    '',
    '"worse by": positive is worse whichever way the figure goes; (cal) = relative to the in-run calibration;',
    `a figure fails only when worse by more than both --max-regression (${opts.maxRegressionPct} %) and its noise band.`,
    bad.length ? `gate: FAILED: ${bad.length} regression(s): ${bad.map((r) => r.name).join(', ')}` : `gate: passed (${rows.length} figures compared)`,
  ].join('\n');
}
