/**
 * Holds this node's current ring (`riak_core_ring_manager`): every part of the node reads
 * the ring from here and is told when it changes. Optionally saves it to a file after each
 * change, like riak's ring files, so a restarted node comes back as the same member.
 *
 * Events: `ring` (ring: Ring, previous: Ring) after every change.
 */
import { EventEmitter } from 'node:events';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { looksLikeRing, sameRing, type Ring } from './ring.js';

export class RingManager extends EventEmitter {
  private current: Ring;

  /** @param ringFile where to save the ring after each change (JSON), or undefined for memory only. */
  constructor(
    initial: Ring,
    private readonly ringFile?: string,
  ) {
    super();
    this.current = initial;
    this.save();
  }

  /** The ring as it is now (riak: `get_my_ring/0`). */
  get ring(): Ring {
    return this.current;
  }

  /**
   * Replace the ring (riak: `set_my_ring/1`); emits `ring` if it differs in version, seen
   * table or lineage. `force` also stores changes outside those (a node's own address at start).
   */
  set(ring: Ring, force = false): void {
    const prev = this.current;
    if (ring === prev || (!force && sameRing(ring, prev) && ring.clusterId === prev.clusterId)) return;
    this.current = ring;
    this.save();
    this.emit('ring', ring, prev);
  }

  private save(): void {
    if (!this.ringFile) return;
    mkdirSync(dirname(this.ringFile), { recursive: true });
    const tmp = `${this.ringFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.current));
    renameSync(tmp, this.ringFile); // atomic: a crash never leaves half a ring
  }
}

/**
 * Read a ring saved by a {@link RingManager}. @returns undefined if the file does not exist.
 * @throws Error if the file exists but does not hold a ring.
 */
export function loadRingFile(file: string): Ring | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const ring: unknown = JSON.parse(text);
  if (!looksLikeRing(ring)) throw new Error(`${file} does not hold a ring`);
  return ring;
}
