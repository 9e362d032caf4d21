/**
 * A Kafka cluster as a client sees it: bootstrap brokers, the brokers and partition leaders that
 * Metadata names, one connection per broker (opened on first use, with ApiVersions and SASL), and
 * a retry loop for what goes wrong in a healthy cluster: a broker restarts or disconnects, a leader
 * moves (NOT_LEADER_OR_FOLLOWER), a topic is still being created. Those are retried after a
 * backoff (100 ms doubling to 2 s) and a metadata refresh, until `retryTimeoutMs` has passed
 * since the first failure; then the operation fails with LOGSTORE_IO naming the last error.
 * Errors that retrying does not fix (authorization, unsupported versions) fail at once with
 * LOGSTORE_REMOTE.
 *
 * One instance serves one mirror; it is not meant to be shared by concurrent users beyond that.
 */
import type tls from 'node:tls';
import { LogStoreError } from '../errors.js';
import { KafkaClient } from '../kafka/client.js';
import type { SaslCredentials } from '../kafka/sasl/client.js';
import type { Struct } from '../kafka/schema/types.js';
import { check, kafkaErrorName, RetriableError } from './remote-errors.js';

export interface BrokerAddress {
  host: string;
  port: number;
}

export interface ClusterOptions {
  /** Bootstrap brokers: any of them leads to the others. */
  brokers: BrokerAddress[];
  clientId: string;
  tls?: tls.ConnectionOptions;
  sasl?: SaslCredentials;
  /** How long an operation may keep failing (broker unreachable, leader moving) before it gives up. */
  retryTimeoutMs: number;
  /** How long a request may wait for its answer. */
  requestTimeoutMs: number;
  /** Told about each retry (for progress reports and logs). */
  onRetry?: (reason: string, delayMs: number) => void;
  /** Stops retry loops (they then throw MirrorStopped). */
  signal?: AbortSignal;
}

export interface PartitionMeta {
  partition: number;
  leader: number;
  errorCode: number;
}

export interface TopicMeta {
  name: string;
  errorCode: number;
  internal: boolean;
  partitions: PartitionMeta[];
}

/** Thrown by retry loops when the cluster's signal aborts: the caller is stopping. */
export class MirrorStopped extends Error {
  constructor() {
    super('stopped');
  }
}

/** Backoff between attempts: doubles from the first to the largest. */
export const FIRST_BACKOFF_MS = 100;
export const MAX_BACKOFF_MS = 2000;

/**
 * Whether a failed request may succeed when tried again (after a backoff and a metadata refresh):
 * a retriable Kafka error, or a connection that broke or could not be made (LOGSTORE_IO).
 */
export function isTransient(err: unknown): boolean {
  return err instanceof RetriableError || (err instanceof LogStoreError && err.code === 'LOGSTORE_IO');
}

/** `host:port[,host:port...]` -> addresses; LOGSTORE_INVALID_ARGUMENT naming a bad entry. */
export function parseBrokers(text: string): BrokerAddress[] {
  const out: BrokerAddress[] = [];
  for (const part of text.split(',')) {
    const entry = part.trim();
    const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(entry);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535) {
      throw new LogStoreError(
        'LOGSTORE_INVALID_ARGUMENT',
        `Expected brokers as host:port[,host:port...], got ${JSON.stringify(entry)} in ${JSON.stringify(text)}.`,
      );
    }
    out.push({ host: m[1]!.replace(/^\[|\]$/g, ''), port });
  }
  return out;
}

export class KafkaCluster {
  clusterId: string | null = null;
  private readonly nodes = new Map<number, BrokerAddress>();
  private readonly connections = new Map<string, Promise<KafkaClient>>();
  readonly topics = new Map<string, TopicMeta>();
  private closed = false;

  private constructor(readonly options: ClusterOptions) {}

  /** Reaches a bootstrap broker and reads the cluster's brokers and id (retrying as above). */
  static async connect(options: ClusterOptions): Promise<KafkaCluster> {
    const cluster = new KafkaCluster(options);
    try {
      await cluster.retry('Connecting to the cluster', () => cluster.refresh([]));
      return cluster;
    } catch (err) {
      cluster.close();
      throw err;
    }
  }

  /** The bootstrap list as the user gave it, for messages. */
  get bootstrap(): string {
    return this.options.brokers.map((b) => `${b.host}:${b.port}`).join(',');
  }

  get brokerCount(): number {
    return this.nodes.size;
  }

  /**
   * The connection to broker `node`, or to any broker: an open one if there is, else the
   * bootstrap brokers and the known brokers in turn. Failed connections are forgotten, so the
   * next call reconnects.
   */
  async connection(node: number | 'any'): Promise<KafkaClient> {
    if (this.closed) throw new MirrorStopped();
    if (node === 'any') {
      for (const c of this.connections.values()) {
        const client = await c.catch(() => undefined);
        if (client && !client.closed) return client;
      }
      let last: unknown;
      for (const address of [...this.options.brokers, ...this.nodes.values()]) {
        try {
          return await this.open(address);
        } catch (err) {
          last = err;
        }
      }
      throw last ?? new LogStoreError('LOGSTORE_IO', 'No Kafka broker to connect to.');
    }
    const address = this.nodes.get(node);
    if (!address) throw new RetriableError(`broker ${node} is not in the cluster's metadata`, 5);
    return this.open(address);
  }

