/**
 * The wire format between nodes (and admin tools): a frame is a msgpack map with a string
 * tag `t` — what the external term format is to Erlang distribution. A binary WebSocket
 * message holds either one frame, or (between nodes, after the handshake) a *batch*: a msgpack
 * array of two or more frames, which a link writes when several frames for the same socket
 * are sent in one tick (one write instead of one per frame; Erlang's distribution buffers
 * its port the same way). One decoder serves every socket: {@link readFrame} for the
 * handshake (one frame), {@link readFrames} on links once authenticated (a frame or a batch).
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
 * One message holding several encoded frames (each from {@link encodeFrame}): a msgpack
 * array header followed by the frames' bytes, so frames are not encoded twice.
 * A single frame is returned as it is (a batch has two frames or more).
 */
export function encodeBatch(frames: readonly Buffer[]): Buffer {
  if (frames.length === 1) return frames[0] as Buffer;
  const n = frames.length;
  let header: Buffer;
  if (n < 16) header = Buffer.from([0x90 | n]);
  else if (n < 0x10000) header = Buffer.from([0xdc, n >> 8, n & 0xff]);
  else {
    header = Buffer.alloc(5);
    header[0] = 0xdd;
    header.writeUInt32BE(n, 1);
  }
  return Buffer.concat([header, ...frames]);
}

const isFrame = (value: unknown): value is Frame =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as Frame).t === 'string';

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
  if (!isFrame(value)) throw new FrameError('not_a_frame', 'frame is not a map with a string "t"');
  return value;
}

/**
 * Decode the bytes of one message: a frame, or a batch of frames (see {@link encodeBatch}).
 * All or nothing: a batch with one bad element is rejected whole.
 * @throws FrameError `not_msgpack` (msgpackr's message, trailing bytes included) or
 *   `not_a_frame` (neither a frame nor an array of two or more frames).
 */
export function decodeFrames(data: Buffer): Frame[] {
  let value: unknown;
  try {
    value = packr.unpack(data);
  } catch (err) {
    throw new FrameError('not_msgpack', (err as Error).message);
  }
  if (isFrame(value)) return [value];
  if (!Array.isArray(value) || value.length < 2 || !value.every(isFrame)) {
    throw new FrameError('not_a_frame', 'message is neither a map with a string "t" nor a batch of them');
  }
  return value;
}

/**
 * The frame in one WebSocket message, as `ws` hands it to a `message` listener.
 * @throws FrameError `text_frame` for a text message; as {@link decodeFrame} otherwise.
 */
export function readFrame(data: RawData, isBinary: boolean): Frame {
  if (!isBinary) throw new FrameError('text_frame', 'text frames are not allowed');
  return decodeFrame(toBuffer(data));
}

/**
 * The frames in one WebSocket message on an authenticated link: one frame or a batch.
 * @throws FrameError `text_frame` for a text message; as {@link decodeFrames} otherwise.
 */
export function readFrames(data: RawData, isBinary: boolean): Frame[] {
  if (!isBinary) throw new FrameError('text_frame', 'text frames are not allowed');
  return decodeFrames(toBuffer(data));
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
