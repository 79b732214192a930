import { BodyMetric, BodyWidget, DashboardBody, metricOf } from './body';

/*
 * A picture of a dashboard from its synthesized body: the widget grid as
 * CloudWatch lays it out (24 columns), each widget's title, view and axis,
 * and one legend line per metric (label, colour, metric name, statistic).
 * It shows what the dashboard is made of, not data: no values are drawn.
 */

const COLUMN = 44;
const ROW = 34;
const MARGIN = 12;
const CAPTION = 30;
const FONT = 'Helvetica, Arial, sans-serif';
/** An estimate of a character's width at the legend's 11 px: lines are cut to fit their widget. */
const CHAR_WIDTH = 6.2;
const NEUTRAL = '#7f7f7f';

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function fit(text: string, widthPx: number, charWidth = CHAR_WIDTH): string {
  const max = Math.floor(widthPx / charWidth);
  return [...text].length <= max ? text : `${[...text].slice(0, Math.max(0, max - 1)).join('')}…`;
}

/** `Label: MetricName (stat)`; an expression with its hidden operands' names in place of their ids. */
function legend(metric: BodyMetric, all: readonly BodyMetric[]): string {
  if (metric.expression !== undefined) {
    const named = metric.expression.replace(/\b[a-z]\w*\b/g, (id) => {
      const operand = all.find((m) => m.id === id);
      return operand?.metricName !== undefined ? `${operand.metricName} (${operand.stat ?? 'Average'})` : id;
    });
    return named.replace(/ - /g, ' − ');
  }
  return `${metric.label ?? metric.metricName}: ${metric.metricName} (${metric.stat ?? 'Average'})`;
}

function text(x: number, y: number, content: string, attributes = ''): string {
  return `<text x="${x}" y="${y}" font-family="${FONT}" ${attributes}>${escape(content)}</text>`;
}

function widgetSvg(widget: BodyWidget): string {
  const x = MARGIN + widget.x * COLUMN;
  const y = MARGIN + CAPTION + widget.y * ROW;
  const w = widget.width * COLUMN - 8;
  const h = widget.height * ROW - 8;
  const inner = w - 24;
  const parts = [`<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="4" fill="#ffffff" stroke="#d5dbdb"/>`];
  if (widget.type === 'text') {
    const [heading = '', ...rest] = String(widget.properties.markdown ?? '').split('\n');
    parts.push(text(x + 12, y + 24, fit(heading.replace(/^#+\s*/, ''), inner, 9), 'font-size="16" font-weight="bold" fill="#16191f"'));
    rest.forEach((line, i) => parts.push(text(x + 12, y + 44 + i * 16, fit(line.replace(/`/g, ''), inner), 'font-size="11" fill="#545b64"')));
    return parts.join('\n');
  }
  const view = String(widget.properties.view ?? 'timeSeries');
  parts.push(text(x + 12, y + 20, fit(String(widget.properties.title ?? ''), inner, 7.8), 'font-size="13" font-weight="bold" fill="#16191f"'));
  const axis = (widget.properties.yAxis as { left?: { label?: string } } | undefined)?.left?.label;
  const all = (widget.properties.metrics ?? []).map(metricOf);
  const namespaces = [...new Set(all.flatMap((m) => (m.namespace !== undefined ? [m.namespace] : [])))];
  const kind = view === 'singleValue' ? 'single value over the time range' : `graph${axis ? `, ${axis.toLowerCase()} from 0` : ''}`;
  parts.push(text(x + 12, y + 36, `${kind} · ${namespaces.join(', ')}`, 'font-size="10" fill="#879596"'));
  const shown = all.filter((m) => m.visible !== false);
  // The plot area: a baseline and faint grid lines where the data would be.
  const plotTop = y + 46;
  const plotBottom = y + h - 14 - shown.length * 16;
  if (view !== 'singleValue') {
    for (let i = 0; i < 3; i++) {
      const gy = plotTop + ((plotBottom - plotTop) * i) / 3;
      parts.push(`<line x1="${x + 12}" y1="${gy.toFixed(1)}" x2="${x + w - 12}" y2="${gy.toFixed(1)}" stroke="#eaeded" stroke-dasharray="3 3"/>`);
    }
    parts.push(`<line x1="${x + 12}" y1="${plotBottom}" x2="${x + w - 12}" y2="${plotBottom}" stroke="#aab7b8"/>`);
  } else {
    parts.push(text(x + 12, (plotTop + plotBottom) / 2 + 14, '–', 'font-size="36" fill="#aab7b8"'));
  }
  shown.forEach((metric, i) => {
    const ly = plotBottom + 16 + i * 16;
    parts.push(`<rect x="${x + 12}" y="${ly - 9}" width="10" height="10" fill="${escape(metric.color ?? NEUTRAL)}"/>`);
    parts.push(text(x + 28, ly, fit(legend(metric, all), inner - 16), 'font-size="11" fill="#16191f"'));
  });
  return parts.join('\n');
}

/** The SVG of `body`; `caption` says what it was rendered from. */
export function dashboardSvg(body: DashboardBody, caption: string): string {
  const columns = 24;
  const rows = Math.max(...body.widgets.map((w) => w.y + w.height));
  const width = MARGIN * 2 + columns * COLUMN;
  const height = MARGIN * 2 + CAPTION + rows * ROW;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<rect width="${width}" height="${height}" fill="#f2f3f3"/>`,
    text(MARGIN, MARGIN + 14, caption, 'font-size="12" font-style="italic" fill="#545b64"'),
    ...body.widgets.map(widgetSvg),
    '</svg>',
    '',
  ].join('\n');
}
