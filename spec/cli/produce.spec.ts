import { expect } from 'chai';
import { removeTempDirs, tempDir } from '../helpers/temp.js';
import { cli, killChildren, Writer } from './cli-helpers.js';

interface JsonLine {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: unknown;
  value: unknown;
  headers: Record<string, unknown>;
}

const parseLines = (out: string) =>
  out
    .trimEnd()
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as JsonLine);

describe('logstore produce', function () {
  this.timeout(15_000);
  afterEach(killChildren);
  after(removeTempDirs);

  async function storeWithTopic(partitions = 1): Promise<string> {
    const dir = tempDir();
    const r = await cli(['topics', dir, 'create', 'orders', '--partitions', String(partitions)]);
    expect(r.code, r.stderr).to.equal(0);
    return dir;
  }

  it('should round-trip keys, values and headers through produce --json and tail --format json', async () => {
    const dir = await storeWithTopic(3);
    const input = [
      { key: 'user-1', value: 'plain ascii', headers: { trace: 'abc' } },
      { key: null, value: 'unicode ✓ — ünïcødé 😀', headers: {} },
      {
        key: 'user-2',
        value: { base64: Buffer.from([0xff, 0x00, 0xfe, 0x80]).toString('base64') },
        headers: { bin: { base64: '/w==' }, empty: '' },
      },
      { key: { base64: Buffer.from([0x80, 0x81]).toString('base64') }, value: null, headers: { n: '1' } },
      {
        key: 'user-1',
        value: 'with "quotes" and \\ backslash\nand a newline',
        headers: {},
        timestamp: 1714564800123,
      },
      { key: 'user-3', value: '', headers: {}, partition: 2 },
    ];
    const stdin = input.map((r) => JSON.stringify(r)).join('\n') + '\n';
    const produced = await cli(['produce', dir, 'orders', '--json', '--print-offsets'], { input: stdin });
    expect(produced.code, produced.stderr).to.equal(0);
    const offsets = produced.stdout.trimEnd().split('\n');
    expect(offsets).to.have.length(input.length);

    const tailed = await cli(['tail', dir, 'orders', '--format', 'json']);
    expect(tailed.code, tailed.stderr).to.equal(0);
    const got = parseLines(tailed.stdout);
    expect(got).to.have.length(input.length);
    const byPlace = new Map(got.map((r) => [`${r.partition}:${r.offset}`, r]));
    input.forEach((rec, i) => {
      const r = byPlace.get(offsets[i]!);
      expect(r, `record ${i} at ${offsets[i]}`).to.not.equal(undefined);
      expect({ key: r!.key, value: r!.value, headers: r!.headers }).to.deep.equal({
        key: rec.key,
        value: rec.value,
        headers: rec.headers,
      });
      if (rec.timestamp !== undefined) expect(r!.timestamp).to.equal(rec.timestamp);
    });
    expect(offsets[5]).to.equal('2:' + String(got.filter((r) => r.partition === 2).length - 1));
    // the same key always lands on the same partition (murmur2)
    expect(offsets[0]!.split(':')[0]).to.equal(offsets[4]!.split(':')[0]);
  });

  it('should append one record per line with --key and --header, and print partition:offset', async () => {
    const dir = await storeWithTopic(1);
    const r = await cli(
      ['produce', dir, 'orders', '--key', 'k1', '--header', 'source=cli', '--print-offsets', '--batch', '2'],
      {
        input: 'first\nsecond\r\n\nlast without newline',
      },
    );
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('0:0\n0:1\n0:2\n0:3\n');
    const got = parseLines((await cli(['tail', dir, 'orders', '--format', 'json'])).stdout);
    expect(got.map((g) => g.value)).to.deep.equal(['first', 'second', '', 'last without newline']);
    expect(got.every((g) => g.key === 'k1' && (g.headers as { source?: string }).source === 'cli')).to.equal(
      true,
    );
  });

  it('should split lines at --key-separator', async () => {
    const dir = await storeWithTopic(2);
    const r = await cli(['produce', dir, 'orders', '--key-separator', ':'], { input: 'a:1\nb:2:x\n' });
    expect(r.code, r.stderr).to.equal(0);
    const got = parseLines((await cli(['tail', dir, 'orders', '--format', 'json'])).stdout);
    expect(got.map((g) => [g.key, g.value]).sort()).to.deep.equal([
      ['a', '1'],
      ['b', '2:x'],
    ]);
  });

  it('should exit 1 with LOGSTORE_LOCKED while another process writes', async () => {
    const dir = tempDir();
    const writer = new Writer({ dir, topic: 'orders', initial: 1 });
    await writer.ready;
    try {
      const r = await cli(['produce', dir, 'orders'], { input: 'x\n' });
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/^error: LOGSTORE_LOCKED: produce needs the store's writer lock/);
    } finally {
      await writer.close();
    }
  });

  it('should reject bad lines with their line number, code and reason, append the others, and exit 1', async () => {
    const dir = await storeWithTopic(1);
    const big = JSON.stringify({ value: 'x'.repeat(1_100_000) });
    const r = await cli(['produce', dir, 'orders', '--json', '--print-offsets', '--batch', '3'], {
      input: `{"value":"ok"}\n{"value":"ok2"}\n{"valu":"typo"}\nnot json\n${big}\n{"value":"after"}\n`,
    });
    expect(r.code).to.equal(1);
    expect(r.stdout).to.equal('0:0\n0:1\n-\n-\n-\n0:2\n');
    const lines = r.stderr.trimEnd().split('\n');
    expect(
      lines.map((l) => /^produce: line (\d+) rejected: (LOGSTORE_[A-Z_]+): /.exec(l)?.slice(1, 3)),
    ).to.deep.equal([
      ['3', 'LOGSTORE_INVALID_ARGUMENT'],
      ['4', 'LOGSTORE_INVALID_ARGUMENT'],
      ['5', 'LOGSTORE_RECORD_TOO_LARGE'],
      undefined,
    ]);
    expect(lines[0]).to.include('did you mean "value"?');
    expect(lines[3]).to.equal('produce: appended 3 records to orders; rejected 3 lines');
    const got = parseLines((await cli(['tail', dir, 'orders', '--format', 'json'])).stdout);
    expect(got.map((g) => g.value)).to.deep.equal(['ok', 'ok2', 'after']);
  });

  it('should refuse a directory that holds no store (exit 1)', async () => {
    const r = await cli(['produce', tempDir(), 'orders'], { input: 'x\n' });
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include('no logstore at');
  });
});
