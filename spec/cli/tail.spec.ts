import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { removeTempDirs, tempDir } from '../helpers/temp.js';
import {
  BIN,
  cli,
  expectedJson,
  killChildren,
  ROOT,
  RunningCli,
  Writer,
  type WriterConfig,
} from './cli-helpers.js';

describe('logstore tail', function () {
  this.timeout(15_000);
  const writers: Writer[] = [];

  afterEach(async () => {
    killChildren();
    await Promise.all(writers.splice(0).map((w) => w.exited));
  });
  after(removeTempDirs);

  /** Starts a writer in its own process and returns it with its directory. */
  async function live(config: Omit<WriterConfig, 'dir' | 'topic'>): Promise<{ w: Writer; dir: string }> {
    const dir = tempDir();
    const w = new Writer({ dir, topic: 'events', ...config });
    writers.push(w);
    await w.ready;
    expect(w.records.length, 'writer started').to.be.at.least(config.initial);
    return { w, dir };
  }

  it('should print the records on disk as JSON lines that match the written records exactly', async () => {
    const { w, dir } = await live({ initial: 40 });
    const r = await cli(['tail', dir, 'events', '--format', 'json']);
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    expect(lines).to.deep.equal(w.records.map((rec) => expectedJson('events', rec)));
    // both forms of bytes occur: UTF-8 strings and the base64 marker
    expect(r.stdout).to.include('"value":{"base64":"//4');
    expect(r.stdout).to.include('"key":null');
  });

  it('should merge partitions in timestamp order', async () => {
    const { w, dir } = await live({ initial: 60, partitions: 3, tsBase: Date.UTC(2024, 4, 1) });
    const r = await cli(['tail', dir, 'events', '--format', 'json']);
    expect(r.code, r.stderr).to.equal(0);
    const got = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { timestamp: number });
    const expected = [...w.records]
      .sort((a, b) => a.timestamp - b.timestamp)
      .map((rec) => expectedJson('events', rec));
    expect(got).to.deep.equal(expected);
    expect(new Set(w.records.map((rec) => rec.partition)).size).to.equal(3);
  });

  it('should start --from an ISO-8601 time at the first record at or after it', async () => {
    const { w, dir } = await live({ initial: 30, tsBase: Date.UTC(2024, 4, 1, 12, 0, 0) });
    const [utc, offsetZone, between, before] = await Promise.all([
      cli(['tail', dir, 'events', '--format', 'json', '--from', '2024-05-01T12:00:10Z']),
      cli(['tail', dir, 'events', '--format', 'json', '--from', '2024-05-01T14:00:20+02:00', '--max', '2']),
      cli(['tail', dir, 'events', '--format', 'json', '--from', '2024-05-01T12:00:05.500Z', '--max', '1']),
      cli(['tail', dir, 'events', '--format', 'json', '--from', '2024-04-30']),
    ]);
    const offsets = (out: string) =>
      out
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as { offset: number }).offset);
    expect(utc.code, utc.stderr).to.equal(0);
    expect(offsets(utc.stdout)).to.deep.equal(w.records.slice(10).map((rec) => rec.offset));
    expect(offsets(offsetZone.stdout)).to.deep.equal([20, 21]);
    expect(offsets(between.stdout)).to.deep.equal([6]);
    expect(offsets(before.stdout)).to.have.length(30);
  });

  it('should --follow a live writer in another process: existing records, then new ones, and exit 0 on SIGINT', async () => {
    const { w, dir } = await live({ initial: 10, intervalMs: 10 });
    const tail = new RunningCli([
      'tail',
      dir,
      'events',
      '--follow',
      '--from',
      'earliest',
      '--format',
      'json',
    ]);
    await tail.waitFor((lines) => lines.length >= 40, 5000, '40 records');
    tail.child.kill('SIGINT');
    const exit = await tail.exited;
    expect(exit, tail.stderr).to.deep.equal({ code: 0, signal: null });
    const got = tail.lines.map((l) => JSON.parse(l) as unknown);
    expect(got).to.deep.equal(w.records.slice(0, got.length).map((rec) => expectedJson('events', rec)));
  });

  it('should keep following across segment rolls', async () => {
    const { w, dir } = await live({ initial: 5, intervalMs: 3, segmentBytes: 4096, padding: 300 });
    const tail = new RunningCli([
      'tail',
      dir,
      'events',
      '--follow',
      '--from',
      'earliest',
      '--format',
      'json',
    ]);
    await tail.waitFor((lines) => lines.length >= 150, 8000, '150 records');
    tail.child.kill('SIGINT');
    expect((await tail.exited).code).to.equal(0);
    expect(fs.readdirSync(path.join(dir, 'events-0')).filter((f) => f.endsWith('.log')).length).to.be.above(
      5,
    );
    const got = tail.lines.map((l) => JSON.parse(l) as unknown);
    expect(got).to.deep.equal(w.records.slice(0, got.length).map((rec) => expectedJson('events', rec)));
  });

  it('should exit 0 when its output pipe closes (| head -n 3)', async () => {
    const { dir } = await live({ initial: 5, intervalMs: 10 });
    const script = `node ${JSON.stringify(BIN)} tail ${JSON.stringify(dir)} events --follow --from earliest | head -n 3; echo "status \${PIPESTATUS[*]}"`;
    const child = spawn('bash', ['-c', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
    await new Promise((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    const lines = out.trimEnd().split('\n');
    expect(lines).to.have.length(4);
    expect(lines[3]).to.equal('status 0 0');
  });

  it('should exit 0 on SIGTERM', async () => {
    const { dir } = await live({ initial: 1, intervalMs: 50 });
    const tail = new RunningCli(['tail', dir, 'events', '--follow', '--from', 'earliest']);
    await tail.waitFor((lines) => lines.length >= 1);
    tail.child.kill('SIGTERM');
    expect(await tail.exited).to.deep.equal({ code: 0, signal: null });
  });

  it('should honour --partition, --from <offset>, --max and the text and raw formats', async () => {
    const { w, dir } = await live({ initial: 40, partitions: 2 });
    const p1 = w.records.filter((r) => r.partition === 1);
    const [json, text, raw] = await Promise.all([
      cli(['tail', dir, 'events', '--partition', '1', '--from', '2', '--max', '3', '--format', 'json']),
      cli(['tail', dir, 'events', '--partition', '1', '--max', '2']),
      cli(['tail', dir, 'events', '--partition', '1', '--max', '2', '--format', 'raw']),
    ]);
    expect(json.code, json.stderr).to.equal(0);
    expect(
      json.stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as unknown),
    ).to.deep.equal(p1.slice(2, 5).map((rec) => expectedJson('events', rec)));
    const first = p1[0]!;
    const textLines = text.stdout.trimEnd().split('\n');
    expect(textLines).to.have.length(2);
    expect(textLines[0]).to.match(
      new RegExp(`^1:0  ${new Date(first.timestamp).toISOString().replace(/\./g, '\\.')}  `),
    );
    const rawExpected = Buffer.concat(
      p1.slice(0, 2).flatMap((rec) => [Buffer.from(rec.value!, 'hex'), Buffer.from('\n')]),
    );
    expect(raw.stdoutBytes.toString('hex')).to.equal(rawExpected.toString('hex'));
  });

  it('should refuse --from <offset> without --partition on a topic of several partitions (exit 2)', async () => {
    const { dir } = await live({ initial: 2, partitions: 2 });
    const r = await cli(['tail', dir, 'events', '--from', '1']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.include('--partition').and.include('usage: logstore tail');
  });

  it('should say why --group cannot run beside a live writer (exit 1)', async () => {
    const { dir } = await live({ initial: 2 });
    const r = await cli(['tail', dir, 'events', '--group', 'billing']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('LOGSTORE_LOCKED: tail --group');
    expect(r.stderr).not.to.include('    at ');
  });

  it('should name the error code of a library error, without a stack unless --debug', async () => {
    const { dir } = await live({ initial: 1 });
    const [plain, debug] = await Promise.all([
      cli(['tail', dir, 'nope']),
      cli(['tail', dir, 'nope', '--debug']),
    ]);
    expect(plain.code).to.equal(1);
    expect(plain.stderr).to.match(/^error: LOGSTORE_TOPIC_NOT_FOUND: /);
    expect(plain.stderr).not.to.include('    at ');
    expect(debug.code).to.equal(1);
    expect(debug.stderr).to.include('    at ');
  });
});
