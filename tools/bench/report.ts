/**
 * The bench's results table (terminal) and its JSON document (`--json`).
 * Each row is two lines: the figure with its median, range, ratio, target and verdict, then
 * its anchor, measured in the same run.
 */
import chalk from 'chalk';
import type { Machine } from './machine.js';
import { ANCHORS, NOT_RUN, QUICK_SKIPPED, targetText, type RowResult } from './rows.js';
import { formatRatio, formatSummary, type Summary } from './stats.js';

/** What a run was: where, on what, how. */
export interface RunInfo {
  readonly root: string;
  readonly commit: string;
  readonly quick: boolean;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly machine: Machine;
  /** 1-minute load average at the start and the end (other work on the machine skews figures). */
  readonly load: readonly [number, number];
}

const pad = (s: string, n: number) => s + ' '.repeat(Math.max(0, n - [...s].length));

/** The results table, ready to print (colour through chalk, which honours NO_COLOR / pipes). */
export function renderTable(all: readonly RowResult[], info: RunInfo): string {
  const left = (note: string) => all.filter((r) => !r.figure && r.notes.includes(note)).map((r) => r.spec.id);
  const notRun = left(NOT_RUN);
  const skipped = left(QUICK_SKIPPED);
  const rows = all.filter((r) => !notRun.includes(r.spec.id) && !skipped.includes(r.spec.id));
  const titleW = Math.max(...rows.map((r) => [...r.spec.title].length));
  const value = (s: Summary | undefined, r: RowResult) => (s ? formatSummary(s, r.spec.unit) : '—');
  const valueW = Math.max(...rows.map((r) => [...value(r.figure, r)].length), 'median (min–max)'.length);
  const lines = [
    chalk.bold(
      `${pad('figure', titleW)}  ${pad('median (min–max)', valueW)}  ${pad('ratio', 6)}  ${pad('target', 9)}  met`,
    ),
  ];
  for (const r of rows) {
    const met = r.met === undefined ? '' : r.met ? chalk.green('yes') : chalk.red('no');
    const figure = pad(value(r.figure, r), valueW);
    lines.push(
      `${pad(r.spec.title, titleW)}  ${r.figure ? figure : chalk.dim(figure)}  ${pad(formatRatio(r.ratio, r.spec.unit), 6)}  ${pad(targetText(r.spec.target), 9)}  ${met}`.trimEnd(),
    );
    if (r.spec.anchor)
      lines.push(chalk.dim(`  anchor: ${ANCHORS[r.spec.anchor]}: ${r.anchor ? value(r.anchor, r) : '—'}`));
    for (const n of r.notes) lines.push(chalk.yellow(`  note: ${n}`));
  }
  if (skipped.length > 0) lines.push(chalk.dim(`${QUICK_SKIPPED}: ${skipped.join(', ')}`));
  if (notRun.length > 0) lines.push(chalk.dim(`${NOT_RUN}: ${notRun.join(', ')}`));
  lines.push(
    chalk.dim(
      `${info.root} at ${info.commit}${info.quick ? ' (--quick)' : ''}; ${info.machine.cpus} CPUs ${info.machine.cpuModel}, Node ${info.machine.node}, ${info.machine.os}; load average ${info.load[0].toFixed(1)} at the start, ${info.load[1].toFixed(1)} at the end`,
    ),
  );
  return lines.join('\n');
}

/** The `--json` document: run info and, per row, samples, medians, ranges, ratio and verdict. */
export function resultsDocument(rows: readonly RowResult[], info: RunInfo): unknown {
  return {
    version: 1,
    ...info,
    rows: rows.map((r) => ({
      id: r.spec.id,
      title: r.spec.title,
      unit: r.spec.unit,
      figure: r.figure ? { ...r.figure, samples: r.samples } : null,
      anchor: r.spec.anchor
        ? { id: r.spec.anchor, title: ANCHORS[r.spec.anchor], ...(r.anchor ?? {}), samples: r.anchorSamples }
        : null,
      ratio: r.ratio ?? null,
      ratioText: formatRatio(r.ratio, r.spec.unit),
      target: r.spec.target ? { ...r.spec.target, text: targetText(r.spec.target) } : null,
      met: r.met ?? null,
      notes: r.notes,
    })),
  };
}
