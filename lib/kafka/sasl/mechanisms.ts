/**
 * Server side of SASL PLAIN (RFC 4616) and SCRAM-SHA-256 (RFC 5802, RFC 7677), as Kafka's broker
 * runs them: each client token goes to `step`, which answers the next server token; `principal`
 * is set once the client has proven who it is. A failure throws SaslFailure (the listener answers
 * SASL_AUTHENTICATION_FAILED and closes the connection).
 */
import crypto from 'node:crypto';
import type { SaslMechanism } from './users.js';

export class SaslFailure extends Error {}

export interface SaslExchange {
  step(token: Buffer): Buffer;
  /** Set when authentication succeeded. */
  principal: string | undefined;
}

const ITERATIONS = 4096;

interface ScramCredential {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

const hmac = (key: Buffer, data: string | Buffer): Buffer =>
  crypto.createHmac('sha256', key).update(data).digest();
const sha256 = (data: Buffer): Buffer => crypto.createHash('sha256').update(data).digest();

function equalSecret(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

/** Users and their SCRAM credentials, derived once when the listener starts. */
export class SaslUsers {
  private readonly scram = new Map<string, ScramCredential>();

  constructor(private readonly passwords: Map<string, string>) {
    for (const [name, password] of passwords) {
      const salt = crypto.randomBytes(16);
      const salted = crypto.pbkdf2Sync(password, salt, ITERATIONS, 32, 'sha256');
      const clientKey = hmac(salted, 'Client Key');
      this.scram.set(name, {
        salt,
        iterations: ITERATIONS,
        storedKey: sha256(clientKey),
        serverKey: hmac(salted, 'Server Key'),
      });
    }
  }

  start(mechanism: SaslMechanism): SaslExchange {
    return mechanism === 'PLAIN' ? new PlainExchange(this.passwords) : new ScramExchange(this.scram);
  }
}

class PlainExchange implements SaslExchange {
  principal: string | undefined;

  constructor(private readonly passwords: Map<string, string>) {}

  step(token: Buffer): Buffer {
    if (this.principal !== undefined) throw new SaslFailure('PLAIN takes one message');
    const parts = token.toString('utf8').split('\0');
    if (parts.length !== 3) throw new SaslFailure('PLAIN message is not authzid NUL user NUL password');
    const [authzid, user, password] = parts as [string, string, string];
    const known = this.passwords.get(user);
    const ok = known !== undefined && equalSecret(Buffer.from(known), Buffer.from(password));
    if (!ok) throw new SaslFailure(`authentication failed for user ${JSON.stringify(user)}`);
    if (authzid !== '' && authzid !== user) throw new SaslFailure('authorization id must match the user');
    this.principal = user;
    return Buffer.alloc(0);
  }
}

/** Attributes of a SCRAM message: "a=1,b=2" -> { a: '1', b: '2' } (values may contain '='). */
function attributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) {
    if (part.length < 2 || part[1] !== '=')
      throw new SaslFailure(`bad SCRAM attribute ${JSON.stringify(part)}`);
    out.set(part[0]!, part.slice(2));
  }
  return out;
}

function unescapeName(name: string): string {
  if (/=(?!2C|3D)/.test(name)) throw new SaslFailure('bad escape in SCRAM user name');
  return name.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

class ScramExchange implements SaslExchange {
  principal: string | undefined;
  private state: 'first' | 'final' | 'done' = 'first';
  private user = '';
  private nonce = '';
  private clientFirstBare = '';
  private serverFirst = '';

  constructor(private readonly credentials: Map<string, ScramCredential>) {}

  step(token: Buffer): Buffer {
    const message = token.toString('utf8');
    if (this.state === 'first') return this.first(message);
    if (this.state === 'final') return this.final(message);
    throw new SaslFailure('SCRAM exchange already finished');
  }

  private first(message: string): Buffer {
    // gs2-header "n,," or "n,a=authzid," (no channel binding), then the client-first-bare.
    const match = /^([ny]),(a=[^,]*)?,(.*)$/s.exec(message);
    if (!match) throw new SaslFailure('SCRAM client-first message without a gs2 header');
    this.clientFirstBare = match[3]!;
    const attrs = attributes(this.clientFirstBare);
    const user = attrs.get('n');
    const clientNonce = attrs.get('r');
    if (user === undefined || !clientNonce) throw new SaslFailure('SCRAM client-first lacks n= or r=');
    this.user = unescapeName(user);
    const credential = this.credentials.get(this.user);
    // An unknown user still gets a well-formed challenge (with a random salt) so that the
    // exchange does not reveal which names exist; it fails at the proof.
    const salt = credential?.salt ?? crypto.randomBytes(16);
    this.nonce = clientNonce + crypto.randomBytes(18).toString('base64');
    this.serverFirst = `r=${this.nonce},s=${salt.toString('base64')},i=${credential?.iterations ?? ITERATIONS}`;
    this.state = 'final';
    return Buffer.from(this.serverFirst);
  }

  private final(message: string): Buffer {
    this.state = 'done';
    const proofAt = message.lastIndexOf(',p=');
    if (proofAt < 0) throw new SaslFailure('SCRAM client-final lacks a proof');
    const withoutProof = message.slice(0, proofAt);
    const attrs = attributes(withoutProof);
    // Kafka's broker accepts a final nonce that ends with the server's (ScramSaslServer), and
    // librdkafka 2.0 relies on it: it sends its own nonce again before the combined one.
    if (!attrs.get('r')?.endsWith(this.nonce)) throw new SaslFailure('SCRAM nonce mismatch');
    const binding = attrs.get('c');
    if (binding !== 'biws' && binding !== 'eSws')
      throw new SaslFailure('SCRAM channel binding is not supported');
    const proof = Buffer.from(message.slice(proofAt + 3), 'base64');
    const credential = this.credentials.get(this.user);
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    if (!credential || proof.length !== 32)
      throw new SaslFailure(`authentication failed for user ${JSON.stringify(this.user)}`);
    const signature = hmac(credential.storedKey, authMessage);
    const clientKey = Buffer.alloc(32);
    for (let i = 0; i < 32; i++) clientKey[i] = proof[i]! ^ signature[i]!;
    if (!equalSecret(sha256(clientKey), credential.storedKey)) {
      throw new SaslFailure(`authentication failed for user ${JSON.stringify(this.user)}`);
    }
    this.principal = this.user;
    return Buffer.from(`v=${hmac(credential.serverKey, authMessage).toString('base64')}`);
  }
}
