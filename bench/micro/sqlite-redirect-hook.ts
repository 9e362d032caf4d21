/**
 * A module resolution hook (node:module register) for the catalog benchmark: `better-sqlite3`
 * resolves to the copy installed in the folder given at registration, so one child process runs
 * logstore's real catalog code on a chosen better-sqlite3 version.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

let target: string | undefined;

export function initialize(data: { dir: string }): void {
  target = createRequire(path.join(data.dir, 'package.json')).resolve('better-sqlite3');
}

type Next = (specifier: string, context: unknown) => Promise<{ url: string }>;

export async function resolve(specifier: string, context: unknown, next: Next) {
  if (specifier === 'better-sqlite3' && target) {
    return { url: pathToFileURL(target).href, format: 'commonjs', shortCircuit: true };
  }
  return next(specifier, context);
}
