import { expect } from 'chai';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { LogStore } from '../../lib/index.js';
import { LIB, runChild, startChild } from '../helpers/child.js';
import { expectCode, expectCodeAsync, removeTempDirs, tempDir } from '../helpers/temp.js';

const FIRST_SEGMENT = '00000000000000000000.log';

/** A writer child that appends numbered records and prints each acknowledged offset. */
function writerSource(dir: string, durability: string, count: number, extra = ''): string {
  return `
    import { LogStore } from ${JSON.stringify(LIB)};
    const store = LogStore.open(${JSON.stringify(dir)}, { durability: ${JSON.stringify(durability)}, segmentBytes: 16384 });
    if (store.topics().length === 0) store.createTopic('t');
    ${extra}
    for (let i = 0; i < ${count}; i++) {
      const r = store.append('t', { key: 'k' + i, value: 'value-' + i, timestamp: 1000 + i });
      process.stdout.write(r.lastOffset + '\\n');
    }
    process.stdout.write('done\\n');
    setInterval(() => {}, 1000);
  `;
}

describe('LogStore durability', () => {
  after(removeTempDirs);

  for (const durability of ['always', 'interval', 'none']) {
    it(`should lose no acknowledged record when the writer is killed with SIGKILL (${durability})`, async function () {
      this.timeout(60_000); // a child process writing and reading back 10k lines: slow on a loaded machine
      const dir = tempDir();
      let acked = -1;
      // 10,000 records leave the kill (at the 2,500th acknowledgement) room to land mid-write;
      // under load the writer may finish first, as it did with 100,000 (then reading back and
      // checking all of them took 20 s): either way every acknowledged record must be there.
      const { child, exited } = startChild(writerSource(dir, durability, 10_000), {
        onLine: (line) => {
          if (line === 'done') return;
          acked = Number(line);
          if (acked === 2500) child.kill('SIGKILL');
        },
      });
      const { signal } = await exited;
      expect(signal).to.equal('SIGKILL');
      expect(acked).to.be.at.least(2500);
      const store = LogStore.open(dir);
      expect(store.recovery.clean).to.equal(false);
      const records = [...store.reader('t')];
      expect(records.length).to.be.at.least(acked + 1);
      // One comparison of every record (offset, key, value, timestamp), not four per record.
      expect(
        records.map((r) => [r.offset, r.key?.toString(), r.value?.toString(), r.timestamp]),
      ).to.deep.equal(records.map((_, i) => [i, 'k' + i, 'value-' + i, 1000 + i]));
      // The log goes on where it stopped.
      expect(store.append('t', { value: 'next' }).baseOffset).to.equal(records.length);
      await store.close();
    });
  }

  it('should cut a torn last batch, report the bytes cut, and keep every earlier record', async () => {
    const dir = tempDir();
    // A writer that dies before any recovery point is written past its first records.
    const { signal } = await runChild(
      `${writerSource(dir, 'none', 50)}; process.kill(process.pid, 'SIGKILL');`,
    );
    expect(signal).to.equal('SIGKILL');
    const file = path.join(dir, 't-0', FIRST_SEGMENT);
    let store = LogStore.open(dir);
    const before = [...store.reader('t')].length;
    expect(before).to.equal(50);
    await store.close();
    // Tear the last batch: keep its header and a few bytes, as a write cut short would.
    const bytes = fs.readFileSync(file);
    const ends: number[] = [];
    for (let pos = 0; ;) {
      const len = bytes.readInt32BE(pos + 8);
      if (len === 0) break;
      pos += 12 + len;
      ends.push(pos);
    }
    const lastStart = ends[ends.length - 2]!;
    const lastEnd = ends[ends.length - 1]!;
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.alloc(lastEnd - lastStart - 20), 0, lastEnd - lastStart - 20, lastStart + 20);
    fs.closeSync(fd);
    markUnclean(dir, true);
    store = LogStore.open(dir);
    expect(store.recovery.clean).to.equal(false);
    expect(store.recovery.truncated).to.have.length(1);
    expect(store.recovery.truncated[0]).to.include({
      topic: 't',
      partition: 0,
      file,
      position: lastStart,
      bytesCut: 20,
    });
    expect(store.recovery.bytesCut).to.equal(20);
    const after = [...store.reader('t')];
    expect(after.map((r) => r.value!.toString())).to.deep.equal(
      Array.from({ length: 49 }, (_, i) => 'value-' + i),
    );
    expect(store.append('t', { value: 'again' }).baseOffset).to.equal(49);
    await store.close();
    // The cut bytes were zeroed in place, not truncated: the file keeps its length.
    expect(fs.statSync(file).size).to.equal(bytes.length);
  });

  it('should report damage before the recovery point as LOGSTORE_CORRUPT naming file and position', async () => {
    const dir = tempDir();
    let store = LogStore.open(dir);
    store.createTopic('t');
    for (let i = 0; i < 20; i++) store.append('t', { value: 'v' + i });
    await store.close();
    const file = path.join(dir, 't-0', FIRST_SEGMENT);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from([0x5a]), 0, 1, 65); // inside the first batch's record
    fs.closeSync(fd);
    // After a clean close the files are trusted at open; the damage shows when read.
    store = LogStore.open(dir);
    const err = expectCode(() => store.reader('t').read(), 'LOGSTORE_CORRUPT');
    expect(err.message).to.contain(file).and.to.contain('position 0');
    await store.close();
    // After an unclean stop the active segment is verified from its start: open itself refuses.
    markUnclean(dir, false);
    const err2 = expectCode(() => LogStore.open(dir), 'LOGSTORE_CORRUPT');
    expect(err2.message).to.contain(file).and.to.contain('position 0');
  });

  it('should poison the writer when a sync fails: LOGSTORE_IO, and nothing acknowledged after it', async () => {
    const dir = tempDir();
    const { stdout } = await runChild(
      `
      import { LogStore } from ${JSON.stringify(LIB)};
      const store = LogStore.open(${JSON.stringify(dir)}, { durability: 'none' });
      store.createTopic('t');
      store.append('t', { value: 'a' });
      const codes = [];
      await store.flush().catch((e) => codes.push(e.code));
      try { store.append('t', { value: 'b' }); codes.push('acked'); } catch (e) { codes.push(e.code); }
      await store.flush().catch((e) => codes.push(e.code));
      await store.close();
      console.log(JSON.stringify(codes));
    `,
      { LOGSTORE_FAIL_SYNC: 'once' },
    );
    expect(JSON.parse(stdout)).to.deep.equal(['LOGSTORE_IO', 'LOGSTORE_IO', 'LOGSTORE_IO']);
    const store = LogStore.open(dir);
    expect(store.recovery.clean).to.equal(false);
    expect([...store.reader('t')].map((r) => r.value!.toString())).to.deep.equal(['a']);
    await store.close();
  });

  it('should fail an append in durability always when its sync fails', async () => {
    const { stdout } = await runChild(
      `
      import { LogStore } from ${JSON.stringify(LIB)};
      const store = LogStore.open(${JSON.stringify(tempDir())}, { durability: 'always' });
      store.createTopic('t');
      const codes = [];
      try { store.append('t', { value: 'a' }); codes.push('acked'); } catch (e) { codes.push(e.code); }
      try { store.append('t', { value: 'b' }); codes.push('acked'); } catch (e) { codes.push(e.code); }
      console.log(JSON.stringify(codes));
    `,
      { LOGSTORE_FAIL_SYNC: 'once' },
    );
    expect(JSON.parse(stdout)).to.deep.equal(['LOGSTORE_IO', 'LOGSTORE_IO']);
  });

  it('should refuse a writer in another process with LOGSTORE_LOCKED, and free the lock when it is killed', async () => {
    const dir = tempDir();
    let ready!: () => void;
    const started = new Promise<void>((resolve) => (ready = resolve));
    const { child, exited } = startChild(writerSource(dir, 'none', 1), {
      onLine: (l) => l === 'done' && ready(),
    });
    await started;
    const t0 = Date.now();
    expectCode(() => LogStore.open(dir), 'LOGSTORE_LOCKED');
    expect(Date.now() - t0).to.be.lessThan(1000);
    const follower = LogStore.open(dir, { readOnly: true });
    expect([...follower.reader('t')].map((r) => r.value!.toString())).to.deep.equal(['value-0']);
    await follower.close();
    child.kill('SIGKILL');
    await exited;
    const store = LogStore.open(dir);
    await store.close();
  });

  it('should record the recovery point of each partition a sync covered, also one synced between two records', async () => {
    const dir = tempDir();
    const store = LogStore.open(dir, { durability: 'none', flushIntervalMs: 1000 });
    store.createTopic('t', { partitions: 3 });
    store.append('t', [{ value: 'a' }, { value: 'b' }], { partition: 0 });
    await store.flush(); // the first sync records its points at once
    store.append('t', { value: 'c' }, { partition: 1 });
    await Promise.all([store.flush(), store.flush()]); // within flushIntervalMs: recorded later
    expect(recoveryOffsets(dir)).to.deep.equal([2, 0, 0]);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    store.append('t', { value: 'd' }, { partition: 2 });
    await store.flush();
    expect(recoveryOffsets(dir)).to.deep.equal([2, 1, 1]);
    await store.close();
    expect(recoveryOffsets(dir)).to.deep.equal([2, 1, 1]);
  });

  it('should write nothing when opened readOnly', async () => {
    const dir = tempDir();
    const store = LogStore.open(dir);
    store.createTopic('t');
    store.append('t', { value: 'x' });
    await store.close();
    const snapshot = () =>
      fs
        .readdirSync(dir, { recursive: true })
        .map(String)
        .filter((f) => !f.startsWith('catalog.sqlite-')) // SQLite's shared-memory index for readers
        .sort()
        .map((f) => {
          const st = fs.statSync(path.join(dir, f));
          return `${f}:${st.isFile() ? st.mtimeMs + ':' + st.size : 'dir'}`;
        });
    const before = snapshot();
    const ro = LogStore.open(dir, { readOnly: true });
    expect([...ro.reader('t')].length).to.equal(1);
    await ro.close();
    expect(snapshot()).to.deep.equal(before);
    await expectCodeAsync(
      async () => LogStore.open(dir, { readOnly: true }).append('t', { value: 'y' }),
      'LOGSTORE_READ_ONLY',
    );
  });
});

