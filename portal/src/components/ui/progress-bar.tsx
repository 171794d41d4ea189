/** A native progress element with a visible label; `value` in [0, 1], undefined when indeterminate. */
export function ProgressBar({ value, label }: { value: number | undefined; label: string }) {
  const percent = value === undefined ? undefined : Math.round(Math.min(1, Math.max(0, value)) * 1000) / 10;
  return (
    <div className="progress">
      <progress max={100} value={percent} aria-label={label} />
      <span className="progress-text">{percent === undefined ? '—' : `${percent}%`}</span>
    </div>
  );
}
