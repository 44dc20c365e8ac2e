/**
 * The wire format between nodes (and admin tools): every frame is one binary WebSocket
 * message holding a msgpack map with a string tag `t` — what the external term format is to
 * Erlang distribution. One decoder ({@link readFrame}) serves every socket: the handshake,
 * inbound links, outbound links and admin connections.
 */
import { Packr } from 'msgpackr';
import type { RawData } from 'ws';

/** A message between nodes: a msgpack map with a string tag `t`. */
export interface Frame {
  readonly t: string;
  readonly [field: string]: unknown;
}

/**
 * WebSocket close codes we send (4000-4999 are for applications; the others are the
 * protocol's own: 1001 going away, 1007 invalid payload, 1009 message too big, which `ws`
 * sends itself when a frame exceeds `maxPayload`).
 */
export const CLOSE = { wrongCookie: 4001, badHandshake: 4002, malformed: 1007, tooBig: 1009, shutdown: 1001 } as const;
/** One of the {@link CLOSE} codes. */
export type CloseCode = (typeof CLOSE)[keyof typeof CLOSE];

/**
 * Why a message is not a frame: `text_frame` (a text WebSocket message), `not_msgpack`
 * (bytes msgpack cannot decode), `not_a_frame` (msgpack, but not a map with a string `t`).
 */
export type FrameErrorCode = 'text_frame' | 'not_msgpack' | 'not_a_frame';

/** A WebSocket message that is not a frame. Whoever reads it closes that connection with {@link CLOSE}.malformed. */
export class FrameError extends Error {
  constructor(
    readonly code: FrameErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'FrameError';
  }
}

const packr = new Packr({ useRecords: false, moreTypes: false });

/** Encode a frame (exported for tests that speak the protocol by hand). */
export const encodeFrame = (frame: Frame): Buffer => packr.pack(frame);

/**
 * Decode the bytes of one frame.
 * @throws FrameError `not_msgpack` (msgpackr's message) or `not_a_frame`.
 */
export function decodeFrame(data: Buffer): Frame {
  let value: unknown;
  try {
    value = packr.unpack(data);
  } catch (err) {
    throw new FrameError('not_msgpack', (err as Error).message);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || typeof (value as Frame).t !== 'string') {
    throw new FrameError('not_a_frame', 'frame is not a map with a string "t"');
  }
  return value as Frame;
}

/**
 * The frame in one WebSocket message, as `ws` hands it to a `message` listener.
 * @throws FrameError `text_frame` for a text message; as {@link decodeFrame} otherwise.
 */
export function readFrame(data: RawData, isBinary: boolean): Frame {
  if (!isBinary) throw new FrameError('text_frame', 'text frames are not allowed');
  return decodeFrame(toBuffer(data));
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
