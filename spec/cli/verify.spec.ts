import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { LogStore } from '../../lib/index.js';
import { batchSize } from '../../lib/format/record-batch.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';
import { cli, killChildren, Writer } from './cli-helpers.js';

/** Positions of the batches in a segment file (walking the length fields up to the zeros). */
function batchStarts(file: string): { starts: number[]; end: number } {
  const buf = fs.readFileSync(file);
  const starts: number[] = [];
  let pos = 0;
  while (pos + 12 <= buf.length && buf.readInt32BE(pos + 8) !== 0) {
    starts.push(pos);
    pos += batchSize(buf, pos);
  }
  return { starts, end: pos };
}

function patch(file: string, position: number, byte: (old: number) => number): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, position);
    b[0] = byte(b[0]!);
    fs.writeSync(fd, b, 0, 1, position);
  } finally {
    fs.closeSync(fd);
  }
}

const segmentFile = (dir: string, base: number) =>
  path.join(dir, 'events-0', `${String(base).padStart(20, '0')}.log`);

describe('logstore verify', function () {
  this.timeout(15_000);
  afterEach(killChildren);
  after(removeTempDirs);

  /** A store of several closed segments, written by a writer process that then closed it cleanly. */
  async function closedStore(): Promise<string> {
    const dir = tempDir();
    const w = new Writer({ dir, topic: 'events', initial: 60, segmentBytes: 4096, padding: 300 });
    await w.ready;
    await w.close();
    expect(fs.readdirSync(path.join(dir, 'events-0')).filter((f) => f.endsWith('.log')).length).to.be.above(
      3,
    );
    return dir;
  }

  it('should exit 0 on a healthy store, also while a writer in another process appends and rolls segments', async () => {
    const dir = await closedStore();
    const quiet = await cli(['verify', dir]);
    expect(quiet.code, quiet.stdout + quiet.stderr).to.equal(0);
    expect(quiet.stdout).to.match(
      /checked 1 topic, 1 partitions, \d+ segments, 60 batches, 60 records, .*: healthy\n$/,
    );

    const liveDir = tempDir();
    const w = new Writer({
      dir: liveDir,
      topic: 'events',
      initial: 20,
      intervalMs: 2,
      segmentBytes: 4096,
      padding: 300,
    });
    await w.ready;
    try {
      for (let i = 0; i < 3; i++) {
        const r = await cli(['verify', liveDir]);
        expect(r.code, r.stdout + r.stderr).to.equal(0);
        expect(r.stdout).not.to.include('DAMAGE');
      }
    } finally {
      await w.close();
    }
  });

  it('should exit 1 on a byte flipped in a closed segment, naming the file and the batch position', async () => {
    const dir = await closedStore();
    const file = segmentFile(dir, 0);
    const { starts } = batchStarts(file);
    const second = starts[1]!;
    patch(file, second + 100, (b) => b ^ 0x01);
    const r = await cli(['verify', dir]);
    expect(r.code, r.stdout).to.equal(1);
    expect(r.stdout).to.include(`DAMAGE    ${file} at position ${second} [bad-crc]: `);
    expect(r.stdout).to.match(/damage found in 1 place\n$/);
  });

  it('should exit 1 on a flipped base offset, naming the offset expected', async () => {
    const dir = await closedStore();
    const file = segmentFile(dir, 0);
    const { starts } = batchStarts(file);
    patch(file, starts[1]! + 7, (b) => b + 5); // low byte of the base offset, outside the CRC
    const r = await cli(['verify', dir]);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.include(`DAMAGE    ${file} at position ${starts[1]} [bad-offset]: `);
    expect(r.stdout).to.match(/base offset 6 .*expected 1\b/);
  });

  // Found by the corruption suite (damage meeting a follower): in a compacted topic gaps are
  // normal, so a base offset flipped upwards in the last batch of a closed segment collides with
  // nothing; verify saw that the batches run past the segment's end offset, but named no place.
  it("should name the position of a batch whose offsets run past its closed segment's end (compacted topic)", async () => {
    const dir = tempDir();
    const store = LogStore.open(dir, { cleanupIntervalMs: 0 });
    store.createTopic('c', { cleanupPolicy: 'compact', segmentBytes: 4096 });
    for (let i = 0; i < 100; i++) store.append('c', { key: `k${i % 7}`, value: Buffer.alloc(100, i) });
    await store.close();
    const file = path.join(dir, 'c-0', '00000000000000000000.log');
    const last = batchStarts(file).starts.at(-1)!;
    patch(file, last + 5, (b) => b ^ 0x40); // base offset + 2^22, outside the CRC
    const r = await cli(['verify', dir]);
    expect(r.code, r.stdout).to.equal(1);
    expect(r.stdout).to.include(`DAMAGE    ${file} at position ${last} [bad-offset]: `);
  });

  it('should exit 1 on non-zero bytes after the last batch of a closed segment', async () => {
    const dir = await closedStore();
    const file = segmentFile(dir, 0);
    const { end } = batchStarts(file);
    patch(file, end + 10, () => 0x42);
    const r = await cli(['verify', dir]);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.include(`DAMAGE    ${file} at position ${end + 10} [trailing-bytes]: `);
  });

  it('should exit 1 on an index entry that does not point at a batch start', async () => {
    const dir = tempDir();
    const w = new Writer({ dir, topic: 'events', initial: 200, segmentBytes: 16384, padding: 300 });
    await w.ready;
    await w.close();
    const index = segmentFile(dir, 0).replace(/\.log$/, '.index');
    expect(fs.statSync(index).size).to.be.at.least(8);
    const fd = fs.openSync(index, 'r+');
    fs.writeSync(fd, Buffer.from([0, 0, 0, 5]), 0, 4, 4); // entry 0: position 0 -> 5
    fs.closeSync(fd);
    const r = await cli(['verify', dir]);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.match(
      new RegExp(`DAMAGE    ${index} \\[bad-index\\]: entry 0 \\(offset \\d+, position 5\\)`),
    );
  });

  it('should report a torn tail left by a killed writer without calling it damage (exit 0)', async () => {
    const dir = tempDir();
    const w = new Writer({ dir, topic: 'events', initial: 10 });
    await w.ready;
    w.child.kill('SIGKILL');
    await w.exited;
    const file = segmentFile(dir, 0);
    const { end } = batchStarts(file);
    patch(file, end + 3, () => 0x07);
    const r = await cli(['verify', dir]);
    expect(r.code, r.stdout).to.equal(0);
    expect(r.stdout).to.include(`TORN TAIL ${file} at position ${end} [bad-length]: `); // where the cut would be
    expect(r.stdout).to.include('healthy (the next writer open cuts 1 torn tail)');
  });

  it('should cut the log at the first damage with --repair, and be healthy after', async () => {
    const dir = await closedStore();
    const file = segmentFile(dir, 0);
    const { starts } = batchStarts(file);
    patch(file, starts[2]! + 70, (b) => b ^ 0xff); // inside the third batch of the first segment
    const before = await cli(['verify', dir]);
    expect(before.code).to.equal(1);
    const r = await cli(['verify', dir, '--repair']);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.include(`repaired ${file}: cut at position ${starts[2]}`);
    expect(r.stdout).to.match(/: healthy\n$/);
    // The two batches before the damage remain; everything from the damage on is gone.
    const tail = await cli(['tail', dir, 'events', '--format', 'json']);
    expect(tail.code).to.equal(0);
    expect(
      tail.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).offset),
    ).to.deep.equal([0, 1]);
  });

  it('should name a topic the catalog lost, and set its files aside with --repair, deleting none', async () => {
    const dir = tempDir();
    await LogStore.open(dir).close();
    // The catalog as it was before the topic (a close checkpoints it): what a lost commit takes it back to.
    const old = fs.readFileSync(path.join(dir, 'catalog.sqlite'));
    const s = LogStore.open(dir);
    s.createTopic('events');
    for (let i = 0; i < 3; i++) s.append('events', { value: `v${i}` });
    await s.close();
    for (const f of ['-wal', '-shm']) fs.rmSync(path.join(dir, `catalog.sqlite${f}`), { force: true });
    fs.writeFileSync(path.join(dir, 'catalog.sqlite'), old);
    const log = fs.readFileSync(segmentFile(dir, 0));

    const before = await cli(['verify', dir]);
    expect(before.code).to.equal(1);
    expect(before.stdout).to.include(`${path.join(dir, 'events-0')} [topic-lost]`);
    const r = await cli(['verify', dir, '--repair']);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    const moved = /quarantined \S+ to (\S+): /.exec(r.stdout)?.[1];
    expect(moved, r.stdout).to.match(new RegExp(`^${dir}/quarantine/[^/]+/events-0$`));
    expect(fs.readFileSync(path.join(moved!, '00000000000000000000.log')).equals(log)).to.equal(true);
    expect(fs.existsSync(path.join(dir, 'events-0'))).to.equal(false);
    expect(r.stdout).to.match(/: healthy\n$/);
  });
});

