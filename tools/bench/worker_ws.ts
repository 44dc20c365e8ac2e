/**
 * Worker process of the handoff row's anchor: plain ws + msgpackr peers, no runtime. One worker
 * listens and counts (`listen`), another streams `{ t: 'data', b: <64 KiB> }` frames to it
 * (`send`) and waits for the count; the byte rate is the sender's, from the first frame to the
 * sink's answer.
 */
import type { AddressInfo } from 'node:net';
import { pack, unpack } from 'msgpackr';
import { WebSocket, WebSocketServer } from 'ws';
import { serveParent } from './children.js';

/** Frames whose send callback has not run yet: bounded, so memory stays bounded. */
const WINDOW = 16;

let server: WebSocketServer | undefined;
const sockets = new Map<string, WebSocket>();

function open(url: string): Promise<WebSocket> {
  const known = sockets.get(url);
  if (known && known.readyState === WebSocket.OPEN) return Promise.resolve(known);
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => {
      sockets.set(url, ws);
      resolve(ws);
    });
    ws.once('error', reject);
  });
}

serveParent({
  async listen() {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 8 << 20 });
    server = wss;
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    wss.on('connection', (ws) => {
      let bytes = 0;
      ws.on('message', (data: Buffer) => {
        const frame = unpack(data) as { t: string; b?: Uint8Array };
        if (frame.t === 'data') bytes += frame.b?.length ?? 0;
        else if (frame.t === 'end') {
          ws.send(pack({ t: 'done', bytes }));
          bytes = 0;
        }
      });
    });
    return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}` };
  },
  async send(msg) {
    const ws = await open(String(msg.url));
    const messageBytes = Number(msg.messageBytes);
    const count = Math.ceil(Number(msg.totalBytes) / messageBytes);
    const payload = Buffer.alloc(messageBytes, 7);
    const t0 = performance.now();
    let inFlight = 0;
    let wake: (() => void) | undefined;
    for (let i = 0; i < count; i++) {
      while (inFlight >= WINDOW) await new Promise<void>((r) => (wake = r));
      inFlight++;
      ws.send(pack({ t: 'data', b: payload }), () => {
        inFlight--;
        wake?.();
        wake = undefined;
      });
    }
    const done = new Promise<number>((resolve) =>
      ws.once('message', (data: Buffer) => resolve((unpack(data) as { bytes: number }).bytes)),
    );
    ws.send(pack({ t: 'end' }));
    const bytes = await done;
    return { ms: performance.now() - t0, bytes };
  },
  async stop() {
    for (const ws of sockets.values()) ws.close();
    server?.close();
    return true;
  },
});
