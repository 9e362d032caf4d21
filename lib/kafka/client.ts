/**
 * A minimal Kafka protocol client over the same tables: one connection, requests pipelined,
 * responses matched by correlation id (a broker answers a connection's requests in order).
 *
 * `connect()` gives the bare connection (tests that need exact frames use it as is);
 * `open()` also does what a client does before its first request: ApiVersions (the versions this
 * side then uses, see `pick`) and SASL authentication when asked. The cluster-level client
 * (bootstrap, metadata, leaders, retries) is lib/mirror/cluster.ts.
 *
 * Failures are LogStoreErrors: LOGSTORE_IO when the connection cannot be made, breaks, or a
 * request gets no answer in time (the connection is then closed: later answers could no longer
 * be matched), LOGSTORE_REMOTE when the peer refuses authentication.
 */
import net from 'node:net';
import tls from 'node:tls';
import { LogStoreError } from '../errors.js';
import { decodeResponse, encodeRequest, frame, responseCorrelationId } from './codec/messages.js';
import { FrameSplitter } from './framing.js';
import { saslClient, type SaslCredentials } from './sasl/client.js';
import { apiByKey, ApiKey } from './schema/index.js';
import type { ApiSchema, Struct } from './schema/types.js';

export interface ClientOptions {
  host: string;
  port: number;
  clientId?: string;
  /** Connect with TLS (node:tls options, e.g. `{ ca }`). */
  tls?: tls.ConnectionOptions;
  /** Largest response frame accepted. @default 104857600 */
  maxResponseBytes?: number;
  /** How long the TCP (and TLS) connection may take. @default 10000 */
  connectTimeoutMs?: number;
  /**
   * How long a request may wait for its answer (a Fetch's long poll is added to it); the
   * connection is closed when one does not come. @default 0 (no limit) for `connect`, 30000 for `open`
   */
  requestTimeoutMs?: number;
  /** SASL credentials, used by `open` (SaslHandshake v1, then SaslAuthenticate). */
  sasl?: SaslCredentials;
}

interface Pending {
  api: ApiSchema;
  version: number;
  resolve: (body: Struct) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

type ApiName = keyof typeof ApiKey;

export class KafkaClient {
  private correlationId = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly splitter: FrameSplitter;
  private failure: Error | undefined;
  private readonly closeListeners: ((err: Error) => void)[] = [];
  /** The peer's version ranges by API key, once `open` (or `apiVersions`) asked for them. */
  private served: Map<number, [number, number]> | undefined;
  private readonly requestTimeoutMs: number;

  private constructor(
    private readonly socket: net.Socket,
    private readonly clientId: string,
    private readonly peer: string,
    options: ClientOptions,
  ) {
    this.splitter = new FrameSplitter(options.maxResponseBytes ?? 100 * 1024 * 1024);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 0;
    socket.on('data', (data: Buffer) => this.receive(data));
    socket.on('error', (err) =>
      this.fail(
        new LogStoreError('LOGSTORE_IO', `Kafka connection to ${peer} failed: ${err.message}`, {
          cause: err,
        }),
      ),
    );
    socket.on('close', () =>
      this.fail(new LogStoreError('LOGSTORE_IO', `Kafka connection to ${peer} closed`)),
    );
  }

