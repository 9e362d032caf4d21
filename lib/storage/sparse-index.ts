/**
 * A segment's sparse indexes, kept in memory and saved beside the log:
 *   `.index`      entries of 8 bytes: offset relative to the segment base (int32 BE), position (int32 BE)
 *   `.timeindex`  entries of 12 bytes: timestamp (int64 BE), relative offset (int32 BE)
 * as Kafka lays them out. One entry is added at the first batch after every `INDEX_INTERVAL_BYTES`
 * of log; its timestamp is the largest timestamp of the records up to and including that batch
 * (so entries are non-decreasing in offset, position and timestamp alike).
 *
 * The files are a cache: they are written when a segment is closed or the store closes cleanly,
 * and are never trusted after a crash (the segment is walked again instead).
 */
export const INDEX_INTERVAL_BYTES = 4096;

export class SparseIndex {
  offsets = new Float64Array(16);
  positions = new Int32Array(16);
  timestamps = new Float64Array(16);
  count = 0;
  /** Log bytes since the last entry. */
  private pending = Number.POSITIVE_INFINITY;

  constructor(readonly baseOffset: number) {}

  /** Called for every batch appended or walked, in order. */
  onBatch(offset: number, position: number, batchBytes: number, maxTimestampSoFar: number): void {
    if (this.pending >= INDEX_INTERVAL_BYTES) {
      if (this.count === this.offsets.length) this.grow();
      this.offsets[this.count] = offset;
      this.positions[this.count] = position;
      this.timestamps[this.count] = maxTimestampSoFar;
      this.count++;
      this.pending = 0;
    }
    this.pending += batchBytes;
  }

  private grow(): void {
    const n = this.offsets.length * 2;
    const offsets = new Float64Array(n);
    offsets.set(this.offsets);
    const positions = new Int32Array(n);
    positions.set(this.positions);
    const timestamps = new Float64Array(n);
    timestamps.set(this.timestamps);
    this.offsets = offsets;
    this.positions = positions;
    this.timestamps = timestamps;
  }

  /**
   * The last entry at or before `offset`: a batch position and the base offset of the batch
   * there ({ position: 0, offset: -1 } if none).
   */
  entryFor(offset: number): { position: number; offset: number } {
    return this.lastEntryBelow(this.offsets, offset + 1);
  }

  /** Where to scan from for the first record with timestamp >= `timestamp`, and the offset there. */
  entryForTimestamp(timestamp: number): { position: number; offset: number } {
    return this.lastEntryBelow(this.timestamps, timestamp);
  }

  /** The last entry whose key (entries are sorted by it) is below `limit`. */
  private lastEntryBelow(keys: Float64Array, limit: number): { position: number; offset: number } {
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (keys[mid]! < limit) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0
      ? { position: 0, offset: -1 }
      : { position: this.positions[found]!, offset: this.offsets[found]! };
  }

  /** The two index files' bytes. */
  serialize(): { index: Buffer; timeIndex: Buffer } {
    const index = Buffer.allocUnsafe(this.count * 8);
    const timeIndex = Buffer.allocUnsafe(this.count * 12);
    for (let i = 0; i < this.count; i++) {
      const rel = this.offsets[i]! - this.baseOffset;
      index.writeInt32BE(rel, i * 8);
      index.writeInt32BE(this.positions[i]!, i * 8 + 4);
      timeIndex.writeBigInt64BE(BigInt(this.timestamps[i]!), i * 12);
      timeIndex.writeInt32BE(rel, i * 12 + 8);
    }
    return { index, timeIndex };
  }

  /**
   * Loads saved files, or returns null when they cannot be trusted: wrong sizes, entries out of
   * order, or positions beyond `segmentSize`.
   */
  static load(baseOffset: number, index: Buffer, timeIndex: Buffer, segmentSize: number): SparseIndex | null {
    if (index.length % 8 !== 0 || timeIndex.length !== (index.length / 8) * 12) return null;
    const result = new SparseIndex(baseOffset);
    const n = index.length / 8;
    let lastRel = -1;
    let lastPos = -1;
    let lastTs = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const rel = index.readInt32BE(i * 8);
      const pos = index.readInt32BE(i * 8 + 4);
      const ts = Number(timeIndex.readBigInt64BE(i * 12));
      if (rel <= lastRel || pos <= lastPos || pos >= segmentSize || ts < lastTs) return null;
      if (timeIndex.readInt32BE(i * 12 + 8) !== rel) return null;
      if (result.count === result.offsets.length) result.grow();
      result.offsets[i] = baseOffset + rel;
      result.positions[i] = pos;
      result.timestamps[i] = ts;
      result.count++;
      lastRel = rel;
      lastPos = pos;
      lastTs = ts;
    }
    result.pending = 0;
    return result;
  }
}
