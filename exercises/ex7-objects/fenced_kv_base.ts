/**
 * Exercise 7, given: what the fenced KV vnode (fenced_kv_vnode.ts) builds on. Exercise 4's
 * finished KV vnode (replicated, last-write-wins, handoff), plus reading and raising the
 * fence of a key (see fence_types.ts for where it is kept) and merging what a handing-off
 * replica held.
 */
import type { Entry } from '../ex3-coordinator/kv_vnode.js';
import { KvVnode } from '../../solutions/ex4-handoff/kv_vnode.js';
import {
  compareFenced,
  decodeFencedItem,
  fenceEntry,
  fenceKey,
  fenceOf,
  type FencedEntry,
  type Held,
} from './fence_types.js';

/** Exercise 4's KV vnode with the fence helpers. */
export class FencedKvBase extends KvVnode {
  /** The fence this replica holds for `key` (0: never claimed). */
  fence(key: string): number {
    return fenceOf(this.data.get(fenceKey(key)));
  }

  /** Raise the fence of `key` to `epoch` (never lowers it). */
  raiseFence(key: string, epoch: number): void {
    if (epoch > this.fence(key)) this.data.set(fenceKey(key), fenceEntry(epoch));
  }

  /** The entry held for `key`, or null. */
  entry(key: string): Entry | null {
    return this.data.get(key) ?? null;
  }

  /**
   * Apply `entry` under `key` if it is newer than ours by {@link compareFenced} (epoch, then
   * version; entries without an epoch, exercise 3's put rule).
   */
  keepNewer(key: string, entry: FencedEntry | null): void {
    const mine = this.data.get(key);
    if (entry && (!mine || compareFenced(entry, mine) > 0)) this.data.set(key, entry);
  }

  /**
   * Handoff data (exercise 4's encoding, `[key, entry]`), merged by {@link keepNewer}.
   * @throws RingError `bad_request` for a malformed item, before anything is stored.
   */
  override handleHandoffData(data: Uint8Array): void {
    const [key, entry] = decodeFencedItem(data);
    this.keepNewer(key, entry);
  }

  /** What we hold for `key`, to send along with a request we forward during a handoff. */
  held(key: string): Held {
    return { fence: this.fence(key), fenceEntry: this.data.get(fenceKey(key)) ?? null, entry: this.entry(key) };
  }

  /** Merge what a handing-off replica held for `key`: the higher fence, the newer entry. */
  merge(key: string, held: Held): void {
    this.keepNewer(fenceKey(key), held.fenceEntry);
    this.keepNewer(key, held.entry);
  }
}
