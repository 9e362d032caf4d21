/** Runs a script in a child Node process (ESM, with the compiled library importable). */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/lib/index.js, for scripts run in children. */
export const LIB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../lib/index.js');

/**
 * Calls `onLine` for each complete line `stream` emits; returns a function that hands over a
 * last line with no newline (call it once the stream has ended).
 */
export function splitLines(stream: Readable, onLine: (line: string) => void): () => void {
  let pending = '';
  // A character of several UTF-8 bytes may be cut between two chunks: the decoder keeps the
  // first part until the rest arrives.
  const decoder = new StringDecoder('utf8');
  stream.on('data', (chunk: Buffer) => {
    pending += decoder.write(chunk);
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      onLine(line);
    }
  });
  return () => {
    pending += decoder.end();
    if (pending.length > 0) onLine(pending);
    pending = '';
  };
}

/** Starts `node --input-type=module -e <source>`; stdout lines go to `onLine`. */
export function startChild(
  source: string,
  options: { env?: Record<string, string>; onLine?: (line: string) => void } = {},
): {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
} {
  const child = spawn(process.execPath, ['--input-type=module', '-e', source], {
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  splitLines(child.stdout!, (line) => options.onLine?.(line));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, exited };
}

/** Runs a script to completion; resolves with its stdout. */
export async function runChild(
  source: string,
  env?: Record<string, string>,
): Promise<{ stdout: string; code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  const lines: string[] = [];
  const { exited } = startChild(source, { env, onLine: (l) => lines.push(l) });
  const result = await exited;
  return { stdout: lines.join('\n'), ...result };
}
