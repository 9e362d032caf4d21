/**
 * Records without a partition go to `murmur2(key) % partitions` exactly as Kafka's
 * default partitioner does. Checked against Kafka's own test vectors and against kafkajs's
 * DefaultPartitioner (its Java-compatible murmur2, in Long arithmetic: an independent port).
 */
import { expect } from 'chai';
import fc from 'fast-check';

import { murmur2, partitionForKey } from '../../lib/format/murmur2.js';
import { DefaultPartitioner, kafkaMurmur2 } from './kafkajs.js';

/**
 * From Apache Kafka, clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java,
 * testMurmur2 (the values Utils.murmur2 must return, as signed 32-bit ints).
 */
const KAFKA_VECTORS: [string, number][] = [
  ['21', -973932308],
  ['foobar', -790332482],
  ['a-little-bit-long-string', -985981536],
  ['a-little-bit-longer-string', -1486304829],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
  ['abc', 479470107],
];

const metadata = Array.from({ length: 65 }, (_, n) =>
  Array.from({ length: n }, (_, partitionId) => ({ partitionId, leader: 0 })),
);

describe('murmur2()', () => {
  for (const [key, hash] of KAFKA_VECTORS) {
    it(`should hash ${JSON.stringify(key)} to ${hash} as Kafka's Utils.murmur2`, () => {
      expect(murmur2(Buffer.from(key, 'latin1'))).to.equal(hash);
    });
  }

  it('should hash the empty key as Kafka does (only the seed mixed)', () => {
    expect(murmur2(Buffer.alloc(0))).to.equal(kafkaMurmur2(Buffer.alloc(0)));
    expect(murmur2(new Uint8Array(0))).to.equal(275646681);
  });

  it('should hash a Uint8Array view as the same bytes in a Buffer', () => {
    const backing = Buffer.from('xxfoobarxx');
    expect(murmur2(new Uint8Array(backing.buffer, backing.byteOffset + 2, 6))).to.equal(-790332482);
  });

  it('should equal kafkajs murmur2 for every tail length and high bytes', () => {
    for (let len = 0; len <= 16; len++) {
      for (const fill of [0x00, 0x7f, 0x80, 0xff]) {
        const key = Buffer.alloc(len, fill);
        expect(murmur2(key), `len ${len} fill ${fill}`).to.equal(kafkaMurmur2(key));
      }
    }
  });
});

describe('partitionForKey()', () => {
  it('should pick the partition kafkajs DefaultPartitioner picks for 1000 random keys and 1..64 partitions', () => {
    const partitioner = DefaultPartitioner();
    const keys = fc.sample(
      fc.oneof(
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u)),
      ),
      { numRuns: 1000, seed: 20240611 },
    );
    expect(keys).to.have.length(1000);
    let checked = 0;
    for (const key of keys) {
      const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
      for (let n = 1; n <= 64; n++) {
        const theirs = partitioner({
          topic: 't',
          partitionMetadata: metadata[n]!,
          message: { key, value: null },
        });
        const ours = partitionForKey(bytes, n);
        if (ours !== theirs)
          expect.fail(`key ${bytes.toString('hex')} with ${n} partitions: ${ours} != ${theirs}`);
        checked++;
      }
    }
    expect(checked).to.equal(64000);
  });

  it("should map Kafka's vectors through toPositive(hash) % partitions", () => {
    // -790332482 & 0x7fffffff = 1357151166
    expect(partitionForKey(Buffer.from('foobar'), 1)).to.equal(0);
    expect(partitionForKey(Buffer.from('foobar'), 7)).to.equal(1357151166 % 7);
    expect(partitionForKey(Buffer.from('foobar'), 64)).to.equal(1357151166 % 64);
    expect(partitionForKey(Buffer.from('abc'), 10)).to.equal(479470107 % 10);
  });

  it('should return a partition in [0, partitions) for any key (toPositive masks the sign bit)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }), fc.integer({ min: 1, max: 10000 }), (key, n) => {
        const p = partitionForKey(key, n);
        expect(p).to.be.at.least(0).and.below(n);
      }),
      { numRuns: 300 },
    );
  });
});
