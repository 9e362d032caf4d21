/**
 * One client connection: frames in, responses out, strictly one request at a time and in order,
 * as a Kafka broker processes a connection (pipelined requests queue up and are answered in the
 * order they came). A malformed frame, an oversized one, or a request before authentication
 * closes the connection with a logged reason; nothing a client sends can throw past this class.
 */
import type net from 'node:net';
import { decodeRequest, encodeResponse, frame } from './codec/messages.js';
import { MalformedFrameError } from './codec/malformed.js';
import { OnceSignal } from './once-signal.js';
import { KafkaError } from './errors.js';
import type { Broker, ConnectionState, RequestContext } from './handlers/context.js';
import { BEFORE_AUTHENTICATION, HANDLERS } from './handlers/index.js';
import { ApiKey } from './schema/index.js';
import { saslToken } from './handlers/sasl.js';
import { FrameReader } from './frame-reader.js';
import { FrameSplitter } from './framing.js';
import { readIntoOwnMemory } from './socket-reads.js';
import { SaslFailure } from './sasl/mechanisms.js';
import { unsupportedResponse } from './unsupported.js';

/** Stop reading while this many frames wait (a client pipelining faster than we answer). */
const PAUSE_AT = 64;
const RESUME_AT = 16;

export class KafkaConnection {
  readonly state: ConnectionState;
  /** Frames of a plain TCP socket read straight into their memory; others come in 'data' events. */
  private readonly reader: FrameReader | undefined;
  private readonly splitter: FrameSplitter | undefined;
  private readonly queue: Buffer[] = [];
  private busy = false;
  private closed = false;
  private draining = false;
  private readonly done: Promise<void>;
  private finish!: () => void;

  constructor(
    private readonly socket: net.Socket,
    private readonly broker: Broker,
  ) {
    this.state = {
      clientHost: socket.remoteAddress ?? '',
      authenticated: broker.options.sasl === undefined,
      principal: undefined,
      sasl: undefined,
      rawSaslTokens: false,
      gone: new OnceSignal(),
      closeAfterResponse: undefined,
    };
    const reader = new FrameReader(broker.options.maxRequestBytes);
    const direct = readIntoOwnMemory(
      socket,
      () => reader.next(),
      (bytes) => this.accept(reader.received(bytes)),
    );
    this.reader = direct ? reader : undefined;
    this.splitter = direct ? undefined : new FrameSplitter(broker.options.maxRequestBytes);
    this.done = new Promise((resolve) => (this.finish = resolve));
    socket.setNoDelay(true);
    if (!direct) {
      socket.on('data', (data: Buffer) => this.accept(this.splitter!.push(data)));
      socket.resume();
    }
    socket.on('error', () => {
      // Resets and broken pipes from clients that went away: 'close' follows and cleans up.
    });
    socket.on('close', () => {
      this.closed = true;
      this.queue.length = 0;
      this.state.gone.fire();
      this.finish();
    });
  }

  /** Resolves once the socket is closed. */
  get closedPromise(): Promise<void> {
    return this.done;
  }

