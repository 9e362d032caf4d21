/** What every request handler gets: the listener's shared state and the connection's own. */
import type { KafkaBackend } from '../backend.js';
import type { RequestHeader } from '../codec/messages.js';
import type { GroupCoordinator } from '../group-coordinator.js';
import type { OnceSignal } from '../once-signal.js';
import type { SaslExchange, SaslUsers } from '../sasl/mechanisms.js';
import type { Struct } from '../schema/types.js';
import type { ResolvedServerOptions } from '../server-options.js';

export interface Broker {
  options: ResolvedServerOptions;
  backend: KafkaBackend;
  coordinator: GroupCoordinator;
  saslUsers: SaslUsers | undefined;
  /** Node id, host and port clients are told to connect to. */
  nodeId: number;
  host: string;
  port: number;
  clusterId: string;
  /** Fires when the listener closes (long-polls stop waiting). */
  closing: OnceSignal;
  isClosing(): boolean;
}

export interface ConnectionState {
  clientHost: string;
  /** True when no SASL is configured, or once the client authenticated. */
  authenticated: boolean;
  principal: string | undefined;
  /** The mechanism chosen by SaslHandshake, and the exchange in progress. */
  sasl: SaslExchange | undefined;
  /** SaslHandshake v0: the next frames are bare SASL tokens, not Kafka requests. */
  rawSaslTokens: boolean;
  /** Fires when the connection is gone: waits on its behalf (long polls) stop. */
  gone: OnceSignal;
  /** Close the connection once the current response is written (with this reason). */
  closeAfterResponse: string | undefined;
}

export interface RequestContext {
  broker: Broker;
  connection: ConnectionState;
  header: RequestHeader;
  version: number;
  /**
   * Runs `done` once the response is written to the socket (or will never be: no response, the
   * connection closed): memory the response refers to may then be reused.
   */
  afterResponse(done: () => void): void;
}

/** A handler returns the response body, or undefined for "no response" (Produce with acks=0). */
export type Handler = (ctx: RequestContext, body: Struct) => Struct | undefined | Promise<Struct | undefined>;
