/** A self-signed certificate for the TLS specs (made with openssl, which the specs need for it). */
import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** A certificate for 127.0.0.1 in dir/cert.pem and dir/key.pem; skips (saying why) without openssl. */
export function selfSignedCertificate(ctx: Mocha.Context, dir: string): void {
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
  } catch {
    console.log('      (skipped: openssl is not installed (apt-get install openssl))');
    ctx.skip();
  }
}
