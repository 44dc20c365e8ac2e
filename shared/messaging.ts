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
import type { Logger } from './log.js';
import type { Frame } from './frame.js';

/** Receives the payloads sent to one topic on this node. */
export type Subscriber = (payload: unknown) => void;

/** The notify frame. */
export interface NotifyFrame extends Frame {
  readonly t: 'notify';
  readonly topic: string;
  readonly payload: unknown;
}

/** True if `frame` is a well-formed notify frame. */
export function isNotifyFrame(frame: Frame): frame is NotifyFrame {
  return frame.t === 'notify' && typeof frame.topic === 'string';
}

/** One node's topics and their subscribers. */
export class Messaging {
  private readonly subscribers = new Map<string, Set<Subscriber>>();

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
   * Receive the payloads vnodes (or anyone) `notify` to `topic` on this node.
   * @returns a function that unsubscribes.
   */
  subscribe(topic: string, handler: Subscriber): () => void {
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
    if (!isNotifyFrame(frame)) return false;
    this.deliver(frame.topic, frame.payload);
    return true;
  }

  /** Call every subscriber of `topic`; one that throws is logged and does not stop the others. */
  private deliver(topic: string, payload: unknown): void {
    for (const handler of this.subscribers.get(topic) ?? []) {
      try {
        handler(payload);
      } catch (err) {
        this.log.error(`subscriber of ${topic} failed: ${(err as Error).stack ?? err}`);
      }
    }
  }
}
