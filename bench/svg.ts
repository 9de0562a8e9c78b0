// Pictures of benchmark runs, as plain SVG written here (a few rectangles, lines and text need no
// charting library, and the files open in any browser and on CI artifact pages):
//   runSvg    one run: each figure against its target (and the baseline, if given), on a common
//             log scale of "distance to the target", with the min..max of its samples
//   trendSvg  several runs: a small chart per figure, median and min..max per run, target dashed
import type { Measurement } from './stats.ts';
import { fmtNumber } from './stats.ts';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const FONT = 'font-family="system-ui, sans-serif" font-size="12"';
const GOOD = '#2e7d32';
const BAD = '#c62828';
const NEUTRAL = '#607d8b';

function svgDoc(w: number, h: number, body: string[], title: string): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" ${FONT}>`,
    `<title>${esc(title)}</title>`,
    `<rect width="${w}" height="${h}" fill="#fff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

// how far a value is from a reference, >1 = worse, whichever way the figure goes
function badness(m: Measurement, v: number, ref: number): number {
  return m.direction === 'smaller' ? v / ref : ref / v;
}

export function runSvg(ms: Measurement[], opts: { title: string; baseline?: Measurement[] }): string {
  const base = new Map((opts.baseline ?? []).map((m) => [m.name, m]));
  const rowH = 34;
  const left = 300;
  const plotW = 420;
  const right = 250;
  const top = 56;
  const W = left + plotW + right;
  const H = top + rowH * ms.length + 40;
  const LIM = 10; // the axis spans 1/LIM .. LIM of the reference
  const x = (r: number) => left + ((Math.log10(Math.min(LIM, Math.max(1 / LIM, r))) + 1) / 2) * plotW;
  const body: string[] = [
    `<text x="12" y="22" font-size="15" font-weight="bold">${esc(opts.title)}</text>`,
    `<text x="12" y="40" fill="#555">bar: median against the target (or the baseline when there is none), log scale; whisker: min..max; ◆ baseline</text>`,
  ];
  for (const t of [0.1, 0.3, 1, 3, 10]) {
    body.push(`<line x1="${x(t)}" y1="${top - 6}" x2="${x(t)}" y2="${H - 34}" stroke="${t === 1 ? '#333' : '#ddd'}"/>`);
    body.push(`<text x="${x(t)}" y="${H - 20}" text-anchor="middle" fill="#555">${t === 1 ? 'target' : t < 1 ? `${1 / t}x better` : `${t}x worse`}</text>`);
  }
  ms.forEach((m, i) => {
    const y = top + i * rowH;
    const b = base.get(m.name);
    const ref = m.target ?? b?.value;
    body.push(`<text x="12" y="${y + 21}">${esc(m.name)}</text>`);
    let note: string;
    if (ref === undefined || ref === 0 || m.value === 0) {
      note = m.reference ? 'reference' : 'no target';
      body.push(`<text x="${left}" y="${y + 21}" fill="${NEUTRAL}">—</text>`);
    } else {
      const r = badness(m, m.value, ref);
      const color = m.target === undefined ? NEUTRAL : r <= 1 ? GOOD : BAD;
      const x0 = x(1);
      const x1 = x(r);
      body.push(`<rect x="${Math.min(x0, x1)}" y="${y + 8}" width="${Math.max(2, Math.abs(x1 - x0))}" height="16" fill="${color}" opacity="0.8"/>`);
      const lo = badness(m, Math.min(...m.samples), ref);
      const hi = badness(m, Math.max(...m.samples), ref);
      body.push(`<line x1="${x(lo)}" y1="${y + 16}" x2="${x(hi)}" y2="${y + 16}" stroke="#000" stroke-width="1.5"/>`);
      if (b && m.target !== undefined) {
        const xb = x(badness(m, b.value, ref));
        body.push(`<path d="M${xb} ${y + 9} l5 7 l-5 7 l-5 -7 z" fill="#1565c0"><title>baseline ${fmtNumber(b.value)} ${esc(b.unit)}</title></path>`);
      }
      note = m.target !== undefined
        ? `target ${m.direction === 'smaller' ? '≤' : '≥'} ${m.target}${b ? `, base ${fmtNumber(b.value)}` : ''}`
        : `vs baseline ${fmtNumber(ref)}`;
    }
    body.push(`<text x="${left + plotW + 12}" y="${y + 15}">${esc(`${fmtNumber(m.value)} ${m.unit}`)}</text>`);
    body.push(`<text x="${left + plotW + 12}" y="${y + 29}" fill="#555" font-size="11">${esc(note)}</text>`);
  });
  return svgDoc(W, H, body, opts.title);
}

export function trendSvg(runs: { label: string; ms: Measurement[] }[], title: string): string {
  const names = [...new Set(runs.flatMap((r) => r.ms.map((m) => m.name)))];
  const cols = 2;
  const pw = 460;
  const ph = 170;
  const top = 40;
  const W = cols * pw + 20;
  const H = top + Math.ceil(names.length / cols) * ph + 10;
  const body: string[] = [`<text x="12" y="24" font-size="15" font-weight="bold">${esc(title)}</text>`];
  names.forEach((name, k) => {
    const ox = 10 + (k % cols) * pw;
    const oy = top + Math.floor(k / cols) * ph;
    const pts = runs.map((r, i) => ({ i, m: r.ms.find((m) => m.name === name) }));
    const any = pts.find((p) => p.m)!.m!;
    const vals = pts.flatMap((p) => (p.m ? p.m.samples : []));
    let lo = Math.min(...vals);
    let hi = Math.max(...vals);
    if (any.target !== undefined && any.target < hi * 3 && any.target > lo / 3) {
      lo = Math.min(lo, any.target);
      hi = Math.max(hi, any.target);
    }
    if (hi === lo) hi = lo + (Math.abs(lo) || 1);
    const pad = (hi - lo) * 0.1;
    lo = Math.max(0, lo - pad);
    hi += pad;
    const x0 = ox + 56;
    const x1 = ox + pw - 20;
    const y0 = oy + 30;
    const y1 = oy + ph - 34;
    const sx = (i: number) => (runs.length === 1 ? (x0 + x1) / 2 : x0 + ((x1 - x0) * i) / (runs.length - 1));
    const sy = (v: number) => y1 - ((v - lo) / (hi - lo)) * (y1 - y0);
    body.push(`<text x="${ox}" y="${oy + 16}" font-weight="bold">${esc(name)}</text>`);
    body.push(`<text x="${ox + pw - 20}" y="${oy + 16}" text-anchor="end" fill="#555">${esc(`${any.unit}, ${any.direction} is better`)}</text>`);
    body.push(`<rect x="${x0}" y="${y0}" width="${x1 - x0}" height="${y1 - y0}" fill="none" stroke="#ccc"/>`);
    for (const v of [lo, (lo + hi) / 2, hi]) {
      body.push(`<text x="${x0 - 4}" y="${sy(v) + 4}" text-anchor="end" fill="#555" font-size="10">${esc(fmtNumber(v))}</text>`);
    }
    if (any.target !== undefined && any.target >= lo && any.target <= hi) {
      body.push(`<line x1="${x0}" y1="${sy(any.target)}" x2="${x1}" y2="${sy(any.target)}" stroke="${GOOD}" stroke-dasharray="5 4"><title>target ${any.target}</title></line>`);
    }
    const line = pts.filter((p) => p.m).map((p) => `${sx(p.i)},${sy(p.m!.value)}`).join(' ');
    body.push(`<polyline points="${line}" fill="none" stroke="#1565c0" stroke-width="2"/>`);
    for (const p of pts) {
      if (!p.m) continue;
      body.push(`<line x1="${sx(p.i)}" y1="${sy(Math.min(...p.m.samples))}" x2="${sx(p.i)}" y2="${sy(Math.max(...p.m.samples))}" stroke="#000"/>`);
      body.push(`<circle cx="${sx(p.i)}" cy="${sy(p.m.value)}" r="3.5" fill="#1565c0"><title>${esc(`${runs[p.i].label}: ${fmtNumber(p.m.value)} ${p.m.unit} (${p.m.range})`)}</title></circle>`);
    }
    runs.forEach((r, i) => {
      if (runs.length <= 8 || i === 0 || i === runs.length - 1) {
        body.push(`<text x="${sx(i)}" y="${y1 + 14}" text-anchor="middle" fill="#555" font-size="10">${esc(r.label.length > 18 ? r.label.slice(-18) : r.label)}</text>`);
      }
    });
  });
  return svgDoc(W, H, body, title);
}
