/**
 * Client side of SASL PLAIN (RFC 4616) and SCRAM-SHA-256/512 (RFC 5802, RFC 7677), as Kafka
 * clients run them over SaslAuthenticate: `first()` is the client's opening token, `next(server)`
 * answers each server token (null when the exchange is complete on the client's side). A server
 * that fails to prove it knows the password (SCRAM's server signature) is refused here.
 */
import crypto from 'node:crypto';
import { LogStoreError } from '../../errors.js';

export type SaslClientMechanism = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
export const SASL_CLIENT_MECHANISMS: readonly SaslClientMechanism[] = [
  'PLAIN',
  'SCRAM-SHA-256',
  'SCRAM-SHA-512',
];

export interface SaslCredentials {
  mechanism: SaslClientMechanism;
  username: string;
  password: string;
}

export interface SaslClientExchange {
  first(): Buffer;
  /** The answer to a server token, or null when nothing more is to be sent. */
  next(server: Buffer): Buffer | null;
}

export function saslClient(credentials: SaslCredentials): SaslClientExchange {
  return credentials.mechanism === 'PLAIN'
    ? new PlainClient(credentials)
    : new ScramClient(credentials, credentials.mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512');
}

function failure(message: string): LogStoreError {
  return new LogStoreError('LOGSTORE_REMOTE', `SASL: ${message}`, {
    details: { kind: 'SASL_AUTHENTICATION_FAILED' },
  });
}

class PlainClient implements SaslClientExchange {
  constructor(private readonly credentials: SaslCredentials) {}

  first(): Buffer {
    return Buffer.from(`\0${this.credentials.username}\0${this.credentials.password}`, 'utf8');
  }

  next(): Buffer | null {
    return null;
  }
}

/** SCRAM user names escape ',' and '=' (RFC 5802, section 5.1). */
const escapeName = (name: string): string => name.replace(/=/g, '=3D').replace(/,/g, '=2C');

class ScramClient implements SaslClientExchange {
  private readonly nonce = crypto.randomBytes(24).toString('base64');
  private clientFirstBare = '';
  private serverSignature: Buffer | null = null;
  private readonly keyBytes: number;

  constructor(
    private readonly credentials: SaslCredentials,
    private readonly hash: 'sha256' | 'sha512',
  ) {
    this.keyBytes = hash === 'sha256' ? 32 : 64;
  }

  first(): Buffer {
    this.clientFirstBare = `n=${escapeName(this.credentials.username)},r=${this.nonce}`;
    return Buffer.from(`n,,${this.clientFirstBare}`, 'utf8');
  }

  next(server: Buffer): Buffer | null {
    const message = server.toString('utf8');
    if (this.serverSignature === null) return this.final(message);
    const attrs = attributes(message);
    const error = attrs.get('e');
    if (error !== undefined) throw failure(`the server refused the proof: ${error}`);
    const verifier = Buffer.from(attrs.get('v') ?? '', 'base64');
    if (
      verifier.length !== this.serverSignature.length ||
      !crypto.timingSafeEqual(verifier, this.serverSignature)
    )
      throw failure('the server did not prove that it knows the password (bad SCRAM server signature)');
    return null;
  }

  private final(serverFirst: string): Buffer {
    const attrs = attributes(serverFirst);
    const nonce = attrs.get('r');
    const salt = attrs.get('s');
    const iterations = Number(attrs.get('i'));
    if (!nonce?.startsWith(this.nonce) || salt === undefined)
      throw failure('the server-first SCRAM message lacks our nonce or a salt');
    if (!Number.isInteger(iterations) || iterations < 1)
      throw failure(`bad SCRAM iteration count ${attrs.get('i')}`);
    const salted = crypto.pbkdf2Sync(
      this.credentials.password,
      Buffer.from(salt, 'base64'),
      iterations,
      this.keyBytes,
      this.hash,
    );
    const hmac = (key: Buffer, data: string) => crypto.createHmac(this.hash, key).update(data).digest();
    const clientKey = hmac(salted, 'Client Key');
    const storedKey = crypto.createHash(this.hash).update(clientKey).digest();
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${withoutProof}`;
    const signature = hmac(storedKey, authMessage);
    const proof = Buffer.alloc(clientKey.length);
    for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ signature[i]!;
    this.serverSignature = hmac(hmac(salted, 'Server Key'), authMessage);
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8');
  }
}

function attributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) {
    if (part.length >= 2 && part[1] === '=') out.set(part[0]!, part.slice(2));
  }
  return out;
}
