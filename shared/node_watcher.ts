/**
 * Which nodes are up, and which services each offers (`riak_core_node_watcher`).
 *
 * Liveness comes from the transport (connection open and heartbeats arriving); services
 * ride on the heartbeats, so a peer's new service is known within one heartbeat period.
 * Services are kept only for the transport's peers, and forgotten with them.
 * Events: `up` (node), `down` (node), `services` (node, services).
 */
import { EventEmitter } from 'node:events';
import type { Transport } from './transport.js';

export class NodeWatcher extends EventEmitter {
  private readonly local = new Set<string>();
  private readonly remote = new Map<string, readonly string[]>();

  constructor(private readonly transport: Transport) {
    super();
    transport.on('up', (node: string) => this.emit('up', node));
    transport.on('down', (node: string) => this.emit('down', node));
    transport.on('heartbeat', (node: string, services: readonly string[]) => {
      // Only peers we keep a link to count (a ring member, or a node that dialled us and is
      // being dialled back); what anyone else announces is not kept. The list itself is
      // bounded by the heartbeat's schema (wire.ts MAX_SERVICES).
      if (!transport.hasPeer(node)) return;
      const prev = this.remote.get(node);
      if (!prev || prev.join() !== services.join()) {
        this.remote.set(node, [...services]);
        this.emit('services', node, services);
      }
    });
    // A forgotten peer's services go with it: names that come and go leave nothing behind.
    transport.on('removed', (node: string) => this.remote.delete(node));
  }

  /** Advertise a local service (riak: `service_up/2`). */
  serviceUp(service: string): void {
    this.local.add(service);
  }

  /** Stop advertising a local service (riak: `service_down/1`). */
  serviceDown(service: string): void {
    this.local.delete(service);
  }

  /** What our heartbeats carry. */
  heartbeat(): { services: string[] } {
    return { services: [...this.local] };
  }

  /** True if `node` is reachable (ourselves always). */
  isUp(node: string): boolean {
    return this.transport.isUp(node);
  }

  /** Services `node` offers, as last heard. */
  services(node: string): readonly string[] {
    return node === this.transport.node ? [...this.local] : (this.remote.get(node) ?? []);
  }

  /**
   * Up nodes, ourselves included; with `service`, only those offering it
   * (riak: `nodes/1`).
   */
  upNodes(service?: string): string[] {
    const all = [this.transport.node, ...this.transport.peerNames().filter((n) => this.transport.isUp(n))];
    return service ? all.filter((n) => this.services(n).includes(service)) : all;
  }
}
