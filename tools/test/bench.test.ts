// The pure parts of `npm run bench`: statistics, number and ratio formatting, the command line,
// rows and their verdicts, and the HTTP response framing of the load client. No timing here.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../shared/cli/options.js';
import { responseLength } from '../bench/http_client.js';
import { BENCH_REPO, parseBenchArgs, STEPS } from '../bench/options.js';
import { ROWS, Results, targetMet, targetText } from '../bench/rows.js';
import {
  formatByteRate,
  formatMs,
  formatRate,
  formatRatio,
  formatSummary,
  median,
  ratio,
  summarize,
} from '../bench/stats.js';

describe('bench statistics', () => {
  it('takes the median of odd and even counts, unsorted', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(() => median([])).toThrow(RangeError);
  });

  it('summarizes median, min, max and count', () => {
    expect(summarize([5, 1, 9, 3])).toEqual({ median: 4, min: 1, max: 9, n: 4 });
    expect(summarize([])).toBeUndefined();
  });

  it('formats rates, byte rates and durations as the issue table does', () => {
    expect(formatRate(15_000)).toBe('15.0k/s');
    expect(formatRate(950.4)).toBe('950/s');
    expect(formatRate(1_234_567)).toBe('1.23M/s');
    expect(formatByteRate(81e6)).toBe('81 MB/s');
    expect(formatByteRate(5.25e6)).toBe('5.3 MB/s');
    expect(formatByteRate(0.5e6)).toBe('0.50 MB/s');
    expect(formatMs(13.54)).toBe('13.5 ms');
    expect(formatMs(219.4)).toBe('219 ms');
    expect(formatMs(1900)).toBe('1.9 s');
    expect(formatMs(52_300)).toBe('52 s');
  });

  it('formats a median with its range, and a single sample alone', () => {
    expect(formatSummary({ median: 15_000, min: 14_200, max: 15_300, n: 5 }, 'ops/s')).toBe(
      '15.0k/s (14.2k/s–15.3k/s)',
    );
    expect(formatSummary({ median: 219, min: 219, max: 219, n: 1 }, 'ms')).toBe('219 ms');
  });

  it('gives rates as a fraction of the anchor and durations as a multiple', () => {
    expect(formatRatio(ratio(15_000, 83_000), 'ops/s')).toBe('0.18');
    expect(formatRatio(ratio(9800, 13.5), 'ms')).toBe('×726');
    expect(formatRatio(ratio(5100, 800), 'ms')).toBe('×6.4');
    expect(ratio(1, 0)).toBeUndefined();
    expect(ratio(undefined, 3)).toBeUndefined();
    expect(formatRatio(undefined, 'ms')).toBe('—');
  });
});

describe('bench command line', () => {
  it('defaults to every step on this repository', () => {
    const o = parseBenchArgs([]);
    expect(o).toMatchObject({ quick: false, root: BENCH_REPO, only: [...STEPS], help: false });
    expect(o.json).toBeUndefined();
    expect(o.reps).toBeUndefined();
  });

  it('resolves --json and --root against the working directory, keeps step order for --only', () => {
    const o = parseBenchArgs(
      ['--quick', '--json', 'out.json', '--root', '../before', '--only', 'gossip, kv', '--reps', '4'],
      '/w/repo',
    );
    expect(o).toMatchObject({
      quick: true,
      json: '/w/repo/out.json',
      root: '/w/before',
      only: ['kv', 'gossip'],
      reps: 4,
    });
  });

  it('takes the gossip sizes in table order', () => {
    expect(parseBenchArgs(['--sizes', '64,16']).sizes).toEqual([16, 64]);
    expect(() => parseBenchArgs(['--sizes', '16,48'])).toThrow(/--sizes takes some of 16, 32, 64, got "48"/);
  });

  it('takes a directory for CPU profiles, relative to the working directory', () => {
    expect(parseBenchArgs(['--cpu-prof', 'prof'], '/x').cpuProf).toBe('/x/prof');
    expect(parseBenchArgs([]).cpuProf).toBeUndefined();
  });

  it('refuses unknown options, unknown steps, bad --reps and a missing value with a UsageError', () => {
    expect(() => parseBenchArgs(['--fast'])).toThrow(UsageError);
    expect(() => parseBenchArgs(['--only', 'kv,disk'])).toThrow(/unknown step "disk"/);
    expect(() => parseBenchArgs(['--reps', '0'])).toThrow(/--reps must be an integer between 1 and 50/);
    expect(() => parseBenchArgs(['--json'])).toThrow(UsageError);
    expect(() => parseBenchArgs(['extra'])).toThrow(/unexpected argument extra/);
  });
});

describe('bench rows', () => {
  it('has one row per figure of the issue, ids unique', () => {
    const ids = ROWS.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of [
      'put',
      'get',
      'http-put',
      'handoff',
      'gossip-16',
      'gossip-32',
      'gossip-64',
      'form-64',
      'room-8',
      'room-16',
      'room-32',
      'room-down',
      'progress',
      'solutions',
    ])
      expect(ids).toContain(id);
    expect(ids.filter((id) => id.startsWith('suite-'))).toHaveLength(8);
  });

  it('computes medians, the ratio to the anchor and the verdict', () => {
    const results = new Results();
    for (const x of [14_000, 15_000, 16_000]) results.add('put', x);
    for (const x of [80_000, 83_000, 90_000]) results.addAnchor('rpc', x);
    results.note('put', 'a remark');
    const put = results.rows().find((r) => r.spec.id === 'put');
    expect(put?.figure?.median).toBe(15_000);
    expect(put?.anchor?.median).toBe(83_000);
    expect(put?.ratio).toBeCloseTo(15 / 83);
    expect(put?.met).toBe(false);
    expect(put?.notes).toEqual(['a remark']);
    expect(() => results.add('nope', 1)).toThrow(/no bench row/);
  });

  it('judges ratio targets and duration targets', () => {
    expect(targetMet({ kind: 'min-ratio', value: 0.5 }, 10, 0.6)).toBe(true);
    expect(targetMet({ kind: 'max-ms', value: 3000 }, 3100, undefined)).toBe(false);
    expect(targetMet(undefined, 1, 1)).toBeUndefined();
    expect(targetText({ kind: 'max-ms', value: 25_000 })).toBe('≤ 25 s');
    expect(targetText({ kind: 'min-ratio', value: 0.25 })).toBe('≥ 0.25');
  });
});

describe('bench HTTP client framing', () => {
  it('finds the end of a content-length response, waits for a partial one', () => {
    const res = Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}HTTP/1.1');
    expect(responseLength(res)).toEqual({ length: res.length - 8, status: 200 });
    expect(responseLength(Buffer.from('HTTP/1.1 503 x\r\nContent-Length: 10\r\n\r\n{}'))).toBeUndefined();
    expect(responseLength(Buffer.from('HTTP/1.1 200 OK\r\ncontent-le'))).toBeUndefined();
  });

  it('finds the end of a chunked response', () => {
    const res = Buffer.from('HTTP/1.1 404 N\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n');
    expect(responseLength(res)).toEqual({ length: res.length, status: 404 });
  });
});