describe('logstore dump', function () {
  this.timeout(15_000);
  afterEach(killChildren);
  after(removeTempDirs);

  it('should print the segments and batch headers, and the records with --records', async () => {
    const dir = tempDir();
    const w = new Writer({ dir, topic: 'events', initial: 12, segmentBytes: 4096, padding: 300 });
    await w.ready;
    await w.close();
    const [headers, records, one] = await Promise.all([
      cli(['dump', dir, 'events']),
      cli(['dump', dir, 'events', '--partition', '0', '--records']),
      cli(['dump', dir, 'events', '--segment', '0']),
    ]);
    expect(headers.code, headers.stderr).to.equal(0);
    expect(headers.stdout).to.include(`Dumping ${path.join(dir, 'events-0')} (topic events, partition 0)`);
    expect(headers.stdout).to.include(
      `Segment ${segmentFile(dir, 0)} (base offset 0, capacity 4096; closed, end offset`,
    );
    expect(headers.stdout).to.match(
      /^baseOffset: 0 lastOffset: 0 count: 1 baseSequence: -1 lastSequence: -1 producerId: -1 producerEpoch: -1 partitionLeaderEpoch: 0 isTransactional: false isControl: false position: 0 CreateTime: \d+ size: \d+ magic: 2 compresscodec: none crc: \d+ isvalid: true$/m,
    );
    expect(headers.stdout.match(/^baseOffset: /gm)).to.have.length(12);
    expect(records.stdout).to.match(
      /^\| offset: 0 CreateTime: \d+ keySize: 2 valueSize: \d+ sequence: -1 headerKeys: \[n,bin\] key: k0 payload: value 0 ✓\.+/m,
    );
    expect(one.stdout.match(/^Segment /gm)).to.have.length(1);
  });

  it('should stop a segment at an invalid batch and say where', async () => {
    const dir = tempDir();
    const w = new Writer({ dir, topic: 'events', initial: 5 });
    await w.ready;
    await w.close();
    const file = segmentFile(dir, 0);
    const { starts } = batchStarts(file);
    patch(file, starts[2]! + 80, (b) => b ^ 0x10);
    const r = await cli(['dump', dir, 'events']);
    expect(r.code).to.equal(0);
    expect(r.stdout.match(/^baseOffset: /gm)).to.have.length(2);
    expect(r.stdout).to.include(`invalid batch at position ${starts[2]} [bad-crc]: `);
  });
});
