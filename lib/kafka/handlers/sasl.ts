/**
 * SaslHandshake and SaslAuthenticate (KIP-152). With handshake v0 the client then sends bare
 * SASL tokens instead of SaslAuthenticate requests; the connection handles those with
 * `saslToken`. A failed authentication is answered, then the connection is closed, as Kafka does.
 */
import { KafkaError } from '../errors.js';
import { SaslFailure } from '../sasl/mechanisms.js';
import type { SaslMechanism } from '../sasl/users.js';
import type { Struct } from '../schema/types.js';
import type { ConnectionState, RequestContext } from './context.js';

export function handleSaslHandshake(ctx: RequestContext, req: Struct): Struct {
  const sasl = ctx.broker.options.sasl;
  const users = ctx.broker.saslUsers;
  if (!sasl || !users) return { errorCode: KafkaError.UNSUPPORTED_SASL_MECHANISM, mechanisms: [] };
  if (ctx.connection.authenticated || ctx.connection.sasl) {
    ctx.connection.closeAfterResponse = 'SaslHandshake after authentication started';
    return { errorCode: KafkaError.ILLEGAL_SASL_STATE, mechanisms: sasl.mechanisms };
  }
  const mechanism = req.mechanism as SaslMechanism;
  if (!sasl.mechanisms.includes(mechanism)) {
    return { errorCode: KafkaError.UNSUPPORTED_SASL_MECHANISM, mechanisms: sasl.mechanisms };
  }
  ctx.connection.sasl = users.start(mechanism);
  ctx.connection.rawSaslTokens = ctx.version === 0;
  return { errorCode: KafkaError.NONE, mechanisms: sasl.mechanisms };
}

/** One step of the exchange; returns the server's token. Throws SaslFailure. */
export function saslToken(connection: ConnectionState, token: Buffer): Buffer {
  const exchange = connection.sasl;
  if (!exchange) throw new SaslFailure('no SASL mechanism chosen (SaslHandshake first)');
  const reply = exchange.step(token);
  if (exchange.principal !== undefined) {
    connection.authenticated = true;
    connection.principal = exchange.principal;
    connection.sasl = undefined;
    connection.rawSaslTokens = false;
  }
  return reply;
}

export function handleSaslAuthenticate(ctx: RequestContext, req: Struct): Struct {
  try {
    const authBytes = saslToken(ctx.connection, req.authBytes as Buffer);
    return { errorCode: KafkaError.NONE, errorMessage: null, authBytes, sessionLifetimeMs: 0 };
  } catch (err) {
    if (!(err instanceof SaslFailure)) throw err;
    ctx.connection.closeAfterResponse = `SASL authentication failed: ${err.message}`;
    const errorCode = ctx.connection.sasl
      ? KafkaError.SASL_AUTHENTICATION_FAILED
      : KafkaError.ILLEGAL_SASL_STATE;
    return { errorCode, errorMessage: err.message, authBytes: Buffer.alloc(0), sessionLifetimeMs: 0 };
  }
}