/** The recovery offset the catalog holds for each partition of topic `t`, by partition. */
function recoveryOffsets(dir: string): number[] {
  const Database = createRequire(import.meta.url)('better-sqlite3') as typeof import('better-sqlite3');
  const db = new Database(path.join(dir, 'catalog.sqlite'), { readonly: true });
  try {
    const rows = db
      .prepare("SELECT recovery_offset AS offset FROM partitions WHERE topic = 't' ORDER BY partition")
      .all() as { offset: number }[];
    return rows.map((r) => r.offset);
  } finally {
    db.close();
  }
}

/**
 * Makes the next open treat the store as stopped uncleanly, as a crash leaves it; with
 * `forgetRecoveryPoint`, as if the writer died before it ever recorded one.
 */
function markUnclean(dir: string, forgetRecoveryPoint: boolean): void {
  const Database = createRequire(import.meta.url)('better-sqlite3') as typeof import('better-sqlite3');
  const db = new Database(path.join(dir, 'catalog.sqlite'));
  db.prepare("UPDATE meta SET value = '0' WHERE key = 'clean_shutdown'").run();
  if (forgetRecoveryPoint) {
    db.prepare(
      'UPDATE partitions SET recovery_segment = 0, recovery_position = 0, recovery_offset = 0',
    ).run();
  }
  db.close();
}
