/** A small SVG line chart (no chart library: a few series of at most a few thousand points). */

export interface ChartSeries {
  name: string;
  points: readonly { x: number; y: number }[];
}

const PALETTE = ['#1d4ed8', '#b45309', '#047857', '#a21caf', '#b91c1c', '#0e7490', '#4d7c0f', '#6d28d9'];
const WIDTH = 480;
const HEIGHT = 220;
const PAD = { left: 56, right: 12, top: 12, bottom: 32 };

function extent(values: readonly number[]): [number, number] {
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!Number.isFinite(min)) return [0, 1];
  if (min === max) return [min - 1, max + 1];
  return [min, max];
}

function tickLabel(value: number): string {
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 0.01 || abs >= 10_000)) return value.toExponential(1);
  return String(Math.round(value * 1000) / 1000);
}

export function LineChart({
  title,
  xLabel,
  yLabel,
  series,
}: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly ChartSeries[];
}) {
  const all = series.flatMap((s) => s.points);
  const [xMin, xMax] = extent(all.map((p) => p.x));
  const [yMin, yMax] = extent(all.map((p) => p.y));
  const sx = (x: number) => PAD.left + ((x - xMin) / (xMax - xMin)) * (WIDTH - PAD.left - PAD.right);
  const sy = (y: number) =>
    HEIGHT - PAD.bottom - ((y - yMin) / (yMax - yMin)) * (HEIGHT - PAD.top - PAD.bottom);
  const yTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => yMin + f * (yMax - yMin));
  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={`${title}: ${yLabel} by ${xLabel}`}>
        <line
          x1={PAD.left}
          y1={HEIGHT - PAD.bottom}
          x2={WIDTH - PAD.right}
          y2={HEIGHT - PAD.bottom}
          stroke="#6b7280"
        />
        <line x1={PAD.left} y1={PAD.top} x2={PAD.left} y2={HEIGHT - PAD.bottom} stroke="#6b7280" />
        {yTicks.map((tick) => (
          <g key={tick}>
            <line x1={PAD.left - 4} x2={WIDTH - PAD.right} y1={sy(tick)} y2={sy(tick)} stroke="#e5e7eb" />
            <text x={PAD.left - 6} y={sy(tick) + 4} textAnchor="end" fontSize="12" fill="#374151">
              {tickLabel(tick)}
            </text>
          </g>
        ))}
        <text x={(WIDTH + PAD.left) / 2} y={HEIGHT - 6} textAnchor="middle" fontSize="11" fill="#374151">
          {xLabel}
        </text>
        {series.map((s, index) => (
          <polyline
            key={s.name}
            fill="none"
            strokeWidth="2"
            stroke={PALETTE[index % PALETTE.length]}
            points={s.points.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ')}
          />
        ))}
      </svg>
      <ul className="chart-legend">
        {series.map((s, index) => (
          <li key={s.name}>
            <span
              className="swatch"
              style={{ background: PALETTE[index % PALETTE.length] }}
              aria-hidden="true"
            />
            {s.name}
            {s.points.length > 0 && ` — last ${yLabel} ${tickLabel(s.points[s.points.length - 1]?.y ?? 0)}`}
          </li>
        ))}
      </ul>
    </figure>
  );
}
