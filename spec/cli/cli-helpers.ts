/**
 * Helpers for the CLI specs: run the real `bin/logstore.js` in a child process (cwd: the repo
 * root), start a live writer child that prints every record it appends, and make sure every
 * child is gone when a spec file ends, whatever happened.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { isUtf8 } from 'node:buffer';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LIB, splitLines, startChild } from '../helpers/child.js';

/** The repository root (this file is dist/spec/cli/cli-helpers.js). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = path.join(ROOT, 'bin', 'logstore.js');

const children = new Set<ChildProcess>();

/** Kills every child still running (call in `after`/`afterEach`). */
export function killChildren(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
}

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** stdout as bytes (for --format raw). */
  stdoutBytes: Buffer;
  stderr: string;
  ms: number;
}

/** Runs `logstore <args>` to completion (killed after `timeoutMs`), feeding it `input`. */
export function cli(
  args: string[],
  options: { input?: string | Buffer; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const started = Date.now();
  const child = track(
    spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    }),
  );
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => out.push(d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin!.on('error', () => undefined);
  child.stdin!.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 10_000);
  return new Promise((resolve) => {
    // 'close' comes after 'exit' and after the pipes are drained.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      resolve({
        code,
        signal,
        stdout: stdoutBytes.toString('utf8'),
        stdoutBytes,
        stderr,
        ms: Date.now() - started,
      });
    });
  });
}

/** A long-running `logstore <args>` (tail --follow): its stdout lines as they come. */
export class RunningCli {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: (() => void)[] = [];

  constructor(args: string[], onLine?: (line: string) => void) {
    this.child = track(
      spawn(process.execPath, [BIN, ...args], {
        cwd: ROOT,
        env: { ...process.env, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    splitLines(this.child.stdout!, (line) => {
      this.lines.push(line);
      onLine?.(line);
      for (const w of this.waiters.splice(0)) w();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  /** Resolves once `predicate(lines)` holds; rejects after `timeoutMs`. */
  async waitFor(predicate: (lines: string[]) => boolean, timeoutMs = 5000, what = 'output'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.lines)) {
      if (Date.now() > deadline) {
        throw new Error(
          `timed out waiting for ${what}; ${this.lines.length} lines so far; stderr: ${this.stderr}`,
        );
      }
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }
}

/** What the writer child printed for each record it appended (bytes as hex). */
export interface WrittenRecord {
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

export interface WriterConfig {
  dir: string;
  topic: string;
  partitions?: number;
  segmentBytes?: number;
  /** Records appended before 'ready'. */
  initial: number;
  /** Then one record every intervalMs (0: none). */
  intervalMs?: number;
  /** Timestamps tsBase + i * 1000 instead of now. */
  tsBase?: number;
  /** Bytes of padding added to each value. */
  padding?: number;
}

/**
 * A live writer in its own process: it creates the topic, appends `initial` records, prints
 * `ready`, then appends one every `intervalMs` until killed. Every record it appends is printed
 * as a JSON WrittenRecord line first. Record i: key `k<i % 5>` (null when i % 7 == 3); value
 * `value <i>` (binary, not UTF-8, when i % 5 == 4); headers n=<i> and, when i % 3 == 0, a binary one.
 */
export class Writer {
  readonly records: WrittenRecord[] = [];
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  private readyResolve!: () => void;
  readonly ready: Promise<void>;

  constructor(config: WriterConfig) {
    this.ready = new Promise((resolve) => (this.readyResolve = resolve));
    const { child, exited } = startChild(WRITER_SOURCE, {
      env: { WRITER_CONFIG: JSON.stringify(config) },
      onLine: (line) => {
        if (line === 'ready') this.readyResolve();
        else this.records.push(JSON.parse(line) as WrittenRecord);
      },
    });
    this.child = track(child);
    this.exited = exited;
    void exited.then((r) => {
      if (r.code !== 0 && r.signal === null) this.readyResolve(); // let a waiting test see the failure
    });
  }

  /** Closes the store cleanly and waits for the child to exit. */
  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
  }
}

const WRITER_SOURCE = `
import { LogStore } from ${JSON.stringify(LIB)};
const cfg = JSON.parse(process.env.WRITER_CONFIG);
const store = LogStore.open(cfg.dir, { durability: 'none' });
store.createTopic(cfg.topic, { partitions: cfg.partitions ?? 1, ...(cfg.segmentBytes ? { segmentBytes: cfg.segmentBytes } : {}) });
const hex = (b) => (b === null ? null : Buffer.from(b).toString('hex'));
let i = 0;
function write() {
  const n = i++;
  const key = n % 7 === 3 ? null : Buffer.from('k' + (n % 5));
  let value = n % 5 === 4 ? Buffer.from([0xff, 0xfe, n & 0xff, 0x80]) : Buffer.from('value ' + n + ' ✓');
  if (cfg.padding) value = Buffer.concat([value, Buffer.alloc(cfg.padding, 0x2e)]);
  const headers = { n: Buffer.from(String(n)) };
  if (n % 3 === 0) headers.bin = Buffer.from([0xc3, 0x28]);
  const timestamp = cfg.tsBase !== undefined ? cfg.tsBase + n * 1000 : Date.now();
  const r = store.append(cfg.topic, { key, value, headers, timestamp });
  const hs = {};
  for (const [k, v] of Object.entries(headers)) hs[k] = hex(v);
  process.stdout.write(JSON.stringify({ partition: r.partition, offset: r.baseOffset, timestamp, key: hex(key), value: hex(value), headers: hs }) + '\\n');
}
for (let k = 0; k < cfg.initial; k++) write();
process.stdout.write('ready\\n');
const timer = cfg.intervalMs ? setInterval(write, cfg.intervalMs) : setInterval(() => {}, 1000);
process.on('SIGTERM', async () => { clearInterval(timer); await store.close(); process.exit(0); });
`;

/** The JSON form `tail --format json` must print for bytes given as hex (see lib/cli/records.ts). */
export function expectedBytes(hex: string | null): string | { base64: string } | null {
  if (hex === null) return null;
  const b = Buffer.from(hex, 'hex');
  return isUtf8(b) ? b.toString('utf8') : { base64: b.toString('base64') };
}

/** The JSON line object `tail --format json` must print for a written record. */
export function expectedJson(topic: string, r: WrittenRecord): unknown {
  const headers: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r.headers)) headers[k] = expectedBytes(v);
  return {
    topic,
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    key: expectedBytes(r.key),
    value: expectedBytes(r.value),
    headers,
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
