/**
 * The nemesis: breaks a {@link TestCluster} on purpose, the way Jepsen's and Maelstrom's do.
 *
 * - `partition(groups)`: frames between different groups are dropped, in both directions.
 *   Nodes not named in any group form one more group together.
 * - `heal()`: remove partitions, latency and drops.
 * - `latency(from, to, ms)`: delay every frame on a link (one direction; call twice for both).
 * - `drop(fraction)`: drop that fraction of all frames between nodes, chosen by the seeded PRNG.
 * - `kill(node)` / `restart(node)`: stop a node abruptly and start it again.
 *
 * Everything random comes from the seed given to the constructor, so a printed seed replays
 * the same choices (timing of the cluster itself can still vary).
 */
import type { Frame, LinkVerdict } from '../transport.js';
import type { TestCluster } from './cluster.js';
import { prng } from './seed.js';

/** One thing the nemesis did, for the test's log. */
export interface NemesisEvent {
  readonly at: number;
  readonly what: string;
}

export class Nemesis {
  private groups = new Map<string, number>();
  private readonly delays = new Map<string, number>();
  private dropFraction = 0;
  private readonly random: ReturnType<typeof prng>;
  /** What happened, in order (ms since the nemesis was made). */
  readonly history: NemesisEvent[] = [];
  private readonly t0 = Date.now();
  /** Frames dropped so far. */
  dropped = 0;

  constructor(
    private readonly cluster: TestCluster,
    readonly seed: number,
  ) {
    this.random = prng(seed);
    cluster.setLinkFilter((from, to, frame) => this.verdict(from, to, frame));
  }

  private note(what: string): void {
    this.history.push({ at: Date.now() - this.t0, what });
  }

  /** The fate of one frame from `from` to `to` (what every node's transport asks). */
  verdict(from: string, to: string, _frame: Frame): LinkVerdict {
    if (this.groups.size > 0 && (this.groups.get(from) ?? -1) !== (this.groups.get(to) ?? -1)) {
      this.dropped++;
      return 'drop';
    }
    if (this.dropFraction > 0 && this.random.next() < this.dropFraction) {
      this.dropped++;
      return 'drop';
    }
    const delayMs = this.delays.get(`${from}>${to}`);
    return delayMs ? { delayMs } : 'deliver';
  }

  /**
   * Split the cluster: nodes in different groups cannot exchange frames.
   * @param groups node names per group; unnamed nodes form one extra group.
   * @throws Error if a node is named twice.
   */
  partition(groups: readonly (readonly string[])[]): void {
    const map = new Map<string, number>();
    groups.forEach((g, i) => {
      for (const n of g) {
        if (map.has(n)) throw new Error(`${n} is in two groups`);
        map.set(n, i);
      }
    });
    this.groups = map;
    this.note(`partition ${groups.map((g) => `[${g.join(' ')}]`).join(' | ')}`);
  }

  /** Cut one node off from all the others (a partition of `node` against the rest). */
  isolate(node: string): void {
    this.partition([[node]]);
  }

  /** Delay every frame from `from` to `to` by `ms`. */
  latency(from: string, to: string, ms: number): void {
    this.delays.set(`${from}>${to}`, ms);
    this.note(`latency ${from} -> ${to} ${ms} ms`);
  }

  /** Drop `fraction` (0..1) of frames between nodes, chosen by the seeded PRNG. */
  drop(fraction: number): void {
    if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`fraction must be in 0..1, got ${fraction}`);
    this.dropFraction = fraction;
    this.note(`drop ${fraction}`);
  }

  /** Undo partitions, latency and drops. */
  heal(): void {
    this.groups = new Map();
    this.delays.clear();
    this.dropFraction = 0;
    this.note('heal');
  }

  /** Kill a node (its ring survives, as a ring file would). */
  async kill(node: string): Promise<void> {
    this.note(`kill ${node}`);
    await this.cluster.kill(node);
  }

  /** Restart a killed node. */
  async restart(node: string): Promise<void> {
    this.note(`restart ${node}`);
    await this.cluster.restart(node);
  }

  /** A seeded choice from `xs` (for tests that let the nemesis pick its victim). */
  pick<T>(xs: readonly T[]): T {
    return this.random.pick(xs);
  }

  /** A seeded integer in [0, max). */
  int(max: number): number {
    return this.random.int(max);
  }

  /** Remove the nemesis from the cluster. */
  detach(): void {
    this.heal();
    this.cluster.setLinkFilter(undefined);
  }
}
