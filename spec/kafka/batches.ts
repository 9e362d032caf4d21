/** Record batches for protocol-level specs: logstore's own encoder, with producer fields patched in. */
import { crc32c } from '../../lib/format/crc32c.js';
import { encodeBatch } from '../../lib/format/batch-encoder.js';
import type { AppendRecord } from '../../lib/record.js';

export function batch(
  records: AppendRecord[],
  producer?: { producerId: number; producerEpoch: number; baseSequence: number },
): Buffer {
  const b = encodeBatch(0, records, 1_700_000_000_000);
  if (producer) {
    b.writeBigInt64BE(BigInt(producer.producerId), 43);
    b.writeInt16BE(producer.producerEpoch, 51);
    b.writeInt32BE(producer.baseSequence, 53);
    b.writeUInt32BE(crc32c(b, 21, b.length), 17);
  }
  return b;
}

export const values = (n: number, prefix = 'v'): AppendRecord[] =>
  Array.from({ length: n }, (_, i) => ({
    key: `k${i}`,
    value: `${prefix}${i}`,
    timestamp: 1_700_000_000_000 + i,
  }));
