/**
 * Child processes for the reliability suite: the compiled scripts of this directory run in their
 * own Node process (so that SIGKILL, SIGBUS or a file size limit hit them and not the test
 * runner), each stdout line handed over as it arrives. `exited` resolves once the process is gone
 * and its output fully read, so no acknowledgement printed before a kill is missed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { splitLines } from '../helpers/child.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

/** The compiled child scripts (dist/spec/reliability/*.js). */
export const SCRIPTS = {
  writer: path.join(HERE, 'writer-child.js'),
  follower: path.join(HERE, 'follower-child.js'),
  corruption: path.join(HERE, 'corruption-child.js'),
} as const;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

export interface Proc {
  child: ChildProcess;
  exited: Promise<Exit>;
  /** Writes a line to the child's stdin. */
  send(line: string): void;
  kill(signal?: NodeJS.Signals): void;
}

export interface SpawnOptions {
  env?: Record<string, string | undefined>;
  onLine?: (line: string) => void;
  /** Runs the child under `ulimit -f <blocks>` (1 KiB blocks), through bash. */
  fileSizeLimitKiB?: number;
}

/** Starts `node <script> <args...>`. */
export function spawnNode(script: string, args: readonly string[], options: SpawnOptions = {}): Proc {
  const env = { ...process.env, ...options.env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const child =
    options.fileSizeLimitKiB === undefined
      ? spawn(process.execPath, [script, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn(
          'bash',
          [
            '-c',
            `ulimit -f ${options.fileSizeLimitKiB} && exec "$0" "$@"`,
            process.execPath,
            script,
            ...args,
          ],
          { env, stdio: ['pipe', 'pipe', 'pipe'] },
        );
  let stderr = '';
  const lastLine = splitLines(child.stdout!, (line) => options.onLine?.(line));
  child.stderr!.on('data', (chunk: Buffer) => {
    if (stderr.length < 20000) stderr += chunk.toString();
  });
  child.stdin!.on('error', () => undefined); // the child may be gone
  const exited = new Promise<Exit>((resolve) =>
    child.on('close', (code, signal) => {
      lastLine();
      resolve({ code, signal, stderr });
    }),
  );
  return {
    child,
    exited,
    send: (line) => {
      if (child.stdin!.writable) child.stdin!.write(line + '\n');
    },
    kill: (signal = 'SIGKILL') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the exit, or kills the child (SIGKILL) after `ms` and resolves with that. */
export async function exitWithin(proc: Proc, ms: number): Promise<Exit & { timedOut: boolean }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  const first = await Promise.race([proc.exited, timeout]);
  clearTimeout(timer);
  if (first !== 'timeout') return { ...first, timedOut: false };
  proc.kill('SIGKILL');
  return { ...(await proc.exited), timedOut: true };
}
