/**
 * The two brokers the Kafka cases compare, each in a process of its own, and kcat runs against
 * them: `logstore serve` (bin/logstore.js) on a fresh directory, and librdkafka's mock cluster
 * (one broker inside a kcat producer that waits on its stdin; it logs its bootstrap address).
 * Both listen on a free loopback port; the case's timed section only runs kcat against one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const LOGSTORE_BIN = fileURLToPath(new URL('../../../bin/logstore.js', import.meta.url));

export interface Broker {
  bootstrap: string;
  /** The broker process's peak RSS so far (VmHWM), in bytes; undefined where /proc is missing. */
  peakRssBytes(): number | undefined;
  /** CPU seconds (user + system) the broker process used so far; NaN where /proc is missing. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/** `logstore serve <dir>` on a free port; auto-created topics get `partitions` partitions. */
export async function startLogstoreServe(dir: string, partitions = 1): Promise<Broker> {
  const child = spawn(
    process.execPath,
    [LOGSTORE_BIN, 'serve', dir, '--port', '0', '--default-partitions', String(partitions)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  const address = await announced(child, 'stdout', /^logstore serve: listening on (\S+:\d+)/m);
  return {
    bootstrap: address,
    peakRssBytes: () => peakRss(child),
    cpuSeconds: () => cpuSeconds(child),
    stop: async () => {
      const exited = exitOf(child);
      child.kill('SIGINT');
      const code = await exited;
      if (code !== 0) throw new Error(`logstore serve exited with ${code}: ${log}`);
    },
  };
}

/**
 * librdkafka's mock cluster with one broker. Its auto-created topics have 4 partitions, and each
 * partition keeps only its last 5 MiB (or 100,000 batches): older batches are dropped on append.
 */
export async function startMockBroker(): Promise<Broker> {
  const child = spawn('kcat', ['-b', 'ignored:1', '-X', 'test.mock.num.brokers=1', '-P', '-t', 'keepalive'], {
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  const address = await announced(child, 'stderr', /replaced with (\S+:\d+)/);
  return {
    bootstrap: address,
    peakRssBytes: () => peakRss(child),
    cpuSeconds: () => cpuSeconds(child),
    stop: async () => {
      const exited = exitOf(child);
      child.stdin!.end(); // end of input: the kcat producer flushes nothing and exits
      const code = await exited;
      if (code !== 0) throw new Error(`the mock broker's kcat exited with ${code}`);
    },
  };
}

/**
 * Runs kcat against `bootstrap` with `args`; stdout goes to the file descriptor `stdout` (or is
 * dropped). Rejects on a non-zero exit, with kcat's stderr.
 */
export async function kcat(
  bootstrap: string,
  args: string[],
  stdout: number | 'ignore' = 'ignore',
): Promise<void> {
  const child = spawn('kcat', ['-b', bootstrap, ...args], { stdio: ['ignore', stdout, 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await exitOf(child);
  if (code !== 0) throw new Error(`kcat ${args.join(' ')} exited with ${code}: ${stderr}`);
}

/** What kcat prints for the last record of `topic` partition `partition`: its offset. */
export async function lastOffset(bootstrap: string, topic: string, partition: number): Promise<number> {
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(
      'kcat',
      ['-b', bootstrap, '-C', '-t', topic, '-p', String(partition), '-o', '-1'].concat([
        '-c',
        '1',
        '-e',
        '-q',
        '-f',
        '%o\\n',
      ]),
    );
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(text) : reject(new Error(`kcat exited with ${code}`)),
    );
  });
  return Number(out.trim());
}

function announced(child: ChildProcess, stream: 'stdout' | 'stderr', pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      const match = pattern.exec(text);
      if (match) {
        child[stream]!.off('data', onData);
        child[stream]!.resume(); // keep draining, so the broker never blocks on a full pipe
        resolve(match[1]!);
      }
    };
    child[stream]!.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the broker exited (${code}) before listening: ${text}`)));
  });
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code));
  });
}

function peakRss(child: ChildProcess): number | undefined {
  try {
    const kib = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
    return kib ? Number(kib[1]) * 1024 : undefined;
  } catch {
    return undefined; // not Linux: the bench child's own peak is shown instead
  }
}

/** utime + stime from /proc/<pid>/stat (fields 14 and 15, in clock ticks of 1/100 s on Linux). */
function cpuSeconds(child: ChildProcess): number {
  try {
    const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}
