/**
 * Holds this node's current ring (`riak_core_ring_manager`): every part of the node reads
 * the ring from here and is told when it changes. Optionally saves it to a file after each
 * change, like riak's ring files, so a restarted node comes back as the same member.
 *
 * Events: `ring` (ring: Ring, previous: Ring) after every change; `save_error` (err: Error,
 * attempt: number) when saving the ring file failed (it is tried again, with the ring current
 * then, after 50 ms, doubling up to 2 s, until a save succeeds). A failed save never loses the
 * change: the ring in memory and the event come first. On Windows a virus scanner or indexer
 * holding the file makes the rename fail for a moment (EPERM, EBUSY).
 */
import { EventEmitter } from 'node:events';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { sameRing, type Ring } from './ring.js';
import { ringProblem } from './wire.js';

export class RingManager extends EventEmitter {
  private current: Ring;
  /** Failed saves in a row, and the timer of the next attempt. */
  private saveFailures = 0;
  private retry?: NodeJS.Timeout;

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

  /** Stop retrying a failed save (the node is stopping). */
  close(): void {
    clearTimeout(this.retry);
    this.retry = undefined;
  }

  private save(): void {
    if (!this.ringFile || this.retry) return; // a retry pending saves the ring current then
    try {
      mkdirSync(dirname(this.ringFile), { recursive: true });
      const tmp = `${this.ringFile}.tmp`;
      writeFileSync(tmp, JSON.stringify(this.current));
      renameSync(tmp, this.ringFile); // atomic: a crash never leaves half a ring
      this.saveFailures = 0;
    } catch (err) {
      this.saveFailures++;
      if (this.listenerCount('save_error') > 0) this.emit('save_error', err, this.saveFailures);
      this.retry = setTimeout(
        () => {
          this.retry = undefined;
          this.save();
        },
        Math.min(2000, 50 * 2 ** (this.saveFailures - 1)),
      );
      this.retry.unref();
    }
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
  const why = ringProblem(ring);
  if (why !== undefined) throw new Error(`${file} does not hold a well-formed ring: ${why}`);
  return ring as Ring;
}
