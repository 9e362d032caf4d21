import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { decodeBatch } from '../../lib/format/batches.js';
import { batchesIn, batchHolding, dataEnd, flipBit, patch, recordValues, segmentOf } from './segments.js';
import { removeTempDirs, tempDir } from './temp.js';

describe('segment file helpers (spec/helpers/segments.ts)', () => {
  after(removeTempDirs);

  const batches = [
    [{ key: 'a', value: 'first', timestamp: 1 }],
    [
      { key: 'b', value: null, timestamp: 2 },
      { key: 'c', value: Buffer.alloc(300, 7), timestamp: 3 },
    ],
    [{ key: null, value: '', headers: { h: 'x' }, timestamp: 4 }],
  ];

  it('should build a segment of consecutive batches and find them again', () => {
    const bytes = segmentOf(40, batches, 100);
    const found = batchesIn(bytes);
    expect(found.map((b) => [b.baseOffset, b.lastOffset, b.recordCount])).to.deep.equal([
      [40, 40, 1],
      [41, 42, 2],
      [43, 43, 1],
    ]);
    expect(found.map((b) => decodeBatch(bytes, b.position).baseOffset)).to.deep.equal([40, 41, 43]);
    expect(dataEnd(bytes)).to.equal(bytes.length - 100);
    expect(batchHolding(found, found[1]!.position + 70)).to.equal(found[1]);
    expect(batchHolding(found, dataEnd(bytes))).to.equal(undefined);
  });

  it("should locate every record's value bytes", () => {
    const bytes = segmentOf(0, batches);
    const values = batchesIn(bytes).flatMap((b) =>
      recordValues(bytes, b).map((v) =>
        v === null ? null : bytes.subarray(v.position, v.position + v.length),
      ),
    );
    expect(values).to.deep.equal([Buffer.from('first'), null, Buffer.alloc(300, 7), Buffer.alloc(0)]);
  });

  it('should patch and flip bits in place', () => {
    const file = path.join(tempDir(), 'segment.log');
    fs.writeFileSync(file, Buffer.from([0, 1, 2, 3]));
    patch(file, 1, Buffer.from([9, 9]));
    flipBit(file, 3, 7);
    expect([...fs.readFileSync(file)]).to.deep.equal([0, 9, 9, 0x83]);
  });
});
