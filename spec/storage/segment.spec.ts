/**
 * Segment: a segment owns its append and its recovery. Each case pins the position, the bytes
 * cut and the problem kind it reports.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import { encodeBatch, BatchEncoder } from '../../lib/format/batch-encoder.js';
import type { LogStoreError } from '../../lib/errors.js';
import type { RecoverFrom } from '../../lib/storage/segment-recovery.js';
import { Segment } from '../../lib/storage/segment.js';
import { WRITE_THROUGH_FILE_BYTES } from '../../lib/storage/segment-writes.js';
import { descriptorsOn } from '../helpers/descriptors.js';
import { expectCode, removeTempDirs, tempDir } from '../helpers/temp.js';

const record = (i: number) => ({ key: `k${i}`, value: `value-${i}`, timestamp: 1000 + i });
const BATCH = encodeBatch(0, [record(0), record(1)], 0).length; // every batch below is this long

/** A new segment with `batches` batches of two records each, appended through the segment. */
function segmentWith(batches: number, capacity = 64 * 1024): Segment {
  const segment = Segment.create(tempDir(), 0, capacity);
  const encoder = new BatchEncoder();
  for (let b = 0; b < batches; b++) {
    const bytes = encoder.measure([record(2 * b), record(2 * b + 1)], null, 0, 1 << 20);
    segment.append(encoder, bytes, 2);
  }
  return segment;
}

/** Reopens `segment`'s file writable, its extent to be found by recovery. */
function reopen(segment: Segment): Segment {
  segment.release();
  return Segment.open(segment.dir, 0, 64 * 1024, true, {
    size: 0,
    nextOffset: 0,
    maxTimestamp: -1,
    indexTrusted: false,
  });
}

function from(overrides: Partial<RecoverFrom> = {}): RecoverFrom {
  return {
    position: 0,
    nextOffset: 0,
    maxTimestamp: -1,
    recordedSize: null,
    gaps: false,
    denseFrom: 0,
    maxNextOffset: Number.POSITIVE_INFINITY,
    syncedTo: 0,
    ...overrides,
  };
}

function flip(segment: Segment, position: number): void {
  const fd = fs.openSync(segment.logPath, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, position);
  b[0]! ^= 0x20;
  fs.writeSync(fd, b, 0, 1, position);
  fs.closeSync(fd);
}

