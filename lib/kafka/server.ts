/**
 * The Kafka protocol listener: unmodified Kafka clients produce to and consume from a store
 * through it. It is one broker (node 0) that leads every partition and coordinates every group.
 *
 *   const server = await KafkaServer.start({ backend, port: 0 });
 *   server.address();   // { host, port }
 *   await server.close();  // stops accepting, answers what was received, closes connections
 *
 * The listener binds loopback unless told otherwise; another address needs SASL or
 * `insecure: true` (lib/kafka/server-options.ts). TLS with `tls: { cert, key }`.
 */
import net from 'node:net';
import os from 'node:os';
import tls from 'node:tls';
import { KafkaConnection } from './connection.js';
import { GroupCoordinator } from './group-coordinator.js';
import type { GenerationEvent } from './group.js';
import type { Broker } from './handlers/context.js';
import { OnceSignal } from './once-signal.js';
import { SaslUsers } from './sasl/mechanisms.js';
import { normalizeServerOptions, type KafkaServerOptions } from './server-options.js';

/** How long `close()` lets connections finish what they received before cutting them. */
const DRAIN_GRACE_MS = 5000;

export class KafkaServer {
  private readonly connections = new Set<KafkaConnection>();
  private closePromise: Promise<void> | undefined;
  private closing = false;
  private readonly generationListeners = new Set<(e: GenerationEvent) => void>();
  private readonly closeHooks: (() => void)[] = [];

  private constructor(
    private readonly listener: net.Server,
    private readonly broker: Broker,
  ) {}

  static async start(options: KafkaServerOptions): Promise<KafkaServer> {
    const resolved = normalizeServerOptions(options);
    const listener = resolved.tls
      ? tls.createServer({ cert: resolved.tls.cert, key: resolved.tls.key })
      : // Paused, so that a connection can read into its own memory from the first byte.
        net.createServer({ pauseOnConnect: true });
    const closing = new OnceSignal();
    const broker: Broker = {
      options: resolved,
      backend: resolved.backend,
      coordinator: new GroupCoordinator(resolved.backend, {
        initialRebalanceDelayMs: resolved.initialRebalanceDelayMs,
        minSessionTimeoutMs: resolved.minSessionTimeoutMs,
        maxSessionTimeoutMs: resolved.maxSessionTimeoutMs,
        log: resolved.log,
        onGeneration: (e) => server.emitGeneration(e),
      }),
      saslUsers: resolved.sasl ? new SaslUsers(resolved.sasl.users) : undefined,
      nodeId: 0,
      host: '',
      port: 0,
      clusterId: resolved.clusterId,
      closing,
      isClosing: () => server.closing,
    };
    const server = new KafkaServer(listener, broker);
    listener.on(resolved.tls ? 'secureConnection' : 'connection', (socket: net.Socket) =>
      server.accept(socket),
    );
    listener.on('tlsClientError', (err: Error, socket: tls.TLSSocket) => {
      resolved.log(`TLS handshake with ${socket.remoteAddress} failed: ${err.message}`);
    });
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(resolved.port, resolved.host, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    listener.on('error', (err) => resolved.log(`listener error: ${err.message}`));
    const bound = listener.address() as net.AddressInfo;
    const wildcard = resolved.host === '0.0.0.0' || resolved.host === '::';
    broker.host = resolved.advertisedHost ?? (wildcard ? os.hostname() : resolved.host);
    broker.port = resolved.advertisedPort ?? bound.port;
    return server;
  }

  /** Where the listener is bound: the host given and the actual port (also when `port: 0`). */
  address(): { host: string; port: number } {
    const bound = this.listener.address() as net.AddressInfo | null;
    return { host: this.broker.options.host, port: bound?.port ?? this.broker.port };
  }

  /** Where the listener reports (the `log` option). */
  get log(): (message: string) => void {
    return this.broker.options.log;
  }

  /** The group coordinator (for the serving app's own inspection). */
  get coordinator(): GroupCoordinator {
    return this.broker.coordinator;
  }

  /** Calls `listener` after every completed rebalance; returns the function that removes it. */
  onGeneration(listener: (e: GenerationEvent) => void): () => void {
    this.generationListeners.add(listener);
    return () => this.generationListeners.delete(listener);
  }

  private emitGeneration(e: GenerationEvent): void {
    for (const l of this.generationListeners) l(e);
  }

  /**
   * Calls `hook` when `close()` starts, before the coordinator answers its waiting members (the
   * store detaches its consumers from the coordinator there).
   */
  beforeClose(hook: () => void): void {
    this.closeHooks.push(hook);
  }

  /** Open connections (for tests and figures). */
  get connectionCount(): number {
    return this.connections.size;
  }

  private accept(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const conn = new KafkaConnection(socket, this.broker);
    this.connections.add(conn);
    void conn.closedPromise.then(() => this.connections.delete(conn));
  }

  /**
   * Stops accepting connections, wakes long-polling fetches and waiting group members, answers the
   * requests already received, then closes every connection (forcibly after a grace period).
   */
  close(): Promise<void> {
    this.closePromise ??= this.shutdown();
    return this.closePromise;
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    for (const hook of this.closeHooks.splice(0)) {
      try {
        hook();
      } catch (err) {
        this.broker.options.log(`closing: ${(err as Error)?.stack ?? String(err)}`);
      }
    }
    this.broker.closing.fire();
    const stopped = new Promise<void>((resolve) => this.listener.close(() => resolve()));
    this.broker.coordinator.close();
    const drained = Promise.all([...this.connections].map((c) => c.drain()));
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, DRAIN_GRACE_MS)));
    await Promise.race([drained, grace]);
    clearTimeout(timer);
    for (const c of this.connections) c.destroy();
    await stopped;
  }
}
