/**
 * `store.mirror()`'s options: the type users write, its defaults, and the one check at the public
 * entry (misspelled keys, wrong types and values are LOGSTORE_INVALID_ARGUMENT before anything
 * connects).
 */
import type tls from 'node:tls';
import { checkInteger, checkKeys, checkOneOf, checkTopicName, invalidArgument } from '../options.js';
import { SASL_CLIENT_MECHANISMS, type SaslCredentials } from '../kafka/sasl/client.js';
import { parseBrokers, type BrokerAddress } from './cluster.js';
import type { MirrorDirection } from './events.js';

export interface MirrorOptions {
  /** Copies the store's topics to the Kafka cluster at these brokers (`'host:port,host:port'` or a list). */
  to?: string | string[];
  /** Copies the cluster's topics at these brokers into the store. Exactly one of `to` and `from`. */
  from?: string | string[];
  /**
   * The topics to copy.
   * @default every topic of the store (`to`), every topic of the cluster but its internal ones (`from`)
   */
  topics?: string[];
  /** Keeps copying new records until `signal` aborts; without it the mirror copies what is there and ends. @default false */
  follow?: boolean;
  /** Stops the mirror: in-flight batches are settled and the positions saved before it ends. */
  signal?: AbortSignal;
  /**
   * `from` only: a consumer group on the cluster. A partition the store has no position for starts
   * at the group's committed offset (else at the earliest), and the mirror's positions are
   * committed to the group too (after the store's own, which stay the ones that count).
   */
  group?: string;
  /** Forgets this link's saved positions on the topics first, and copies from the start. @default false */
  reset?: boolean;
  /** The client id the cluster sees. @default 'logstore-mirror' */
  clientId?: string;
  /** TLS: `true`, or node:tls options (`{ ca }`, client certificates...). @default false */
  tls?: boolean | tls.ConnectionOptions;
  /** SASL authentication: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512. */
  sasl?: SaslCredentials;
  /** How long the cluster may stay unreachable (or a partition leaderless) before the mirror fails. @default 30000 */
  retryTimeoutMs?: number;
  /** How long a request may wait for its answer. @default 30000 */
  requestTimeoutMs?: number;
  /** How often `progress` events come. @default 1000 */
  progressIntervalMs?: number;
}

export interface ResolvedMirrorOptions {
  direction: MirrorDirection;
  brokers: BrokerAddress[];
  topics: string[] | null;
  follow: boolean;
  signal: AbortSignal | undefined;
  group: string | null;
  reset: boolean;
  clientId: string;
  tls: tls.ConnectionOptions | undefined;
  sasl: SaslCredentials | undefined;
  retryTimeoutMs: number;
  requestTimeoutMs: number;
  progressIntervalMs: number;
}

const KEYS = [
  'to',
  'from',
  'topics',
  'follow',
  'signal',
  'group',
  'reset',
  'clientId',
  'tls',
  'sasl',
  'retryTimeoutMs',
  'requestTimeoutMs',
  'progressIntervalMs',
];

function brokersOf(name: string, value: unknown): BrokerAddress[] {
  if (typeof value === 'string') return parseBrokers(value);
  if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string'))
    return parseBrokers(value.join(','));
  throw invalidArgument(`Expected \`${name}\` to be 'host:port[,host:port...]' or a list of them.`);
}

function checkBoolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean')
    throw invalidArgument(`Expected \`${name}\` to be a boolean, got ${typeof value}.`);
  return value;
}

function checkString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0)
    throw invalidArgument(`Expected \`${name}\` to be a non-empty string, got ${typeof value}.`);
  return value;
}

export function normalizeMirrorOptions(options: unknown): ResolvedMirrorOptions {
  if (options === null || typeof options !== 'object')
    throw invalidArgument('store.mirror() needs options: { to } or { from }, with brokers as host:port.');
  const o = options as MirrorOptions;
  checkKeys(o, KEYS, 'mirror option');
  if ((o.to === undefined) === (o.from === undefined))
    throw invalidArgument(
      'store.mirror() needs exactly one of `to` (store -> cluster) and `from` (cluster -> store).',
    );
  const direction: MirrorDirection = o.to !== undefined ? 'to' : 'from';
  let topics: string[] | null = null;
  if (o.topics !== undefined) {
    if (!Array.isArray(o.topics) || o.topics.length === 0)
      throw invalidArgument('Expected `topics` to be a non-empty list of topic names.');
    topics = [...new Set(o.topics.map((t) => checkTopicName(t)))];
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal))
    throw invalidArgument('Expected `signal` to be an AbortSignal.');
  if (o.group !== undefined && direction !== 'from')
    throw invalidArgument('`group` is for mirrors `from` a cluster: it names a consumer group there.');
  let sasl: SaslCredentials | undefined;
  if (o.sasl !== undefined) {
    if (o.sasl === null || typeof o.sasl !== 'object')
      throw invalidArgument('Expected `sasl` to be { mechanism, username, password }.');
    checkKeys(o.sasl, ['mechanism', 'username', 'password'], 'sasl option');
    sasl = {
      mechanism: checkOneOf('sasl.mechanism', o.sasl.mechanism, SASL_CLIENT_MECHANISMS),
      username: checkString('sasl.username', o.sasl.username),
      password: checkString('sasl.password', o.sasl.password),
    };
  }
  let tlsOptions: tls.ConnectionOptions | undefined;
  if (o.tls === true) tlsOptions = {};
  else if (o.tls !== undefined && o.tls !== false) {
    if (o.tls === null || typeof o.tls !== 'object')
      throw invalidArgument('Expected `tls` to be a boolean or node:tls connection options.');
    tlsOptions = o.tls;
  }
  return {
    direction,
    brokers: brokersOf(direction, o[direction]),
    topics,
    follow: checkBoolean('follow', o.follow, false),
    signal: o.signal,
    group: o.group === undefined ? null : checkString('group', o.group),
    reset: checkBoolean('reset', o.reset, false),
    clientId: o.clientId === undefined ? 'logstore-mirror' : checkString('clientId', o.clientId),
    tls: tlsOptions,
    sasl,
    retryTimeoutMs: checkInteger('retryTimeoutMs', o.retryTimeoutMs ?? 30_000, 0),
    requestTimeoutMs: checkInteger('requestTimeoutMs', o.requestTimeoutMs ?? 30_000, 1),
    progressIntervalMs: checkInteger('progressIntervalMs', o.progressIntervalMs ?? 1000, 10),
  };
}
