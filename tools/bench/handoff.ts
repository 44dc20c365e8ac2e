/**
 * Row `handoff`: the byte rate of ownership handoff between two node processes. A node holding
 * `items` 1 KiB values (the finished ex4 KV vnode) is joined by an empty one; about half of the
 * partitions move. The rate is the bytes of the partitions that moved over the time from the
 * first transfer's start to the last one's completion (the sender's handoff manager, polled
 * every 2 ms). Anchor: plain ws + msgpackr between two processes, 64 KiB messages, the same
 * number of bytes. Both sides run in worker processes (worker_ring.ts, worker_ws.ts).
 */
import { startChild, type Child } from './children.js';
import { cleanup, messageOf, type StepContext } from './runner.js';
import { formatByteRate, formatMs } from './stats.js';
import type { HandoffMeasure } from './worker_ring.js';

const VALUE_BYTES = 1024;
const MESSAGE_BYTES = 64 * 1024;

export async function benchHandoff(ctx: StepContext): Promise<void> {
  const { progress, results } = ctx;
  const step = 'handoff';
  const reps = ctx.reps ?? (ctx.quick ? 1 : 3);
  const items = ctx.quick ? 16_384 : 65_536;
  const moved = (items * VALUE_BYTES) / 2;
  const children: Child[] = [];
  const child = (script: string, args: string[] = []) => {
    const c = startChild(script, args, { RING_LOG: 'error' });
    children.push(c);
    return c;
  };
  const stopAll = async () => {
    await Promise.all(
      children.splice(0).map((c) => cleanup(progress, step, `stopping worker ${c.pid}`, 5000, () => c.stop())),
    );
  };
  try {
    const sink = child('worker_ws.ts');
    const source = child('worker_ws.ts');
    const { url } = await sink.request<{ url: string }>('listen', {}, 30_000);
    progress.line(step, `ws anchor between pids ${sink.pid} and ${source.pid}; warming up`);
    await source.request('send', { url, totalBytes: 16 << 20, messageBytes: MESSAGE_BYTES }, 60_000);
    progress.line(
      step,
      `${reps} interleaved repetitions: ${items} values of 1 KiB on one node, a second node joins (about ${Math.round(moved / 1e6)} MB move)`,
    );
    for (let rep = 1; rep <= reps; rep++) {
      const a = await source.request<{ ms: number; bytes: number }>(
        'send',
        { url, totalBytes: moved, messageBytes: MESSAGE_BYTES },
        60_000,
      );
      results.addAnchor('ws', (a.bytes * 1000) / a.ms);
      const src = child('worker_ring.ts', [ctx.root]);
      const dst = child('worker_ring.ts', [ctx.root]);
      try {
        const [s, d] = await Promise.all([
          src.request<{ addr: string; name: string }>(
            'start',
            { name: 'src@127.0.0.1', items, valueBytes: VALUE_BYTES },
            60_000,
          ),
          dst.request<{ addr: string; name: string }>('start', { name: 'dst@127.0.0.1' }, 60_000),
        ]);
        await dst.request('join', { seed: s.addr }, 30_000);
        const m = await src.request<HandoffMeasure>('measure', { target: d.name, timeoutMs: 120_000 }, 130_000);
        results.add('handoff', (m.bytes * 1000) / m.ms);
        progress.line(
          step,
          `rep ${rep}/${reps}: handoff ${formatByteRate((m.bytes * 1000) / m.ms)} (${m.transfers} transfers, ${(m.bytes / 1e6).toFixed(1)} MB in ${formatMs(m.ms)}; settled ${formatMs(m.settleMs)} after the commit), ws ${formatByteRate((a.bytes * 1000) / a.ms)}`,
        );
      } finally {
        for (const c of [src, dst]) {
          children.splice(children.indexOf(c), 1);
          await cleanup(progress, step, `stopping worker ${c.pid}`, 5000, () => c.stop());
        }
      }
    }
  } catch (err) {
    results.note('handoff', messageOf(err));
    throw err;
  } finally {
    await stopAll();
  }
}
