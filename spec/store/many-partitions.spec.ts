/**
 * A store of many partitions costs what they hold: creating a topic of many partitions shares
 * one filesystem sync, a nearly empty partition takes 16 KiB of log file, an open maps nothing,
 * reads map what they read (and the mapping cache bounds the closed segments mapped), no
 * descriptor is kept per partition, and running out of descriptors anyway is a clear error.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { LogStore } from '../../lib/index.js';
import { mappingCache } from '../../lib/storage/mapping-cache.js';
import { LIB, splitLines } from '../helpers/child.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

const KiB = 1024;

/** Runs an ESM script in a child whose limit of open descriptors is `nofile` (`ulimit -n`). */
function runLimited(
  nofile: number,
  source: string,
  env: Record<string, string> = {},
): Promise<{ lines: string[]; code: number | null; stderr: string }> {
  const child = spawn(
    'bash',
    ['-c', `ulimit -n ${nofile} && exec "$0" --input-type=module -e "$1"`, process.execPath, source],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  const flush = splitLines(child.stdout, (line) => lines.push(line));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) =>
    child.on('close', (code) => {
      flush();
      resolve({ lines, code, stderr });
    }),
  );
}

/** Bytes allocated on disk by a directory and the files in it. */
function diskBytes(dir: string): number {
  let total = fs.statSync(dir).blocks * 512;
  for (const f of fs.readdirSync(dir)) total += fs.statSync(path.join(dir, f)).blocks * 512;
  return total;
}

const value = (t: number, p: number, i: number) => `value-${t}-${p}-${i}-`.padEnd(100, 'x');

/** Bytes of this process's mappings of segment files under `dir` (from /proc/self/maps). */
function mappedBytesUnder(dir: string): number {
  let total = 0;
  for (const line of fs.readFileSync('/proc/self/maps', 'utf8').split('\n')) {
    const file = line.split(/\s+/)[5];
    if (file === undefined || !file.startsWith(`${dir}/`) || !file.endsWith('.log')) continue;
    const [start, end] = line
      .split(' ')[0]!
      .split('-')
      .map((h) => parseInt(h, 16));
    total += end! - start!;
  }
  return total;
}

