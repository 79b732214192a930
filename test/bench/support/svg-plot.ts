/**
 * The scaling curve as a hand-written SVG (no plotting dependency): wall time
 * against messages per invocation on log–log axes, one line per CPU mode,
 * with the ideal (in-flight bound × Twilio latency) and the function timeout;
 * and CPU time per recipient beside it.
 */
export interface PlotPoint {
  readonly label: string;
  readonly messages: number;
  readonly wallMs: number;
  readonly idealMs: number;
  readonly cpuPerRecipientMs: number;
  /** Batches of several records are drawn as open markers, off the line. */
  readonly batch: boolean;
  /** Messages actually sent, when fewer than `messages` (the invocation ran out of time). */
  readonly sent?: number;
}
export interface PlotSeries {
  readonly name: string;
  readonly points: readonly PlotPoint[];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (ms: number) => (ms >= 1000 ? `${ms / 1000 >= 10 ? (ms / 1000).toFixed(0) : (ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);

interface Axis {
  min: number;
  max: number;
  px0: number;
  px1: number;
  log: boolean;
}
const at = (a: Axis, v: number) => {
  const f = a.log ? (Math.log10(v) - Math.log10(a.min)) / (Math.log10(a.max) - Math.log10(a.min)) : (v - a.min) / (a.max - a.min);
  return a.px0 + f * (a.px1 - a.px0);
};
const decades = (min: number, max: number) => {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) out.push(10 ** e);
  return out;
};
const niceMax = (v: number) => {
  const e = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * e).find((m) => m >= v) ?? 10 * e;
};

export function scalingSvg(series: readonly PlotSeries[], options: { timeoutMs: number; title: string; subtitle: string }): string {
  const W = 960;
  const H = 440;
  const top = 70;
  const bottom = H - 60;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="20" y="24" font-size="16" font-weight="bold">${esc(options.title)}</text>`);
  out.push(`<text x="20" y="44" fill="#555">${esc(options.subtitle)}</text>`);
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) {
    out.push(`<text x="20" y="80">no points measured</text></svg>`);
    return out.join('\n');
  }
  const maxMessages = Math.max(...all.map((p) => p.messages));
  const x: Axis = { min: 1, max: 10 ** Math.ceil(Math.log10(Math.max(10, maxMessages))), px0: 70, px1: 500, log: true };
  const wallValues = [...all.map((p) => p.wallMs), ...all.map((p) => p.idealMs), options.timeoutMs];
  const y: Axis = { min: 10 ** Math.floor(Math.log10(Math.min(...wallValues))), max: 10 ** Math.ceil(Math.log10(Math.max(...wallValues) * 1.05)), px0: bottom, px1: top, log: true };
  // Left panel: wall time.
  for (const d of decades(x.min, x.max)) {
    const px = at(x, d);
    out.push(`<line x1="${px}" y1="${top}" x2="${px}" y2="${bottom}" stroke="#e5e5e5"/><text x="${px}" y="${bottom + 16}" text-anchor="middle">${d.toLocaleString('en-US')}</text>`);
  }
  for (const d of decades(y.min, y.max)) {
    const py = at(y, d);
    out.push(`<line x1="${x.px0}" y1="${py}" x2="${x.px1}" y2="${py}" stroke="#e5e5e5"/><text x="${x.px0 - 6}" y="${py + 4}" text-anchor="end">${fmt(d)}</text>`);
  }
  out.push(`<rect x="${x.px0}" y="${top}" width="${x.px1 - x.px0}" height="${bottom - top}" fill="none" stroke="#999"/>`);
  out.push(`<text x="${(x.px0 + x.px1) / 2}" y="${bottom + 36}" text-anchor="middle">messages in one invocation (log)</text>`);
  out.push(`<text x="16" y="${(top + bottom) / 2}" transform="rotate(-90 16 ${(top + bottom) / 2})" text-anchor="middle">wall time of the invocation (log)</text>`);
  const timeoutY = at(y, options.timeoutMs);
  out.push(`<line x1="${x.px0}" y1="${timeoutY}" x2="${x.px1}" y2="${timeoutY}" stroke="#000" stroke-dasharray="6 4"/><text x="${x.px0 + 6}" y="${timeoutY - 5}">function timeout ${fmt(options.timeoutMs)}</text>`);
  const ideal = [...new Map(all.filter((p) => !p.batch).map((p) => [p.messages, p.idealMs])).entries()].sort((a, b) => a[0] - b[0]);
  out.push(`<polyline fill="none" stroke="#888" stroke-width="1.5" stroke-dasharray="2 3" points="${ideal.map(([m, ms]) => `${at(x, m)},${at(y, ms)}`).join(' ')}"/>`);
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    const line = s.points.filter((p) => !p.batch).sort((a, b) => a.messages - b.messages);
    out.push(`<polyline fill="none" stroke="${c}" stroke-width="2.5" points="${line.map((p) => `${at(x, p.messages)},${at(y, p.wallMs)}`).join(' ')}"/>`);
    for (const p of s.points) {
      const cx = at(x, p.messages);
      const cy = at(y, p.wallMs);
      out.push(p.batch ? `<rect x="${cx - 5}" y="${cy - 5}" width="10" height="10" fill="#fff" stroke="${c}" stroke-width="2"><title>${esc(`${s.name}: ${p.label} → ${fmt(p.wallMs)}`)}</title></rect>` : `<circle cx="${cx}" cy="${cy}" r="4" fill="${c}"><title>${esc(`${s.name}: ${p.label} → ${fmt(p.wallMs)}`)}</title></circle>`);
    }
    const last = line[line.length - 1];
    if (last) out.push(`<text x="${at(x, last.messages) + 8}" y="${at(y, last.wallMs) + 4}" fill="${c}" font-weight="bold">${fmt(last.wallMs)}</text>`);
    const short = s.points.filter((p) => p.sent !== undefined && p.sent < p.messages);
    short.forEach((p, k) => {
      out.push(`<text x="${at(x, p.messages) - 8}" y="${at(y, p.wallMs) - 10 - 14 * k}" fill="${c}" text-anchor="end">${esc(`${p.label}: only ${p.sent} of ${p.messages} sent`)}</text>`);
    });
  });
  // Right panel: CPU per recipient.
  const x2: Axis = { ...x, px0: 600, px1: 930 };
  const cpuMax = niceMax(Math.max(...all.map((p) => p.cpuPerRecipientMs)) * 1.1);
  const y2: Axis = { min: 0, max: cpuMax, px0: bottom, px1: top, log: false };
  for (const d of decades(x2.min, x2.max)) {
    const px = at(x2, d);
    out.push(`<line x1="${px}" y1="${top}" x2="${px}" y2="${bottom}" stroke="#e5e5e5"/><text x="${px}" y="${bottom + 16}" text-anchor="middle">${d.toLocaleString('en-US')}</text>`);
  }
  for (let k = 0; k <= 5; k++) {
    const v = (cpuMax * k) / 5;
    const py = at(y2, v);
    out.push(`<line x1="${x2.px0}" y1="${py}" x2="${x2.px1}" y2="${py}" stroke="#e5e5e5"/><text x="${x2.px0 - 6}" y="${py + 4}" text-anchor="end">${v.toFixed(v < 10 ? 1 : 0)}</text>`);
  }
  out.push(`<rect x="${x2.px0}" y="${top}" width="${x2.px1 - x2.px0}" height="${bottom - top}" fill="none" stroke="#999"/>`);
  out.push(`<text x="${(x2.px0 + x2.px1) / 2}" y="${bottom + 36}" text-anchor="middle">messages in one invocation (log)</text>`);
  out.push(`<text x="${x2.px0 - 40}" y="${(top + bottom) / 2}" transform="rotate(-90 ${x2.px0 - 40} ${(top + bottom) / 2})" text-anchor="middle">handler CPU per message (ms)</text>`);
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    const line = s.points.filter((p) => !p.batch).sort((a, b) => a.messages - b.messages);
    out.push(`<polyline fill="none" stroke="${c}" stroke-width="2.5" points="${line.map((p) => `${at(x2, p.messages)},${at(y2, p.cpuPerRecipientMs)}`).join(' ')}"/>`);
    for (const p of s.points) {
      const cx = at(x2, p.messages);
      const cy = at(y2, p.cpuPerRecipientMs);
      out.push(p.batch ? `<rect x="${cx - 5}" y="${cy - 5}" width="10" height="10" fill="#fff" stroke="${c}" stroke-width="2"/>` : `<circle cx="${cx}" cy="${cy}" r="4" fill="${c}"/>`);
    }
  });
  // Legend, across the top of both panels.
  let lx = 70;
  const ly = top - 12;
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 22}" y2="${ly}" stroke="${c}" stroke-width="2.5"/><text x="${lx + 28}" y="${ly + 4}">${esc(s.name)}</text>`);
    lx += 40 + s.name.length * 6.5;
  });
  out.push(`<line x1="${lx}" y1="${ly}" x2="${lx + 22}" y2="${ly}" stroke="#888" stroke-width="1.5" stroke-dasharray="2 3"/><text x="${lx + 28}" y="${ly + 4}">ideal</text>`);
  lx += 80;
  const batch = all.find((p) => p.batch);
  if (batch) out.push(`<rect x="${lx}" y="${ly - 5}" width="10" height="10" fill="#fff" stroke="#333" stroke-width="2"/><text x="${lx + 16}" y="${ly + 4}">${esc(`batch of ${batch.label.replace('×', ' records × ')} recipients`)}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
