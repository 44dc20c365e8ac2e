/**
 * Application messages between nodes: `notify(node, topic, payload)` delivers `payload` to the
 * handlers `subscribe`d to `topic` on `node`. Fire and forget, like Erlang's `!` to a
 * registered process on another node (`{Name, Node} ! Msg`), which is what a riak_core
 * application's vnode does to reach, say, the process of a connected client. A chat room's
 * vnode pushes lines this way to the nodes where the room's members are connected.
 *
 * Frame: `{t: 'notify', topic, payload}`. Payloads are copied (msgpack over the wire,
 * `structuredClone` locally), so a subscriber never shares the sender's objects.
 */
import type { TSchema } from '@sinclair/typebox';
import type { Frame } from './frame.js';
import type { Logger } from './log.js';
import { problem, type NotifyFrame } from './wire.js';

/** Receives the payloads sent to one topic on this node (a returned promise that rejects is logged). */
export type Subscriber = (payload: unknown) => unknown;

export type { NotifyFrame } from './wire.js';

/** One node's topics and their subscribers. */
export class Messaging {
  private readonly subscribers = new Map<string, Set<Subscriber>>();
  private readonly schemas = new Map<string, TSchema>();

  /**
   * @param self this node's name (a notify to it is delivered locally)
   * @param send sends a frame to another node; false if that node is not connected
   */
  constructor(
    private readonly self: string,
    private readonly send: (node: string, frame: Frame) => boolean,
    private readonly log: Logger,
  ) {}

  /**
   * Receive the payloads vnodes (or anyone) `notify` to `topic` on this node. With
   * `opts.payload`, a payload from another node that does not fit that schema is dropped and
   * logged instead of delivered (the topic's last schema given applies).
   * @returns a function that unsubscribes.
   */
  subscribe(topic: string, handler: Subscriber, opts: { payload?: TSchema } = {}): () => void {
    if (opts.payload) this.schemas.set(topic, opts.payload);
    const set = this.subscribers.get(topic) ?? new Set();
    this.subscribers.set(topic, set.add(handler));
    return () => void set.delete(handler);
  }

  /**
   * Send `payload` to `topic`'s subscribers on `node` (locally when `node` is us). Fire and
   * forget: always asynchronous, never an answer. @returns false if `node` is not connected.
   */
  notify(node: string, topic: string, payload: unknown): boolean {
    if (node === this.self) {
      // Asynchronous like a remote delivery, and copied: subscribers never share the sender's objects.
      const copy = structuredClone(payload);
      setImmediate(() => this.deliver(topic, copy));
      return true;
    }
    return this.send(node, { t: 'notify', topic, payload } satisfies NotifyFrame);
  }

  /** Handle a frame from another node. @returns true if it was a notify frame (and was delivered). */
  handleFrame(frame: Frame): boolean {
    if (frame.t !== 'notify') return false;
    const { topic, payload } = frame as NotifyFrame; // its fields were checked by the transport
    const schema = this.schemas.get(topic);
    const why = schema && problem(schema, payload);
    if (why) this.log.warn(`dropped a malformed ${topic} message: ${why}`);
    else this.deliver(topic, payload);
    return true;
  }

  /** Call every subscriber of `topic`; one that throws is logged and does not stop the others. */
  private deliver(topic: string, payload: unknown): void {
    for (const handler of this.subscribers.get(topic) ?? []) {
      try {
        const done = handler(payload);
        if (done instanceof Promise)
          done.catch((err: unknown) => this.log.error(`subscriber of ${topic} failed: ${(err as Error).stack ?? err}`));
      } catch (err) {
        this.log.error(`subscriber of ${topic} failed: ${(err as Error).stack ?? err}`);
      }
    }
  }
}