describe('Segment', () => {
  after(removeTempDirs);

  it('should append batches with dense offsets and keep size, next offset and max timestamp', () => {
    const segment = segmentWith(3);
    expect([segment.size, segment.nextOffset, segment.maxTimestamp]).to.deep.equal([3 * BATCH, 6, 1005]);
    const walker = segment.walker(0, 0, false);
    const bases: number[] = [];
    while (walker.next()) bases.push(walker.baseOffset);
    expect(bases).to.deep.equal([0, 2, 4]);
    expect(walker.stop).to.equal('end');
    segment.release();
  });

  it('should write a large batch with pwrite, between batches stored through the mapping, all read back alike', () => {
    const segment = segmentWith(1, 1024 * 1024);
    const encoder = new BatchEncoder();
    const many = Array.from({ length: 300 }, (_, i) => ({
      value: Buffer.alloc(100, i),
      timestamp: 2000 + i,
    }));
    const bytes = encoder.measure(many, null, 0, 1 << 20);
    expect(bytes).to.be.at.least(WRITE_THROUGH_FILE_BYTES);
    expect(segment.append(encoder, bytes, 300)).to.equal(2);
    // The one descriptor the process keeps for large appends (write-handle.ts) is this file's
    // now, until its release.
    expect(descriptorsOn(segment.logPath)).to.deep.equal([segment.logPath]);
    const small = encoder.measure([record(9)], null, 0, 1 << 20);
    expect(segment.append(encoder, small, 1)).to.equal(302);
    expect([segment.size, segment.nextOffset, segment.maxTimestamp]).to.deep.equal([
      BATCH + bytes + small,
      303,
      2299,
    ]);
    const walker = segment.walker(0, 0, false);
    const seen: number[][] = [];
    while (walker.next()) seen.push([walker.position, walker.baseOffset, walker.lastOffset]);
    expect(seen).to.deep.equal([
      [0, 0, 1],
      [BATCH, 2, 301],
      [BATCH + bytes, 302, 302],
    ]);
    expect(walker.stop).to.equal('end');
    // The file holds the same bytes as the mapping shows (the CRC was checked by the walk).
    expect(
      fs
        .readFileSync(segment.logPath)
        .subarray(0, segment.size)
        .equals(segment.buf.subarray(0, segment.size)),
    ).to.equal(true);
    segment.release();
    expect(descriptorsOn(segment.logPath)).to.deep.equal([]);
  });

  it('should keep one descriptor for large appends, moving it to the segment written last', () => {
    const first = segmentWith(1, 1024 * 1024);
    const second = segmentWith(1, 1024 * 1024);
    const encoder = new BatchEncoder();
    const many = Array.from({ length: 300 }, (_, i) => ({ value: Buffer.alloc(100, i) }));
    const bytes = encoder.measure(many, null, 0, 1 << 20);
    const held = () => [...descriptorsOn(first.logPath), ...descriptorsOn(second.logPath)];
    first.append(encoder, bytes, 300);
    expect(held()).to.deep.equal([first.logPath]);
    first.append(encoder, bytes, 300);
    expect(held()).to.deep.equal([first.logPath]);
    second.append(encoder, bytes, 300);
    expect(held()).to.deep.equal([second.logPath]); // moved to second, not added
    first.release(); // not the holder: nothing to close
    expect(held()).to.deep.equal([second.logPath]);
    expect(second.nextOffset).to.equal(302);
    const walker = second.walker(0, 0, false);
    walker.walkAll();
    expect([walker.stop, walker.nextOffset]).to.deep.equal(['end', 302]);
    second.release();
    expect(held()).to.deep.equal([]);
  });

  it('should recover a whole segment to its end, cutting nothing', () => {
    const segment = reopen(segmentWith(3));
    expect(segment.recover(from())).to.deep.equal({
      complete: true,
      stop: 'zeros',
      position: 3 * BATCH,
      detail: 'the batches end here (zeros follow)',
      bytesCut: 0,
    });
    expect([segment.size, segment.nextOffset, segment.maxTimestamp]).to.deep.equal([3 * BATCH, 6, 1005]);
    segment.release();
  });

  it('should cut a torn last batch after the synced position and count the bytes it zeroed', () => {
    const written = segmentWith(3);
    flip(written, 2 * BATCH + 70); // inside the third batch's records
    const segment = reopen(written);
    const result = segment.recover(from({ syncedTo: 2 * BATCH }));
    // Bytes cut run to the last non-zero byte: a batch ends with its last record's header count, 0.
    expect([result.complete, result.stop, result.position, result.bytesCut]).to.deep.equal([
      false,
      'bad-crc',
      2 * BATCH,
      BATCH - 1,
    ]);
    expect([segment.size, segment.nextOffset]).to.deep.equal([2 * BATCH, 4]);
    expect(segment.buf.subarray(2 * BATCH, 3 * BATCH).every((b) => b === 0)).to.equal(true);
    segment.release();
  });

  it('should refuse damage before the synced position with LOGSTORE_CORRUPT naming file, position and kind, and change nothing', () => {
    const written = segmentWith(3);
    flip(written, BATCH + 70);
    const before = fs.readFileSync(written.logPath);
    const segment = reopen(written);
    const err = expectCode(
      () => segment.recover(from({ syncedTo: 2 * BATCH })),
      'LOGSTORE_CORRUPT',
    ) as LogStoreError;
    expect(err.details).to.deep.equal({ file: segment.logPath, position: BATCH, kind: 'bad-crc' });
    segment.release();
    expect(fs.readFileSync(written.logPath).equals(before)).to.equal(true);
  });

  it('should call zeros before the synced position damage, not the end of the data', () => {
    const written = segmentWith(3);
    const fd = fs.openSync(written.logPath, 'r+');
    fs.writeSync(fd, Buffer.alloc(BATCH), 0, BATCH, BATCH); // the second batch reads as zeros
    fs.closeSync(fd);
    const segment = reopen(written);
    const err = expectCode(
      () => segment.recover(from({ syncedTo: 2 * BATCH })),
      'LOGSTORE_CORRUPT',
    ) as LogStoreError;
    expect(err.details).to.deep.equal({ file: segment.logPath, position: BATCH, kind: 'zeros' });
    segment.release();
  });

  it('should report a closed segment whose batches end before its recorded size as `short`', () => {
    const segment = reopen(segmentWith(2));
    const result = segment.recover(from({ recordedSize: 3 * BATCH }));
    expect([result.complete, result.stop, result.position, result.bytesCut]).to.deep.equal([
      false,
      'short',
      2 * BATCH,
      0,
    ]);
    segment.release();
  });

  it('should cut non-zero bytes after the last whole batch of the active segment as a torn tail', () => {
    const written = segmentWith(2);
    const fd = fs.openSync(written.logPath, 'r+');
    fs.writeSync(fd, Buffer.from([0, 0, 0, 9]), 0, 4, 2 * BATCH + 20); // 12 zero bytes, then garbage
    fs.closeSync(fd);
    const segment = reopen(written);
    const result = segment.recover(from());
    expect([result.complete, result.stop, result.position, result.bytesCut]).to.deep.equal([
      false,
      'truncated',
      2 * BATCH,
      24,
    ]);
    segment.release();
  });

  it('should let a follower catch up over whole batches only, stopping quietly at a half-written one', () => {
    const writer = segmentWith(2);
    const follower = Segment.open(writer.dir, 0, 64 * 1024, false, {
      size: 0,
      nextOffset: 0,
      maxTimestamp: -1,
      indexTrusted: false,
    });
    expect(follower.catchUp(follower.refreshFileSize(), false)).to.equal(true);
    expect([follower.size, follower.nextOffset]).to.deep.equal([2 * BATCH, 4]);
    // Half of a third batch: not yet whole, so not seen.
    const third = encodeBatch(4, [record(4), record(5)], 0);
    writer.buf.set(third.subarray(0, 40), 2 * BATCH);
    expect(follower.catchUp(follower.refreshFileSize(), false)).to.equal(false);
    writer.buf.set(third, 2 * BATCH);
    expect(follower.catchUp(follower.refreshFileSize(), false)).to.equal(true);
    expect([follower.size, follower.nextOffset]).to.deep.equal([3 * BATCH, 6]);
    follower.release();
    writer.release();
  });

  it('should detach every view of its mapping when released', () => {
    const segment = segmentWith(1);
    const view = segment.buf.subarray(0, BATCH);
    expect(view.length).to.equal(BATCH);
    segment.release();
    expect(view.length).to.equal(0);
    expectCode(() => segment.buf, 'LOGSTORE_CLOSED');
  });
});