  private peer(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  /** Closes the connection because of what the client sent; the reason goes to the log. */
  abort(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.broker.options.log(`closing connection from ${this.peer()}: ${reason}`);
    this.socket.destroy();
  }

  /** Stops reading; answers what was received, then closes (server shutdown). */
  drain(): Promise<void> {
    this.draining = true;
    this.socket.pause();
    if (!this.busy) this.endIfDrained();
    return this.done;
  }

  /** Closes at once (after the drain grace period). */
  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  /** Queues the frames a read completed; always true (the socket is paused explicitly). */
  private accept(frames: Buffer[] | string): boolean {
    if (this.closed || this.draining) return true;
    if (typeof frames === 'string') {
      this.abort(frames);
      return true;
    }
    if (frames.length === 0) return true;
    this.queue.push(...frames);
    if (this.queue.length >= PAUSE_AT) this.socket.pause();
    void this.pump();
    return true;
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const next = this.queue.shift()!;
        if (this.queue.length < RESUME_AT && !this.draining) this.socket.resume();
        await this.handle(next);
        if (this.state.closeAfterResponse !== undefined) {
          const reason = this.state.closeAfterResponse;
          this.state.closeAfterResponse = undefined;
          this.broker.options.log(`closing connection from ${this.peer()}: ${reason}`);
          this.closed = true;
          this.socket.end();
        }
      }
    } finally {
      this.busy = false;
    }
    this.endIfDrained();
  }

  private endIfDrained(): void {
    if (!this.draining || this.queue.length > 0 || this.busy) return;
    // Reading again (what arrives now is dropped) lets the client's own end of the connection be
    // seen, which closes the socket: a paused direct read (socket-reads.ts) would never see it.
    this.socket.resume();
    this.socket.end();
  }

  /**
   * Writes one response; `sent` runs once the socket is done with its bytes (written, or the
   * connection gone): the memory they are in may then be reused.
   */
  private async write(chunks: Buffer[], sent?: () => void): Promise<void> {
    if (this.closed) return sent?.();
    const framed = frame(chunks);
    const last = framed.length - 1;
    const done = sent && ((): void => sent());
    let ok = true;
    if (framed.length === 1) {
      ok = this.socket.write(framed[0]!, done);
    } else {
      this.socket.cork();
      framed.forEach((c, i) => (ok = this.socket.write(c, i === last ? done : undefined)));
      this.socket.uncork();
    }
    // Backpressure: a slow reader holds up its own connection, not the process's memory.
    if (!ok && !this.closed) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.socket.off('drain', done);
          this.socket.off('close', done);
          resolve();
        };
        this.socket.on('drain', done);
        this.socket.on('close', done);
      });
    }
  }

  private async handle(raw: Buffer): Promise<void> {
    if (this.state.rawSaslTokens) return this.handleRawToken(raw);
    let request;
    try {
      request = decodeRequest(raw);
    } catch (err) {
      if (err instanceof MalformedFrameError) return this.abort(err.message);
      throw err;
    }
    const { header, api, body } = request;
    if (!this.state.authenticated && !BEFORE_AUTHENTICATION.has(header.apiKey)) {
      return this.abort(`API key ${header.apiKey} before SASL authentication`);
    }
    if (!api || body === undefined) {
      this.broker.options.log(
        `unsupported request from ${this.peer()}: API key ${header.apiKey} version ${header.apiVersion} (answered UNSUPPORTED_VERSION)`,
      );
      return this.write(unsupportedResponse(api, header.apiVersion, header.correlationId));
    }
    const afterResponse: (() => void)[] = [];
    const responded = (): void => {
      for (const done of afterResponse.splice(0)) done();
    };
    const ctx: RequestContext = {
      broker: this.broker,
      connection: this.state,
      header,
      version: header.apiVersion,
      afterResponse: (done) => afterResponse.push(done),
    };
    let response;
    try {
      response = await HANDLERS.get(api.key)!(ctx, body);
    } catch (err) {
      this.broker.options.log(
        `${api.name} v${header.apiVersion} failed: ${(err as Error)?.stack ?? String(err)}`,
      );
      response = { errorCode: KafkaError.UNKNOWN_SERVER_ERROR };
    }
    // Produce copies the records into the log (or refuses them) and answers with numbers and
    // messages only: the request's bytes are free for the next large frame.
    if (api.key === ApiKey.Produce) (this.reader ?? this.splitter)!.recycle(raw);
    if (response === undefined) return responded();
    let chunks;
    try {
      chunks = encodeResponse(api, header.apiVersion, header.correlationId, response);
    } catch (err) {
      responded();
      return this.abort(
        `cannot encode the ${api.name} v${header.apiVersion} response: ${(err as Error).message}`,
      );
    }
    return this.write(chunks, responded);
  }

  private async handleRawToken(token: Buffer): Promise<void> {
    try {
      const reply = saslToken(this.state, token);
      await this.write([reply]);
    } catch (err) {
      if (err instanceof SaslFailure) return this.abort(`SASL authentication failed: ${err.message}`);
      throw err;
    }
  }
}
