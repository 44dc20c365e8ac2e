/**
 * Worker process of the HTTP rows: runs the load client (http_client.ts) on request, so the
 * client does not share the servers' event loop (`startChild('worker_http.ts')`).
 */
import { serveParent } from './children.js';
import { httpLoad, type HttpLoadSpec } from './http_client.js';

serveParent({ load: (msg) => httpLoad(msg.spec as HttpLoadSpec) });
