/**
 * Small inline SVG charts (no chart library). Each chart is an `img` with a title and a
 * description that states the numbers, and a data table underneath for screen readers
 * and anyone who wants the exact values. Colours come from JupyterLab's theme variables
 * (instructor.css), so they follow light, dark and high-contrast themes.
 */
import * as React from 'react';

import { useId } from './common';

export interface IBar {
  label: string;
  value: number;
  /** Extra text of the bar's tooltip. */
  detail?: string;
}

const W = 560;
const H = 200;
const PAD = { left: 40, right: 10, top: 10, bottom: 46 };

function niceMax(max: number): number {
  if (max <= 0) {
    return 1;
  }
  const magnitude = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (max <= step * magnitude) {
      return step * magnitude;
    }
  }
  return 10 * magnitude;
}

function DataTable(props: { caption: string; columns: [string, string]; rows: [string, string][] }): JSX.Element {
  return (
    <details className="jp-grader-chart-data">
      <summary>Data of “{props.caption}”</summary>
      <table className="jp-grader-table">
        <caption className="jp-grader-sr-only">{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">{props.columns[0]}</th>
            <th scope="col">{props.columns[1]}</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map(([a, b], i) => (
            <tr key={i}>
              <th scope="row">{a}</th>
              <td>{b}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

/**
 * What every chart shares: a figure whose caption titles an SVG `img` described by its
 * `<desc>` (the numbers in words), then anything below the plot (a legend) and the table
 * of the exact values.
 */
function ChartFigure(props: {
  title: string;
  description: string;
  /** Height of the SVG's view box (its width is always W). */
  height: number;
  /** The data table's two column headers and rows. */
  columns: [string, string];
  rows: [string, string][];
  /** Shown between the plot and the data table. */
  below?: React.ReactNode;
  /** The plot: SVG elements. */
  children: React.ReactNode;
}): JSX.Element {
  const id = useId('chart');
  return (
    <figure className="jp-grader-chart">
      <figcaption id={`${id}-title`}>{props.title}</figcaption>
      <svg
        viewBox={`0 0 ${W} ${props.height}`}
        role="img"
        aria-labelledby={`${id}-title ${id}-desc`}
        className="jp-grader-chart-svg"
      >
        <desc id={`${id}-desc`}>{props.description}</desc>
        {props.children}
      </svg>
      {props.below}
      <DataTable caption={props.title} columns={props.columns} rows={props.rows} />
    </figure>
  );
}

/** Vertical bars with a value axis (histograms, counts per day). */
export function BarChart(props: {
  title: string;
  description: string;
  bars: IBar[];
  xLabel: string;
  yLabel: string;
  /** Label every n-th bar only (long time axes). */
  labelEvery?: number;
}): JSX.Element {
  const { bars } = props;
  // counts: whole-number axis (a "2.5 students" tick reads wrong)
  const top = Math.max(1, Math.ceil(niceMax(Math.max(0, ...bars.map(b => b.value)))));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const slot = bars.length ? plotW / bars.length : plotW;
  const every = props.labelEvery ?? Math.max(1, Math.ceil(bars.length / 12));
  const ticks = [...new Set([0, Math.round(top / 2), top])];
  return (
    <ChartFigure
      title={props.title}
      description={props.description}
      height={H}
      columns={[props.xLabel, props.yLabel]}
      rows={bars.map(b => [b.label, String(b.value)])}
    >
      {ticks.map(t => {
        const y = PAD.top + plotH - (t / top) * plotH;
        return (
          <g key={t} aria-hidden="true">
            <line className="jp-grader-chart-grid" x1={PAD.left} x2={W - PAD.right} y1={y} y2={y} />
            <text className="jp-grader-chart-tick" x={PAD.left - 4} y={y + 4} textAnchor="end">
              {Number.isInteger(t) ? t : t.toFixed(1)}
            </text>
          </g>
        );
      })}
      {bars.map((b, i) => {
        const h = (b.value / top) * plotH;
        const x = PAD.left + i * slot;
        return (
          <g key={i}>
            <rect
              className="jp-grader-chart-bar"
              x={x + slot * 0.1}
              y={PAD.top + plotH - h}
              width={Math.max(1, slot * 0.8)}
              height={h}
            >
              <title>{`${b.label}: ${b.value}${b.detail ? ` (${b.detail})` : ''}`}</title>
            </rect>
            {i % every === 0 && (
              <text
                aria-hidden="true"
                className="jp-grader-chart-tick"
                x={x + slot / 2}
                y={H - PAD.bottom + 14}
                textAnchor="middle"
              >
                {b.label}
              </text>
            )}
          </g>
        );
      })}
      <text aria-hidden="true" className="jp-grader-chart-axis" x={PAD.left + plotW / 2} y={H - 6} textAnchor="middle">
        {props.xLabel}
      </text>
      <text
        aria-hidden="true"
        className="jp-grader-chart-axis"
        transform={`translate(12 ${PAD.top + plotH / 2}) rotate(-90)`}
        textAnchor="middle"
      >
        {props.yLabel}
      </text>
    </ChartFigure>
  );
}

export interface ISegment {
  label: string;
  value: number;
  /** One of: ok, busy, todo, error (chooses the theme colour). */
  tone: 'ok' | 'busy' | 'todo' | 'error';
}

/** One stacked horizontal bar per row (grading progress), with a legend. */
export function StackedBars(props: {
  title: string;
  description: string;
  rows: { label: string; segments: ISegment[] }[];
}): JSX.Element {
  const rowH = 26;
  const labelW = 110;
  const height = props.rows.length * (rowH + 10) + 10;
  const plotW = W - labelW - PAD.right;
  return (
    <ChartFigure
      title={props.title}
      description={props.description}
      height={height}
      columns={['Status', 'Submissions']}
      rows={props.rows.flatMap(row =>
        row.segments.map(s => [`${row.label}: ${s.label}`, String(s.value)] as [string, string])
      )}
      below={
        <ul className="jp-grader-legend" aria-hidden="true">
          {(['ok', 'busy', 'todo', 'error'] as const).map(tone => (
            <li key={tone}>
              <span className={`jp-grader-swatch jp-grader-tone-${tone}`} />
              {{ ok: 'done', busy: 'in progress', todo: 'to do', error: 'failed' }[tone]}
            </li>
          ))}
        </ul>
      }
    >
      {props.rows.map((row, r) => {
        const total = row.segments.reduce((n, s) => n + s.value, 0) || 1;
        let x = labelW;
        const y = 10 + r * (rowH + 10);
        return (
          <g key={row.label}>
            <text aria-hidden="true" className="jp-grader-chart-tick" x={labelW - 6} y={y + rowH / 2 + 4} textAnchor="end">
              {row.label}
            </text>
            {row.segments.map(seg => {
              const w = (seg.value / total) * plotW;
              const rect = (
                <rect
                  key={seg.label}
                  className={`jp-grader-chart-seg jp-grader-tone-${seg.tone}`}
                  x={x}
                  y={y}
                  width={w}
                  height={rowH}
                >
                  <title>{`${row.label}, ${seg.label}: ${seg.value}`}</title>
                </rect>
              );
              x += w;
              return rect;
            })}
          </g>
        );
      })}
    </ChartFigure>
  );
}

/** Horizontal bars of a share (0..1) per item, e.g. failure rate per test cell. */
export function ShareBars(props: {
  title: string;
  description: string;
  items: { label: string; share: number; detail: string }[];
  valueLabel: string;
}): JSX.Element {
  const rowH = 18;
  const labelW = 200;
  const height = Math.max(1, props.items.length) * (rowH + 6) + 8;
  const plotW = W - labelW - 50;
  return (
    <ChartFigure
      title={props.title}
      description={props.description}
      height={height}
      columns={['Cell', props.valueLabel]}
      rows={props.items.map(i => [i.label, `${Math.round(i.share * 100)}% (${i.detail})`] as [string, string])}
    >
      {props.items.map((item, i) => {
        const y = 4 + i * (rowH + 6);
        return (
          <g key={item.label}>
            <text aria-hidden="true" className="jp-grader-chart-tick" x={labelW - 6} y={y + rowH - 4} textAnchor="end">
              {item.label.length > 32 ? `${item.label.slice(0, 31)}…` : item.label}
            </text>
            <rect className="jp-grader-chart-track" x={labelW} y={y} width={plotW} height={rowH} />
            <rect
              className="jp-grader-chart-bar jp-grader-tone-error"
              x={labelW}
              y={y}
              width={plotW * Math.min(1, Math.max(0, item.share))}
              height={rowH}
            >
              <title>{`${item.label}: ${Math.round(item.share * 100)}% (${item.detail})`}</title>
            </rect>
            <text aria-hidden="true" className="jp-grader-chart-tick" x={labelW + plotW + 4} y={y + rowH - 4}>
              {Math.round(item.share * 100)}%
            </text>
          </g>
        );
      })}
    </ChartFigure>
  );
}
