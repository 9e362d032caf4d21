/** Runs a script in a child Node process (ESM, with the compiled library importable). */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** build/lib/index.js, for scripts run in children. */
export const LIB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../lib/index.js');

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
  let pending = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      options.onLine?.(line);
    }
  });
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
