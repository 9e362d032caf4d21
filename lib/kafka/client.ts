/**
 * A minimal Kafka protocol client over the same tables: one connection, requests pipelined,
 * responses matched by correlation id. It is the base for tools that talk to a Kafka cluster
 * (mirroring) and for tests that need exact frames; it does not negotiate versions by itself
 * (`apiVersions()` tells what the peer serves; callers pick).
 */
import net from 'node:net';
import tls from 'node:tls';
import { LogStoreError } from '../errors.js';
import { decodeResponse, encodeRequest, frame, responseCorrelationId } from './codec/messages.js';
import { FrameSplitter } from './framing.js';
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
}

interface Pending {
  api: ApiSchema;
  version: number;
  resolve: (body: Struct) => void;
  reject: (err: Error) => void;
}

export class KafkaClient {
  private correlationId = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly splitter: FrameSplitter;
  private failure: Error | undefined;

  private constructor(
    private readonly socket: net.Socket,
    private readonly clientId: string,
    maxResponseBytes: number,
  ) {
    this.splitter = new FrameSplitter(maxResponseBytes);
    socket.on('data', (data: Buffer) => this.receive(data));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new LogStoreError('LOGSTORE_IO', 'Kafka connection closed')));
  }

  static connect(options: ClientOptions): Promise<KafkaClient> {
    return new Promise((resolve, reject) => {
      const event = options.tls ? 'secureConnect' : 'connect';
      const socket = options.tls
        ? tls.connect({ host: options.host, port: options.port, ...options.tls })
        : net.connect({ host: options.host, port: options.port });
      socket.once('error', reject);
      socket.once(event, () => {
        socket.off('error', reject);
        socket.setNoDelay(true);
        resolve(
          new KafkaClient(
            socket,
            options.clientId ?? 'logstore',
            options.maxResponseBytes ?? 100 * 1024 * 1024,
          ),
        );
      });
    });
  }

  /** Sends a request and resolves with the decoded response body. */
  request(api: ApiSchema | keyof typeof ApiKey, version: number, body: Struct): Promise<Struct> {
    const schema = typeof api === 'string' ? apiByKey(ApiKey[api])! : api;
    if (this.failure) return Promise.reject(this.failure);
    const id = this.correlationId++;
    const chunks = frame(encodeRequest(schema, version, id, this.clientId, body));
    return new Promise((resolve, reject) => {
      this.pending.set(id, { api: schema, version, resolve, reject });
      for (const c of chunks) this.socket.write(c);
    });
  }

  /** Sends a request that gets no response (Produce with acks=0). */
  send(api: keyof typeof ApiKey, version: number, body: Struct): void {
    const chunks = frame(
      encodeRequest(apiByKey(ApiKey[api])!, version, this.correlationId++, this.clientId, body),
    );
    for (const c of chunks) this.socket.write(c);
  }

  /** The peer's served version ranges, by API key. */
  async apiVersions(): Promise<Map<number, [number, number]>> {
    const r = await this.request('ApiVersions', 0, {});
    const keys = r.apiKeys as { apiKey: number; minVersion: number; maxVersion: number }[];
    return new Map(keys.map((k) => [k.apiKey, [k.minVersion, k.maxVersion]]));
  }

  close(): void {
    this.socket.end();
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
      try {
        p.resolve(decodeResponse(p.api, p.version, f).body);
      } catch (err) {
        p.reject(err as Error);
      }
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.socket.destroy();
  }
}
