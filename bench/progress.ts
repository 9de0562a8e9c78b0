// Progress on stderr. Every phase sample gets one line when it ends: its number of all, the round, the
// figures it measured, elapsed time and the estimate of what is left. On a terminal a status line
// also shows the phase that is running, rewritten in place.
import { fmtNumber } from './stats.ts';
import { figureSpec } from './figures.ts';

export interface ProgressSink {
  line(text: string): void; // a whole line
  status?(text: string): void; // a terminal's rewritable line ('' clears it); absent without a TTY
}

export interface ProgressStep {
  n: number; // 1-based, of total
  total: number;
  round: number; // 1-based, of runs
  runs: number;
  label: string;
  elapsedMs: number;
  leftMs: number;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const head = (s: ProgressStep) =>
  `[${String(s.n).padStart(String(s.total).length)}/${s.total}] run ${s.round}/${s.runs}`;

export function progressStart(sink: ProgressSink, s: ProgressStep): void {
  sink.status?.(`${head(s)} ${s.label} ... ${secs(s.elapsedMs)} elapsed, ~${secs(s.leftMs)} left`);
}

export function progressDone(sink: ProgressSink, s: ProgressStep, values: Record<string, number>): void {
  sink.status?.('');
  const figs = Object.entries(values)
    .map(([name, v]) => `${name} ${fmtNumber(v)} ${figureSpec(name)?.unit ?? ''}`.trimEnd())
    .join(', ');
  sink.line(`${head(s)} ${figs || s.label} (${secs(s.elapsedMs)} elapsed, ~${secs(s.leftMs)} left)`);
}
