/** The finished workshop app: what `npm start` runs (see shared/app.ts). */
import type { App } from '../shared/app.js';
import { ping, pingKey } from './ex1-ping/ping.js';
import { pingService } from './ex1-ping/ping_vnode.js';
import { fetch, remove, store } from './ex2-kv/kv.js';
import { kvService } from './ex2-kv/kv_vnode.js';

export const app: App = {
  services: () => [pingService, kvService],
  commands: {
    ping: { help: 'ping(): ping a vnode picked by hashing the time (ex1)', run: (node) => ping(node) },
    pingKey: { help: 'pingKey(key): ping the vnode that owns key (ex1)', run: (node, key) => pingKey(node, String(key)) },
    store: { help: 'store(key, value): put value under key, one copy (ex2)', run: (node, key, value) => store(node, String(key), value) },
    fetch: { help: 'fetch(key): read key (ex2)', run: (node, key) => fetch(node, String(key)) },
    del: { help: 'del(key): delete key (ex2)', run: (node, key) => remove(node, String(key)) },
  },
};