  private open(address: BrokerAddress): Promise<KafkaClient> {
    const key = `${address.host}:${address.port}`;
    let c = this.connections.get(key);
    if (!c) {
      c = KafkaClient.open({
        host: address.host,
        port: address.port,
        clientId: this.options.clientId,
        tls: this.options.tls,
        sasl: this.options.sasl,
        requestTimeoutMs: this.options.requestTimeoutMs,
      });
      this.connections.set(key, c);
      const forget = () => {
        if (this.connections.get(key) === c) this.connections.delete(key);
      };
      c.then((client) => client.onClose(forget), forget);
    }
    return c;
  }

  /**
   * Refreshes the metadata of `topics` (null: every topic; []: brokers and cluster id only).
   * With `autoCreate`, a broker that allows it creates missing topics (its default partitions).
   */
  async refresh(topics: string[] | null, autoCreate = false): Promise<void> {
    const client = await this.connection('any');
    const version = client.version('Metadata', 1, 9);
    const r = await client.request('Metadata', version, {
      topics: topics === null ? null : topics.map((name) => ({ name })),
      allowAutoTopicCreation: autoCreate,
      includeClusterAuthorizedOperations: false,
      includeTopicAuthorizedOperations: false,
    });
    this.clusterId = (r.clusterId as string | null) ?? this.clusterId;
    for (const b of r.brokers as { nodeId: number; host: string; port: number }[])
      this.nodes.set(b.nodeId, { host: b.host, port: b.port });
    for (const t of r.topics as Struct[]) {
      const partitions = (t.partitions as Struct[]).map((p) => ({
        partition: p.partitionIndex as number,
        leader: p.leaderId as number,
        errorCode: p.errorCode as number,
      }));
      partitions.sort((a, b) => a.partition - b.partition);
      this.topics.set(t.name as string, {
        name: t.name as string,
        errorCode: t.errorCode as number,
        internal: t.isInternal as boolean,
        partitions,
      });
    }
  }

  /** The partition's leader as last seen (-1 when unknown or leaderless). */
  leader(topic: string, partition: number): number {
    const p = this.topics.get(topic)?.partitions[partition];
    return p && p.errorCode === 0 ? p.leader : -1;
  }

  /**
   * Metadata of `topic` with every partition led: retried (with refreshes) while the topic or a
   * leader is missing, as right after the topic's creation.
   */
  async topic(name: string, autoCreate: boolean): Promise<TopicMeta> {
    return this.retry(`Metadata for topic ${name}`, async () => {
      await this.refresh([name], autoCreate);
      const t = this.topics.get(name);
      if (!t) throw new RetriableError(`topic ${name} missing from the metadata`, 3);
      check(t.errorCode, `Metadata for topic ${name}`);
      for (const p of t.partitions) check(p.errorCode, `Metadata for ${name}-${p.partition}`);
      if (t.partitions.length === 0) throw new RetriableError(`topic ${name} has no partitions yet`, 5);
      return t;
    });
  }

  /**
   * Runs `attempt` until it succeeds. Connection failures (LOGSTORE_IO) and RetriableErrors are
   * retried after a backoff and a metadata refresh of `topics`; after `retryTimeoutMs` of failures
   * the last one is thrown as LOGSTORE_IO. Anything else is thrown at once.
   */
  async retry<T>(what: string, attempt: () => Promise<T>, topics: string[] = []): Promise<T> {
    const started = Date.now();
    let delay = FIRST_BACKOFF_MS;
    for (;;) {
      if (this.options.signal?.aborted || this.closed) throw new MirrorStopped();
      try {
        return await attempt();
      } catch (err) {
        if (err instanceof MirrorStopped) throw err;
        if (!isTransient(err)) throw err;
        const elapsed = Date.now() - started;
        if (elapsed >= this.options.retryTimeoutMs) throw this.unreachable(what, err as Error, elapsed);
        const wait = Math.min(delay, this.options.retryTimeoutMs - elapsed) * (0.8 + 0.4 * Math.random());
        this.options.onRetry?.(`${what}: ${(err as Error).message}`, Math.round(wait));
        await this.sleep(wait);
        delay = Math.min(delay * 2, MAX_BACKOFF_MS);
        if (topics.length > 0 || err instanceof RetriableError) {
          try {
            await this.refresh(topics);
          } catch {
            // The next attempt fails again if the cluster is still away; its error is reported.
          }
        }
      }
    }
  }

  /** LOGSTORE_IO: `what` kept failing for `elapsedMs`, `err` (or a reason) the last failure. */
  unreachable(what: string, err: Error | string, elapsedMs: number): LogStoreError {
    const last =
      typeof err === 'string' ? err : err instanceof RetriableError ? kafkaErrorName(err.code) : err.message;
    return new LogStoreError(
      'LOGSTORE_IO',
      `${what} kept failing for ${(elapsedMs / 1000).toFixed(1)} s (the cluster at ${this.bootstrap}; last error: ${last}).`,
      {
        ...(typeof err === 'string' ? {} : { cause: err }),
        details: { kind: err instanceof RetriableError ? kafkaErrorName(err.code) : 'unreachable' },
      },
    );
  }

  private sleep(ms: number): Promise<void> {
    const signal = this.options.signal;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Closes every connection; later calls throw MirrorStopped. */
  close(): void {
    this.closed = true;
    for (const c of this.connections.values())
      c.then(
        (client) => client.destroy(),
        () => undefined,
      );
    this.connections.clear();
  }
}