describe('Many partitions', function () {
  this.timeout(120_000);
  after(removeTempDirs);

  describe('createTopic', () => {
    it('should sync the directories of a topic of many partitions at once: no fsync per directory', async () => {
      const store = LogStore.open(tempDir());
      const fsync = fs.fsyncSync;
      let fsyncs = 0;
      fs.fsyncSync = (fd: number) => {
        fsyncs++;
        fsync(fd);
      };
      try {
        store.createTopic('many', { partitions: 200 });
        expect(fsyncs).to.equal(0); // one syncfs instead of 201 fsyncs
        store.createTopic('one', { partitions: 1 });
        expect(fsyncs).to.equal(2); // its directory and the store's
      } finally {
        fs.fsyncSync = fsync;
      }
      for (let p = 0; p < 200; p++) {
        expect(store.append('many', { value: `p${p}` }, { partition: p })).to.deep.equal({
          partition: p,
          baseOffset: 0,
          lastOffset: 0,
        });
      }
      expect(store.describeTopic('many').partitions.map((d) => d.endOffset)).to.deep.equal(
        Array(200).fill(1),
      );
      await store.close();
    });

    it('should leave no topic behind when the process dies after the files and before the catalog', async () => {
      const dir = tempDir();
      const { code, lines, stderr } = await runLimited(
        1024,
        `
        import { LogStore } from ${JSON.stringify(LIB)};
        const store = LogStore.open(${JSON.stringify(dir)});
        console.log('opened');
        store.createTopic('t', { partitions: 50 });
        console.log('created');
      `,
        { LOGSTORE_CRASH_AT: 'create-topic:after-files' },
      );
      expect(lines, stderr).to.deep.equal(['opened']);
      expect(code).to.equal(null); // killed
      expect(fs.readdirSync(dir).filter((f) => f.startsWith('t-')).length).to.equal(50);
      const store = LogStore.open(dir);
      expect(store.topics()).to.deep.equal([]);
      store.createTopic('t', { partitions: 50 });
      store.append('t', { value: 'v' }, { partition: 49 });
      expect(store.describeTopic('t').partitions.map((d) => d.endOffset)).to.deep.equal([
        ...Array(49).fill(0),
        1,
      ]);
      await store.close();
    });
  });

  it('should take 16 KiB of log file (real blocks) and no index files for a nearly empty partition', async () => {
    const dir = tempDir();
    const store = LogStore.open(dir);
    store.createTopic('t', { partitions: 10 });
    for (let i = 0; i < 10; i++) {
      for (let p = 0; p < 10; p++) store.append('t', { value: value(0, p, i) }, { partition: p });
    }
    await store.close();
    for (let p = 0; p < 10; p++) {
      const partitionDir = path.join(dir, `t-${p}`);
      const log = fs.statSync(path.join(partitionDir, '00000000000000000000.log'));
      expect(log.size).to.equal(16 * KiB);
      expect(log.blocks * 512).to.equal(16 * KiB);
      // 10 batches in 1,300 bytes: no index entry (one per 4 KiB of log), so no index files.
      expect(fs.readdirSync(partitionDir)).to.deep.equal(['00000000000000000000.log']);
      expect(diskBytes(partitionDir)).to.be.at.most(20 * KiB); // the directory's block and the log's
    }
  });

  it('should write index files at close only for a segment with index entries, and remove older empty ones', async () => {
    const dir = tempDir();
    let store = LogStore.open(dir);
    store.createTopic('t', { partitions: 2 });
    // Partition 0: 10 records of ~100 bytes (no entry); partition 1: 100 (an entry per 4 KiB).
    for (let i = 0; i < 100; i++) {
      if (i < 10) store.append('t', { value: value(0, 0, i) }, { partition: 0 });
      store.append('t', { value: value(0, 1, i) }, { partition: 1 });
    }
    await store.close();
    const p0 = path.join(dir, 't-0');
    const p1 = path.join(dir, 't-1');
    expect(fs.readdirSync(p0)).to.deep.equal(['00000000000000000000.log']);
    expect(fs.readdirSync(p1).sort()).to.deep.equal([
      '00000000000000000000.index',
      '00000000000000000000.log',
      '00000000000000000000.timeindex',
    ]);
    // Kafka's rule: an entry at the first batch starting more than 4 KiB after the last entry.
    const log = fs.readFileSync(path.join(p1, '00000000000000000000.log'));
    let entries = 0;
    for (let at = 0, last = 0; log.readInt32BE(at + 8) > 0; at += 12 + log.readInt32BE(at + 8)) {
      if (at - last > 4096) [entries, last] = [entries + 1, at];
    }
    expect(entries).to.be.greaterThan(1);
    expect(fs.statSync(path.join(p1, '00000000000000000000.index')).size).to.equal(8 * entries);

    // What an older logstore left for partition 0: an empty .index and a one-entry .timeindex.
    fs.writeFileSync(path.join(p0, '00000000000000000000.index'), Buffer.alloc(0));
    fs.writeFileSync(path.join(p0, '00000000000000000000.timeindex'), Buffer.alloc(12));
    store = LogStore.open(dir);
    expect(store.recovery.clean).to.equal(true);
    expect(
      store
        .reader('t', { partition: 0, from: 5 })
        .read(10)
        .map((r) => r.value!.toString()),
    ).to.deep.equal([5, 6, 7, 8, 9].map((i) => value(0, 0, i)));
    expect(store.reader('t', { partition: 1, from: 77 }).read(1)[0]!.value!.toString()).to.equal(
      value(0, 1, 77),
    );
    store.append('t', { value: value(0, 0, 10) }, { partition: 0 });
    await store.close();
    expect(fs.readdirSync(p0)).to.deep.equal(['00000000000000000000.log']);
  });

  it('should map nothing at open nor to read, and only the active segments appends go to', async () => {
    const dir = tempDir();
    let store = LogStore.open(dir);
    for (let t = 0; t < 30; t++) {
      store.createTopic(`t${t}`, { partitions: 10 });
      for (let p = 0; p < 10; p++)
        store.append(
          `t${t}`,
          [0, 1, 2].map((i) => ({ value: value(t, p, i) })),
          { partition: p },
        );
    }
    await store.close();
    store = LogStore.open(dir);
    expect(mappedBytesUnder(dir)).to.equal(0);
    for (let t = 0; t < 30; t++) {
      for (let p = 0; p < 10; p++) {
        const reader = store.reader(`t${t}`, { partition: p });
        expect(reader.read(10).map((r) => [r.offset, r.value!.toString()])).to.deep.equal(
          [0, 1, 2].map((i) => [i, value(t, p, i)]),
        );
        reader.close();
      }
    }
    // The writer's process reads segment files with pread: reading all 300 mapped none of them.
    expect(mappedBytesUnder(dir)).to.equal(0);
    // An append stores through its partition's active segment's mapping (16 KiB here), which stays.
    for (let t = 0; t < 3; t++) store.append(`t${t}`, { value: 'more' }, { partition: 0 });
    expect(mappedBytesUnder(dir)).to.equal(3 * 16 * KiB);
    await store.close();
    expect(mappedBytesUnder(dir)).to.equal(0);
  });

  it('should read a reopened log across its closed segments from the files, mapping none', async () => {
    const dir = tempDir();
    let store = LogStore.open(dir, { durability: 'none' });
    store.createTopic('t', { segmentBytes: 4096 });
    for (let i = 0; i < 300; i++) store.append('t', { value: value(0, 0, i) });
    const segments = store.describeTopic('t').partitions[0]!.segments;
    expect(segments).to.be.at.least(10);
    await store.close();
    store = LogStore.open(dir);
    for (const copy of [true, false]) {
      const reader = store.reader('t', { copy });
      const got = reader.read(1000).map((r) => [r.offset, r.value!.toString()]);
      expect(got).to.deep.equal(Array.from({ length: 300 }, (_, i) => [i, value(0, 0, i)]));
      reader.close();
    }
    // Mapping each segment only to read its last batches would have cost the process a full
    // collection per 64 MiB of mappings (V8 counts them as external memory).
    expect(mappedBytesUnder(dir)).to.equal(0);
    await store.close();
  });

  it('should find a place in a reopened segment through its index without mapping the segment', async () => {
    const dir = tempDir();
    let store = LogStore.open(dir, { durability: 'none' });
    store.createTopic('t');
    for (let i = 0; i < 3000; i++) store.append('t', { value: value(0, 0, i) });
    await store.close();
    store = LogStore.open(dir);
    const reader = store.reader('t', { from: 2500 });
    const got = reader.read(1000).map((r) => [r.offset, r.value!.toString()]);
    expect(got).to.deep.equal(Array.from({ length: 500 }, (_, i) => [2500 + i, value(0, 0, 2500 + i)]));
    reader.close();
    expect(mappedBytesUnder(dir)).to.equal(0);
    await store.close();
  });

  describe('the mapping cache', () => {
    let bound: number;
    beforeEach(() => (bound = mappingCache.bound));
    afterEach(() => (mappingCache.bound = bound));

    it('should keep at most its bound of closed segments mapped, and a paused reader reads on exactly', async () => {
      mappingCache.bound = 4;
      const dir = tempDir();
      const writer = LogStore.open(dir, { durability: 'none' });
      writer.createTopic('t', { segmentBytes: 4096 });
      for (let i = 0; i < 600; i++) writer.append('t', { value: value(0, 0, i) });
      await writer.close();
      // A read-only follower reads through the segments' mappings (the writer's process reads
      // its files with pread), so its reads go through the cache.
      const store = LogStore.open(dir, { readOnly: true });
      expect(store.describeTopic('t').partitions[0]!.segments).to.be.at.least(20);
      const evictions = mappingCache.evictions;
      const paused = store.reader('t');
      expect(paused.read(5).map((r) => r.offset)).to.deep.equal([0, 1, 2, 3, 4]);
      const other = store.reader('t');
      expect(other.read(1000).length).to.equal(600);
      expect(mappingCache.size).to.be.at.most(4);
      expect(mappingCache.evictions - evictions).to.be.at.least(10);
      const rest = paused.read(1000);
      expect(rest.map((r) => r.offset)).to.deep.equal(Array.from({ length: 595 }, (_, i) => i + 5));
      expect(rest.every((r) => r.value!.toString() === value(0, 0, r.offset))).to.equal(true);
      await store.close();
    });
  });

  it('should let a reader go on exactly across growth of the segment it reads', async () => {
    const store = LogStore.open(tempDir(), { durability: 'none' });
    store.createTopic('t');
    for (let i = 0; i < 20; i++) store.append('t', { value: value(0, 0, i) });
    const reader = store.reader('t');
    expect(reader.read(10).map((r) => r.offset)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (let i = 20; i < 2000; i++) store.append('t', { value: value(0, 0, i) }); // 16 KiB -> 256 KiB
    const rest = reader.read(5000);
    expect(rest.map((r) => r.offset)).to.deep.equal(Array.from({ length: 1990 }, (_, i) => i + 10));
    expect(rest.every((r) => r.value!.toString() === value(0, 0, r.offset))).to.equal(true);
    await store.close();
  });

  describe('descriptors', () => {
    it('should create, fill, reopen and read 1,500 partitions under ulimit -n 64', async () => {
      const dir = tempDir();
      const { code, lines, stderr } = await runLimited(
        64,
        `
        import fs from 'node:fs';
        import { LogStore } from ${JSON.stringify(LIB)};
        let store = LogStore.open(${JSON.stringify(dir)});
        for (let t = 0; t < 150; t++) {
          store.createTopic('t' + t, { partitions: 10 });
          for (let p = 0; p < 10; p++) store.append('t' + t, [{ value: 't' + t + 'p' + p + 'a' }, { value: 't' + t + 'p' + p + 'b' }], { partition: p });
        }
        await store.flush();
        console.log('descriptors after appends', fs.readdirSync('/proc/self/fd').length);
        await store.close();
        store = LogStore.open(${JSON.stringify(dir)});
        let read = 0, wrong = 0;
        for (let t = 0; t < 150; t++) for (let p = 0; p < 10; p++) {
          const reader = store.reader('t' + t, { partition: p });
          const got = reader.read(10).map((r) => r.value.toString());
          reader.close();
          read += got.length;
          if (got.join() !== 't' + t + 'p' + p + 'a,t' + t + 'p' + p + 'b') wrong++;
        }
        console.log('read', read, 'wrong', wrong);
        console.log('descriptors after reads', fs.readdirSync('/proc/self/fd').length);
        await store.close();
      `,
      );
      expect(code, stderr).to.equal(0);
      expect(lines[1]).to.equal('read 3000 wrong 0');
      for (const line of [lines[0]!, lines[2]!]) {
        expect(Number(line.split(' ').pop())).to.be.below(40);
      }
    });

    it('should turn running out of descriptors into LOGSTORE_IO naming EMFILE and the limit, and work again after', async () => {
      const dir = tempDir();
      const { code, lines, stderr } = await runLimited(
        64,
        `
        import fs from 'node:fs';
        import { LogStore } from ${JSON.stringify(LIB)};
        const store = LogStore.open(${JSON.stringify(dir)});
        store.createTopic('t');
        store.append('t', { value: 'before' });
        const held = [];
        try { for (;;) held.push(fs.openSync('/dev/null', 'r')); } catch (err) { console.log('exhausted', err.code); }
        const report = (what, fn) => {
          try { fn(); console.log(what, 'ok'); }
          catch (err) { console.log(what, err.code, JSON.stringify(err.message)); }
        };
        report('createTopic', () => store.createTopic('u', { partitions: 3 }));
        // A batch past the first 16 KiB: the file must grow, which opens it.
        report('append', () => store.append('t', { value: Buffer.alloc(20000, 1) }));
        for (const fd of held) fs.closeSync(fd);
        report('append after', () => store.append('t', { value: Buffer.alloc(20000, 2) }));
        const records = store.reader('t').read(10);
        console.log('records', records.map((r) => r.offset + ':' + r.value.length).join(' '));
        await store.close();
      `,
      );
      expect(code, stderr).to.equal(0);
      expect(lines[0]).to.equal('exhausted EMFILE');
      for (const line of lines.slice(1, 3)) {
        const [what, errorCode, message] = line.split(/ (LOGSTORE_IO) /);
        expect(errorCode, line).to.equal('LOGSTORE_IO');
        expect(['createTopic', 'append']).to.include(what);
        expect(message).to.include('too many open files (EMFILE)');
        expect(message).to.include('`ulimit -n`: 64');
      }
      expect(lines[3]).to.equal('append after ok');
      expect(lines[4]).to.equal('records 0:6 1:20000');
    });
  });
});
