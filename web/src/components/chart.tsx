import type { HourVolume } from '../../../functions/console-api/contract.ts';
import { count } from '../format.ts';
import { type Column, DataTable } from './data-table.tsx';

const width = 720;
const height = 220;
const margin = { top: 12, right: 8, bottom: 28, left: 48 };

/** Rows per hour, stacked by export type, as inline SVG; the same numbers as a table beneath it. */
export function VolumeChart({ hours, title }: { hours: HourVolume[]; title: string }) {
  const types = [...new Set(hours.flatMap((h) => Object.keys(h.byType)))].sort();
  const totals = hours.map((h) => Object.values(h.byType).reduce((sum, n) => sum + n, 0));
  const max = Math.max(1, ...totals);
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const slot = plotWidth / Math.max(1, hours.length);
  const barWidth = Math.max(2, slot * 0.7);
  const y = (value: number) => margin.top + plotHeight - (value / max) * plotHeight;
  const ticks = [0, max / 2, max].map((t) => Math.round(t));
  const id = `chart-${title.replace(/\W+/g, '-').toLowerCase()}`;
  if (hours.length === 0) return <p>No rows yet.</p>;
  return (
    <figure class="chart">
      <figcaption id={id}>{title}</figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby={id} class="chart-svg">
        <title>{title}</title>
        {ticks.map((tick) => (
          <g key={tick}>
            <line x1={margin.left} x2={width - margin.right} y1={y(tick)} y2={y(tick)} class="chart-grid" />
            <text x={margin.left - 6} y={y(tick) + 4} text-anchor="end" class="chart-label">
              {count(tick)}
            </text>
          </g>
        ))}
        {hours.map((hour, i) => {
          let base = 0;
          const x = margin.left + i * slot + (slot - barWidth) / 2;
          return (
            <g key={hour.hour}>
              {types.map((type, t) => {
                const value = hour.byType[type] ?? 0;
                if (value === 0) return null;
                const top = y(base + value);
                const rect = (
                  <rect key={type} x={x} y={top} width={barWidth} height={y(base) - top} class={`series-${t % 8}`}>
                    <title>{`${hour.hour} ${type}: ${count(value)}`}</title>
                  </rect>
                );
                base += value;
                return rect;
              })}
              {(hours.length <= 12 || i % 2 === 0) && (
                <text x={x + barWidth / 2} y={height - 10} text-anchor="middle" class="chart-label">
                  {hour.hour.slice(0, 2)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <ul class="legend">
        {types.map((type, t) => (
          <li key={type}>
            <span class={`swatch series-${t % 8}`} aria-hidden="true" />
            {type}
          </li>
        ))}
      </ul>
      <details>
        <summary>The numbers</summary>
        <DataTable
          label="Rows per hour"
          columns={[
            { header: 'Hour', cell: (hour) => hour.hour, rowHeader: true },
            ...types.map(
              (type): Column<HourVolume> => ({
                header: type,
                cell: (hour) => count(hour.byType[type] ?? 0),
                class: 'num',
              }),
            ),
          ]}
          rows={hours}
          rowKey={(hour) => hour.hour}
        />
      </details>
    </figure>
  );
}
