/**
 * A TCP proxy that records the Kafka frames passing through it: each request (bytes after the
 * size prefix) with its API key and version, paired with its response by correlation id. Used to
 * capture real clients' sessions as codec fixtures and as seeds for the live fuzzer.
 */
import net from 'node:net';
import { FrameSplitter } from '../../../lib/kafka/framing.js';

export interface RecordedExchange {
  apiKey: number;
  version: number;
  request: Buffer;
  /** Undefined for requests that get no response (Produce acks=0) or when the connection ended. */
  response: Buffer | undefined;
}

export class RecordingProxy {
  readonly exchanges: RecordedExchange[] = [];
  private readonly sockets = new Set<net.Socket>();

  /** Where connections go; may be set after start (a server that advertises the proxy's port). */
  upstreamPort = 0;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(upstreamPort = 0, upstreamHost = '127.0.0.1'): Promise<RecordingProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new RecordingProxy(server, (server.address() as net.AddressInfo).port);
    proxy.upstreamPort = upstreamPort;
    server.on('connection', (client) => proxy.pipe(client, upstreamHost, proxy.upstreamPort));
    return proxy;
  }

  private pipe(client: net.Socket, host: string, port: number): void {
    const upstream = net.connect({ host, port });
    this.sockets.add(client).add(upstream);
    const inFlight = new Map<number, RecordedExchange>();
    const requests = new FrameSplitter(2 ** 30);
    const responses = new FrameSplitter(2 ** 30);
    client.on('data', (data: Buffer) => {
      const frames = requests.push(Buffer.from(data));
      if (Array.isArray(frames)) {
        for (const f of frames) {
          if (f.length < 8) continue;
          const exchange = {
            apiKey: f.readInt16BE(0),
            version: f.readInt16BE(2),
            request: f,
            response: undefined,
          };
          this.exchanges.push(exchange);
          inFlight.set(f.readInt32BE(4), exchange);
        }
      }
      upstream.write(data);
    });
    upstream.on('data', (data: Buffer) => {
      const frames = responses.push(Buffer.from(data));
      if (Array.isArray(frames)) {
        for (const f of frames) {
          const exchange = f.length >= 4 ? inFlight.get(f.readInt32BE(0)) : undefined;
          if (exchange) exchange.response = f;
        }
      }
      client.write(data);
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