  /** Connects (TCP, or TLS when `tls` is set); nothing is sent yet. */
  static connect(options: ClientOptions): Promise<KafkaClient> {
    const peer = `${options.host}:${options.port}`;
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const event = options.tls ? 'secureConnect' : 'connect';
      const socket = options.tls
        ? tls.connect({
            host: options.host,
            port: options.port,
            ...(net.isIP(options.host) === 0 ? { servername: options.host } : {}),
            ...options.tls,
          })
        : net.connect({ host: options.host, port: options.port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new LogStoreError(
            'LOGSTORE_IO',
            `Cannot connect to the Kafka broker ${peer}: no answer in ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      const onError = (err: Error) => {
        clearTimeout(timer);
        reject(
          new LogStoreError('LOGSTORE_IO', `Cannot connect to the Kafka broker ${peer}: ${err.message}`, {
            cause: err,
          }),
        );
      };
      socket.once('error', onError);
      socket.once(event, () => {
        clearTimeout(timer);
        socket.off('error', onError);
        socket.setNoDelay(true);
        resolve(new KafkaClient(socket, options.clientId ?? 'logstore', peer, options));
      });
    });
  }

  /**
   * Connects, asks ApiVersions and authenticates (SASL, when `sasl` is set): a connection ready
   * for `pick` and `request`. Request timeouts default to 30 s here.
   */
  static async open(options: ClientOptions): Promise<KafkaClient> {
    const client = await KafkaClient.connect({ requestTimeoutMs: 30_000, ...options });
    try {
      await client.apiVersions();
      if (options.sasl) await client.authenticate(options.sasl);
      return client;
    } catch (err) {
      client.destroy();
      throw err;
    }
  }

  /** `host:port` of the peer. */
  get address(): string {
    return this.peer;
  }

  /** Whether the connection has failed or been closed. */
  get closed(): boolean {
    return this.failure !== undefined;
  }

  /** Calls `listener` once when the connection fails or closes. */
  onClose(listener: (err: Error) => void): void {
    if (this.failure) listener(this.failure);
    else this.closeListeners.push(listener);
  }

  /**
   * Sends a request and resolves with the decoded response body. `extraTimeMs` extends the
   * request timeout (a Fetch's maxWaitMs).
   */
  request(api: ApiSchema | ApiName, version: number, body: Struct, extraTimeMs = 0): Promise<Struct> {
    const schema = typeof api === 'string' ? apiByKey(ApiKey[api])! : api;
    if (this.failure) return Promise.reject(this.failure);
    const id = this.correlationId++;
    const chunks = frame(encodeRequest(schema, version, id, this.clientId, body));
    return new Promise((resolve, reject) => {
      const timer =
        this.requestTimeoutMs > 0
          ? setTimeout(
              () =>
                this.fail(
                  new LogStoreError(
                    'LOGSTORE_IO',
                    `The Kafka broker ${this.peer} did not answer ${schema.name} within ${this.requestTimeoutMs + extraTimeMs} ms`,
                  ),
                ),
              this.requestTimeoutMs + extraTimeMs,
            )
          : undefined;
      this.pending.set(id, { api: schema, version, resolve, reject, timer });
      for (const c of chunks) this.socket.write(c);
    });
  }

  /** Sends a request that gets no response (Produce with acks=0). */
  send(api: ApiName, version: number, body: Struct): void {
    const chunks = frame(
      encodeRequest(apiByKey(ApiKey[api])!, version, this.correlationId++, this.clientId, body),
    );
    for (const c of chunks) this.socket.write(c);
  }

  /** The peer's served version ranges, by API key. */
  async apiVersions(): Promise<Map<number, [number, number]>> {
    const r = await this.request('ApiVersions', 0, {});
    const keys = r.apiKeys as { apiKey: number; minVersion: number; maxVersion: number }[];
    this.served = new Map(keys.map((k) => [k.apiKey, [k.minVersion, k.maxVersion]]));
    return this.served;
  }

  /**
   * The highest version of `api` that the peer serves, this side's tables know and lies in
   * `[min, max]` (what the caller writes bodies for); undefined when there is none. Needs
   * `apiVersions()` (done by `open`).
   */
  pick(api: ApiName, min: number, max: number): number | undefined {
    const schema = apiByKey(ApiKey[api])!;
    const peer = this.served?.get(schema.key);
    if (!peer) return undefined;
    const high = Math.min(peer[1], max, schema.known[1]);
    const low = Math.max(peer[0], min, schema.known[0]);
    return high >= low ? high : undefined;
  }

  /** Like `pick`, but a missing version is LOGSTORE_REMOTE naming the API and the ranges. */
  version(api: ApiName, min: number, max: number): number {
    const v = this.pick(api, min, max);
    if (v !== undefined) return v;
    const peer = this.served?.get(ApiKey[api]);
    throw new LogStoreError(
      'LOGSTORE_REMOTE',
      `The Kafka broker ${this.peer} serves ${api} ${peer ? `versions ${peer[0]}-${peer[1]}` : 'in no version'}; ` +
        `logstore needs a version from ${min} to ${max}.`,
      { details: { kind: 'UNSUPPORTED_VERSION' } },
    );
  }

  /** Ends the connection once what was sent is written (answers still on the way may arrive). */
  close(): void {
    this.socket.end();
  }

  /** Closes the connection now: requests waiting for an answer fail with LOGSTORE_IO. */
  destroy(): void {
    this.fail(new LogStoreError('LOGSTORE_IO', `Kafka connection to ${this.peer} closed by this side`));
  }

  /** SaslHandshake v1 then SaslAuthenticate round trips until the mechanism is done. */
  private async authenticate(credentials: SaslCredentials): Promise<void> {
    const refused = (message: string, kind = 'SASL_AUTHENTICATION_FAILED') =>
      new LogStoreError('LOGSTORE_REMOTE', `SASL ${credentials.mechanism} with ${this.peer}: ${message}`, {
        details: { kind },
      });
    const handshake = await this.request('SaslHandshake', this.version('SaslHandshake', 1, 1), {
      mechanism: credentials.mechanism,
    });
    if (handshake.errorCode !== 0) {
      throw refused(
        `the broker offers ${(handshake.mechanisms as string[]).join(', ') || 'no mechanism'}`,
        'UNSUPPORTED_SASL_MECHANISM',
      );
    }
    const version = this.version('SaslAuthenticate', 0, 2);
    const exchange = saslClient(credentials);
    let token: Buffer | null = exchange.first();
    while (token !== null) {
      const r = await this.request('SaslAuthenticate', version, { authBytes: token });
      if (r.errorCode !== 0)
        throw refused((r.errorMessage as string | null) ?? `error code ${String(r.errorCode)}`);
      token = exchange.next(Buffer.from(r.authBytes as Uint8Array));
    }
  }

  private receive(data: Buffer): void {
    const frames = this.splitter.push(data);
    if (typeof frames === 'string') return this.fail(new LogStoreError('LOGSTORE_IO', frames));
    for (const f of frames) {
      const id = responseCorrelationId(f);
      const p = this.pending.get(id);
      if (!p)
        return this.fail(new LogStoreError('LOGSTORE_IO', `response with unknown correlation id ${id}`));
      this.pending.delete(id);
      if (p.timer) clearTimeout(p.timer);
      try {
        p.resolve(decodeResponse(p.api, p.version, f).body);
      } catch (err) {
        p.reject(
          new LogStoreError(
            'LOGSTORE_REMOTE',
            `The Kafka broker ${this.peer} sent a ${p.api.name} v${p.version} response that does not decode: ${(err as Error).message}`,
            { cause: err, details: { kind: 'malformed-response' } },
          ),
        );
      }
    }
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const p of this.pending.values()) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    this.socket.destroy();
    for (const listener of this.closeListeners.splice(0)) listener(err);
  }
}
