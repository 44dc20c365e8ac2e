/**
 * The gossip rows' anchor: a one-hop broadcast over plain ws + msgpackr, no runtime. One
 * sender holds a connection to each of `peers` receivers (all in this process, like the
 * in-process TestCluster); a broadcast encodes the payload once, sends it to every receiver
 * and ends when every receiver has acknowledged it.
 */
import type { AddressInfo } from 'node:net';
import { pack, unpack } from 'msgpackr';
import { WebSocket, WebSocketServer } from 'ws';

/** Receivers and the sender's connections to them. */
export interface BroadcastPeers {
  /** Send `payload` to every receiver; resolves with the time until the last ack (ms). */
  broadcast(payload: unknown): Promise<number>;
  close(): Promise<void>;
}

/**
 * Start `peers` receivers on loopback (ephemeral ports) and connect the sender to each.
 * @throws the listen or connect error.
 */
export async function startBroadcastPeers(peers: number): Promise<BroadcastPeers> {
  const servers: WebSocketServer[] = [];
  const sockets: WebSocket[] = [];
  let acks = 0;
  let done: (() => void) | undefined;
  try {
    for (let i = 0; i < peers; i++) {
      const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
      servers.push(wss);
      await new Promise<void>((resolve, reject) => {
        wss.once('listening', resolve);
        wss.once('error', reject);
      });
      wss.on('connection', (ws) =>
        ws.on('message', (data: Buffer) => {
          const frame = unpack(data) as { t: string; id: number };
          ws.send(pack({ t: 'ack', id: frame.id }));
        }),
      );
      const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate: false });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      ws.on('message', () => {
        if (++acks === sockets.length) done?.();
      });
      sockets.push(ws);
    }
  } catch (err) {
    for (const ws of sockets) ws.terminate();
    for (const s of servers) s.close();
    throw err;
  }
  let id = 0;
  return {
    async broadcast(payload) {
      acks = 0;
      const t0 = performance.now();
      const all = new Promise<void>((resolve) => (done = resolve));
      const frame = pack({ t: 'ring', id: ++id, ring: payload });
      for (const ws of sockets) ws.send(frame);
      await all;
      return performance.now() - t0;
    },
    async close() {
      for (const ws of sockets) ws.terminate();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    },
  };
}
