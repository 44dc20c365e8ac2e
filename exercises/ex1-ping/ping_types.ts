/**
 * Exercise 1, given: the messages of the ping service. The client (ping.ts) sends a
 * {@link PingRequest} to a vnode, the vnode (ping_vnode.ts) answers with a {@link Pong}.
 */
import { Type, type Static } from '@sinclair/typebox';

/** Longest key a ping_key request may carry, in characters. */
export const MAX_KEY_LENGTH = 1024;

/**
 * The requests the ping vnode understands, as a schema: the service passes it as its
 * `requests`, so the vnode master refuses anything else (`bad_request`) before a vnode sees it.
 */
export const PingRequestSchema = Type.Union([
  Type.Object({ type: Type.Literal('ping') }),
  Type.Object({ type: Type.Literal('ping_key'), key: Type.String({ maxLength: MAX_KEY_LENGTH }) }),
]);

/** Requests the ping vnode understands (derived from {@link PingRequestSchema}). */
export type PingRequest = Readonly<Static<typeof PingRequestSchema>>;

/** What a ping vnode answers: the partition and node that handled the ping. */
export interface Pong {
  readonly pong: true;
  /** The partition of the vnode that answered, 0 to Q − 1. */
  readonly partition: number;
  /** The node that vnode runs on, e.g. `dev3@127.0.0.1`. */
  readonly node: string;
  /** The key that was hashed (ping_key only). */
  readonly key?: string;
}
