/**
 * The SASL users file: one user a line, `name:password` (the first ':' separates them, so a
 * password may contain ':'); blank lines and lines starting with '#' are ignored. Both PLAIN and
 * SCRAM-SHA-256 authenticate against it (SCRAM credentials are derived from the password when the
 * listener starts). Keep the file readable by the serving user only.
 *
 *   # logstore serve --sasl-users users.txt
 *   alice:correct horse battery staple
 *   mirror:s3cret:with:colons
 */
import { invalidArgument } from '../../options.js';

export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export function parseUsers(text: string, where = 'users file'): Map<string, string> {
  const users = new Map<string, string>();
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '' || line.trimStart().startsWith('#')) return;
    const colon = line.indexOf(':');
    if (colon <= 0) throw invalidArgument(`${where} line ${i + 1}: expected name:password`);
    const name = line.slice(0, colon);
    if (users.has(name)) throw invalidArgument(`${where} line ${i + 1}: user ${name} appears twice`);
    users.set(name, line.slice(colon + 1));
  });
  return users;
}
