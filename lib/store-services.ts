/**
 * What an open store runs for the world outside its process: the Kafka listener
 * (`store.serve()`) and mirrors (`store.mirror()`), and what they need of the store beyond its
 * public API (`internals`). Both stop when the store closes.
 */
import { randomBytes } from 'node:crypto';
import type { Catalog } from './catalog/catalog.js';
import { LogStoreError } from './errors.js';
import type { KafkaServer } from './kafka/server.js';
import type { KafkaServerOptions } from './kafka/server-options.js';
import type { StoreInternals } from './kafka/store-backend.js';
import { openPositions } from './mirror/local.js';
import { startMirror, type Mirror, type MirrorOptions } from './mirror/mirror.js';
import { invalidArgument } from './options.js';
import type { Groups } from './read/groups.js';
import { catalogPath } from './storage/layout.js';
import type { LogStore } from './store.js';
import type { StoreState } from './store-state.js';
import type { Topics } from './topics.js';

/** Options of `store.serve()`: the listener's (see kafka/server-options.ts), without the backend. */
export type ServeOptions = Omit<KafkaServerOptions, 'backend'>;

/** @internal */
export class StoreServices {
  /** Kafka listeners serving this store (closed with it). */
  private readonly servers = new Set<KafkaServer>();
  private serverStarting = false;
  /** Mirrors running on this store (stopped with it). */
  private readonly mirrors = new Set<Mirror>();

  constructor(
    private readonly store: LogStore,
    private readonly state: StoreState,
    private readonly catalog: Catalog,
    private readonly topics: Topics,
    private readonly groups: Groups,
  ) {}

  /** See `LogStore.serve`. */
  async serve(options: ServeOptions): Promise<KafkaServer> {
    if (options !== null && typeof options === 'object' && 'backend' in options)
      throw invalidArgument('serve() serves this store: it takes no `backend` option.');
    if (this.servers.size > 0 || this.serverStarting) {
      throw invalidArgument(
        'This store is already served; close that listener first (one listener keeps one group coordinator).',
      );
    }
    this.serverStarting = true;
    let server: KafkaServer;
    const { StoreBackend } = await import('./kafka/store-backend.js');
    const { CoordinatorBridge } = await import('./kafka/local-member.js');
    const backend = new StoreBackend(this.store, this.internals());
    try {
      const { KafkaServer } = await import('./kafka/server.js');
      server = await KafkaServer.start({ clusterId: this.clusterId(), ...options, backend });
    } finally {
      this.serverStarting = false;
    }
    if (this.state.closed) {
      await server.close(); // the store closed while the listener started
      this.state.checkOpen();
    }
    this.servers.add(server);
    const bridge = new CoordinatorBridge(server.coordinator, backend, server.log);
    this.groups.attachBridge(bridge);
    server.beforeClose(() => {
      this.servers.delete(server);
      this.groups.detachBridge(bridge);
    });
    return server;
  }

  /** See `LogStore.mirror`. */
  mirror(options: MirrorOptions): Mirror {
    const readOnly = this.store.options.readOnly;
    const m = startMirror(options, () => {
      this.state.checkOpen();
      const own = readOnly ? openPositions(catalogPath(this.store.dir)) : null;
      return {
        store: this.store,
        positions: own ? own.positions : this.catalog.mirrors,
        readOnly,
        log: (topic, partition) => this.internals().log(topic, partition),
        release: () => own?.close(),
      };
    });
    this.mirrors.add(m);
    void m.done.then(
      () => this.mirrors.delete(m),
      () => this.mirrors.delete(m),
    );
    return m;
  }

  /** Stops the mirrors, then closes the listener. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.mirrors].map((m) => m.stop()));
    for (const server of [...this.servers]) await server.close();
  }

  /** What the Kafka listener's backend and the mirrors need beyond the public API. */
  internals(): StoreInternals {
    return {
      log: (topic, partition) => {
        this.state.checkOpen();
        const state = this.topics.get(topic);
        const log = state.logs[partition];
        if (!log)
          throw new LogStoreError(
            'LOGSTORE_TOPIC_NOT_FOUND',
            `Topic '${topic}' has no partition ${partition}.`,
          );
        return log;
      },
      topic: (name) => {
        this.state.checkOpen();
        return this.topics.find(name);
      },
      groups: this.catalog.groups,
      producerIds: this.store.producerIds,
      checkWritable: this.state.checkWritable,
    };
  }

  /**
   * The Kafka cluster id this store's listeners give (random, made once and kept in the catalog):
   * clients and mirrors tell two served stores apart by it, as they tell Kafka clusters apart.
   */
  private clusterId(): string {
    let id = this.catalog.getMeta('cluster_id');
    if (id === undefined) {
      id = randomBytes(16).toString('base64url');
      this.catalog.setMeta('cluster_id', id);
    }
    return id;
  }
}
