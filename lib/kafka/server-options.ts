/**
 * Options of the Kafka listener, their defaults (a comment on each) and the one place they are
 * checked. Unknown keys are refused with a hint, as everywhere in logstore.
 */
import fs from 'node:fs';
import net from 'node:net';
import { checkInteger, checkKeys, invalidArgument } from '../options.js';
import type { KafkaBackend } from './backend.js';
import { parseUsers, type SaslMechanism, SASL_MECHANISMS } from './sasl/users.js';

export interface KafkaServerOptions {
  /** The store behind the listener. */
  backend: KafkaBackend;
  /** Address to bind. Anything but loopback needs `sasl` or `insecure: true`. @default '127.0.0.1' */
  host?: string;
  /** TCP port; 0 picks a free one (see `address()`). @default 9092 */
  port?: number;
  /** Host name given to clients in Metadata and FindCoordinator. @default the bound host */
  advertisedHost?: string;
  /** Port given to clients (behind a proxy or port mapping). @default the bound port */
  advertisedPort?: number;
  /** Metadata for an unknown topic creates it (Kafka's auto.create.topics.enable). @default true */
  autoCreateTopics?: boolean;
  /** Partitions of auto-created topics and of CreateTopics without a count. @default 1 */
  defaultPartitions?: number;
  /** Largest request frame (socket.request.max.bytes); a larger one closes the connection. @default 104857600 */
  maxRequestBytes?: number;
  /** Serve TLS with this certificate chain and key (PEM strings or Buffers). @default none */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /**
   * Require SASL authentication. `users` is a users file's path or `{ name: password }`;
   * `mechanisms` defaults to both. @default none
   */
  sasl?: { users: string | Record<string, string>; mechanisms?: SaslMechanism[] };
  /** Allow a non-loopback `host` without SASL. @default false */
  insecure?: boolean;
  /** Where the listener reports refused frames, closed connections and unexpected errors. @default stderr */
  log?: (message: string) => void;
  /** Kafka's group.initial.rebalance.delay.ms: how long a new group waits for more members. @default 3000 */
  initialRebalanceDelayMs?: number;
  /**
   * The cluster id Metadata gives (clients and mirrors tell clusters apart by it).
   * @default 'logstore'; `store.serve()` gives each store its own, kept in its catalog
   */
  clusterId?: string;
  /** Smallest and largest session timeout a member may ask for. @default 6000 and 1800000 */
  minSessionTimeoutMs?: number;
  maxSessionTimeoutMs?: number;
}

export interface ResolvedServerOptions {
  backend: KafkaBackend;
  host: string;
  port: number;
  advertisedHost: string | undefined;
  advertisedPort: number | undefined;
  autoCreateTopics: boolean;
  defaultPartitions: number;
  maxRequestBytes: number;
  tls: { cert: string | Buffer; key: string | Buffer } | undefined;
  sasl: { users: Map<string, string>; mechanisms: SaslMechanism[] } | undefined;
  insecure: boolean;
  log: (message: string) => void;
  initialRebalanceDelayMs: number;
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  clusterId: string;
}

const KEYS = [
  'backend',
  'host',
  'port',
  'advertisedHost',
  'advertisedPort',
  'autoCreateTopics',
  'defaultPartitions',
  'maxRequestBytes',
  'tls',
  'sasl',
  'insecure',
  'log',
  'initialRebalanceDelayMs',
  'minSessionTimeoutMs',
  'maxSessionTimeoutMs',
  'clusterId',
] as const;

/** 127.0.0.0/8, ::1 and "localhost". */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return net.isIPv4(host) && host.startsWith('127.');
}

const toStderr = (message: string): void => void process.stderr.write(`logstore kafka: ${message}\n`);

export function normalizeServerOptions(options: KafkaServerOptions): ResolvedServerOptions {
  if (typeof options !== 'object' || options === null)
    throw invalidArgument('Expected server options object.');
  checkKeys(options, KEYS, 'Kafka server option');
  const b = options.backend as unknown as Record<string, unknown> | undefined;
  if (!b || typeof b.appendBatches !== 'function' || typeof b.readBatches !== 'function') {
    throw invalidArgument('Expected `backend` to implement KafkaBackend.');
  }
  const host = options.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '')
    throw invalidArgument('Expected `host` to be a host name or address.');
  let sasl: ResolvedServerOptions['sasl'];
  if (options.sasl !== undefined) {
    checkKeys(options.sasl, ['users', 'mechanisms'], 'sasl option');
    const users = options.sasl.users;
    const parsed =
      typeof users === 'string'
        ? parseUsers(fs.readFileSync(users, 'utf8'), users)
        : new Map(Object.entries(users));
    if (parsed.size === 0) throw invalidArgument('SASL needs at least one user.');
    const mechanisms = options.sasl.mechanisms ?? [...SASL_MECHANISMS];
    for (const m of mechanisms) {
      if (!SASL_MECHANISMS.includes(m)) {
        throw invalidArgument(`Unknown SASL mechanism \`${m}\`; known: ${SASL_MECHANISMS.join(', ')}.`);
      }
    }
    sasl = { users: parsed, mechanisms };
  }
  const insecure = options.insecure ?? false;
  if (!isLoopback(host) && !sasl && insecure !== true) {
    throw invalidArgument(
      `Binding ${host} would expose the store to the network without authentication: ` +
        'configure `sasl` (users file), or pass `insecure: true` to accept that.',
    );
  }
  if (options.tls !== undefined) {
    checkKeys(options.tls, ['cert', 'key'], 'tls option');
    if (!options.tls.cert || !options.tls.key) throw invalidArgument('TLS needs both `cert` and `key`.');
  }
  return {
    backend: options.backend,
    host,
    port: checkInteger('port', options.port ?? 9092, 0, 65535),
    advertisedHost: options.advertisedHost,
    advertisedPort:
      options.advertisedPort === undefined
        ? undefined
        : checkInteger('advertisedPort', options.advertisedPort, 1, 65535),
    autoCreateTopics: options.autoCreateTopics ?? true,
    defaultPartitions: checkInteger('defaultPartitions', options.defaultPartitions ?? 1, 1, 10_000),
    maxRequestBytes: checkInteger(
      'maxRequestBytes',
      options.maxRequestBytes ?? 100 * 1024 * 1024,
      1024,
      2 ** 31 - 1,
    ),
    tls: options.tls,
    sasl,
    insecure,
    log: options.log ?? toStderr,
    initialRebalanceDelayMs: checkInteger(
      'initialRebalanceDelayMs',
      options.initialRebalanceDelayMs ?? 3000,
      0,
    ),
    minSessionTimeoutMs: checkInteger('minSessionTimeoutMs', options.minSessionTimeoutMs ?? 6000, 0),
    maxSessionTimeoutMs: checkInteger('maxSessionTimeoutMs', options.maxSessionTimeoutMs ?? 1_800_000, 1),
    clusterId: checkClusterId(options.clusterId ?? 'logstore'),
  };
}

function checkClusterId(id: unknown): string {
  if (typeof id !== 'string' || id === '')
    throw invalidArgument('Expected `clusterId` to be a non-empty string.');
  return id;
}
