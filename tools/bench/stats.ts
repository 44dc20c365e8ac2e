/**
 * The bench's statistics and number formatting (pure): medians and ranges of repeated samples,
 * rates, durations, byte rates, and the ratio of a figure to its anchor.
 */

/** Median, range and count of a set of samples (same unit as the samples). */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

/**
 * The median of `xs` (mean of the two middle values for an even count).
 * @throws RangeError when `xs` is empty.
 */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of no samples');
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Median, min, max and count of `xs`; undefined when there are no samples. */
export function summarize(xs: readonly number[]): Summary | undefined {
  if (xs.length === 0) return undefined;
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

/** What a row's samples count: operations per second, bytes per second, or milliseconds. */
export type Unit = 'ops/s' | 'B/s' | 'ms';

/** `950/s`, `15.0k/s`, `1.20M/s`. */
export function formatRate(perSecond: number): string {
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)}M/s`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(1)}k/s`;
  return `${Math.round(perSecond)}/s`;
}

/** Decimal megabytes per second, as the table: `81 MB/s`, `0.52 MB/s`. */
export function formatByteRate(bytesPerSecond: number): string {
  const mb = bytesPerSecond / 1e6;
  return `${mb >= 10 ? Math.round(mb) : mb.toFixed(mb >= 1 ? 1 : 2)} MB/s`;
}

/** `13.5 ms`, `219 ms`, `1.9 s`, `52 s`. */
export function formatMs(ms: number): string {
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 1000)} s`;
}

/** One value in its unit. */
export function formatValue(value: number, unit: Unit): string {
  return unit === 'ops/s' ? formatRate(value) : unit === 'B/s' ? formatByteRate(value) : formatMs(value);
}

/** `15.0k/s (14.2k–15.3k/s)`: the median and the range of a summary. */
export function formatSummary(s: Summary, unit: Unit): string {
  if (s.n === 1) return formatValue(s.median, unit);
  return `${formatValue(s.median, unit)} (${formatValue(s.min, unit)}–${formatValue(s.max, unit)})`;
}

/**
 * The figure against its anchor, both medians. Rates (higher is better): figure / anchor with
 * two decimals, `0.18`. Durations (lower is better): how many times the anchor, `×709`, `×6.4`.
 * Undefined when either is missing or the anchor is 0.
 */
export function ratio(figure: number | undefined, anchor: number | undefined): number | undefined {
  if (figure === undefined || anchor === undefined || anchor === 0) return undefined;
  return figure / anchor;
}

/** The text of a {@link ratio}: `0.18` for rates, `×709` or `×6.4` for durations, `—` when missing. */
export function formatRatio(r: number | undefined, unit: Unit): string {
  if (r === undefined || !Number.isFinite(r)) return '—';
  if (unit !== 'ms') return r.toFixed(2);
  return `×${r >= 10 ? Math.round(r) : r.toFixed(1)}`;
}
