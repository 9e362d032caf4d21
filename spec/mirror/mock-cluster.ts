/**
 * librdkafka's mock cluster as a third-party broker for the mirror specs: `kcat -b x:1 -X
 * test.mock.num.brokers=3 -P -t keepalive` runs while its stdin stays open and prints the
 * cluster's bootstrap list; the mock auto-creates topics (4 partitions) and has no admin APIs.
 * kcat also produces and consumes here, as the independent client that writes and checks data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { killChildren } from '../cli/cli-helpers.js';
import { removeTempDirs } from '../helpers/temp.js';
import { MISSING, run } from '../kafka/clients.js';

export interface MockCluster {
  bootstrap: string;
  process: ChildProcess;
  /** Kills the mock (SIGKILL): every broker disappears at once. */
  kill(): Promise<void>;
}

const running = new Set<ChildProcess>();

/** In a mocha hook or test: skip, saying why, without kcat. */
export function requireKcat(ctx: Mocha.Context): void {
  if (MISSING.kcat) {
    console.log(`      (skipped: ${MISSING.kcat})`);
    ctx.skip();
  }
}

export function startMockCluster(brokers = 3): Promise<MockCluster> {
  const child = spawn(
    'kcat',
    ['-b', 'ignored:1', '-X', `test.mock.num.brokers=${brokers}`, '-P', '-t', 'keepalive'],
    {
      stdio: ['pipe', 'ignore', 'pipe'],
    },
  );
  running.add(child);
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  void exited.then(() => running.delete(child));
  return new Promise((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`no mock cluster after 10 s: ${stderr}`)), 10_000);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      const m = /replaced with (\S+)/.exec(stderr);
      if (!m) return;
      clearTimeout(timer);
      resolve({
        bootstrap: m[1]!,
        process: child,
        kill: async () => {
          child.kill('SIGKILL');
          await exited;
        },
      });
    });
    child.on('exit', (code) => reject(new Error(`the mock cluster exited (${code}): ${stderr}`)));
  });
}

/** Kills every mock still running (in `after`). */
export function stopMockClusters(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/**
 * In a `describe`: a fresh mock cluster for each test (the suite skips without kcat), children
 * and temp dirs cleaned up after. The object returned reads through to the current mock.
 */
export function useMockCluster(brokers = 3): MockCluster {
  let current: MockCluster | undefined;
  before(function () {
    requireKcat(this);
  });
  beforeEach(async () => {
    current = await startMockCluster(brokers);
  });
  afterEach(async () => {
    killChildren();
    await current?.kill();
    current = undefined;
  });
  after(() => {
    stopMockClusters();
    removeTempDirs();
  });
  return {
    get bootstrap() {
      return current!.bootstrap;
    },
    get process() {
      return current!.process;
    },
    kill: () => current!.kill(),
  };
}

/** A record as kcat -J prints it. */
export interface KcatRecord {
  topic: string;
  partition: number;
  offset: number;
  ts: number;
  key: string | null;
  payload: string | null;
  /** [k1, v1, k2, v2, ...] in order; absent without headers. */
  headers?: (string | null)[];
}

/** Every record of `topic` (all partitions, or one), read by kcat from the beginning to the end. */
export async function kcatRead(bootstrap: string, topic: string, partition?: number): Promise<KcatRecord[]> {
  const args = ['-b', bootstrap, '-C', '-t', topic, '-o', 'beginning', '-e', '-J', '-q'];
  if (partition !== undefined) args.push('-p', String(partition));
  const r = await run('kcat', args, { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`kcat ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as KcatRecord);
}

/** Produces `lines` (`key<TAB>value`) with kcat to one partition, with `args` (codec, headers...). */
export async function kcatProduce(
  bootstrap: string,
  topic: string,
  partition: number,
  lines: string[],
  args: string[] = [],
): Promise<void> {
  const all = ['-b', bootstrap, '-P', '-t', topic, '-p', String(partition), '-K', '\t', ...args];
  const r = await run('kcat', all, { input: lines.join('\n') + '\n', timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`kcat ${all.join(' ')} exited ${r.code}: ${r.stderr}`);
}
