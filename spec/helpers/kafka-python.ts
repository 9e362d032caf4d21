/**
 * kafka-python's own RecordBatch v2 reader (`kafka.record.default_records.DefaultRecordBatch`,
 * Debian's python3-kafka with python3-snappy, python3-lz4 and python3-zstandard for the codecs),
 * run by /usr/bin/python3: an independent decoder of logstore's stored batches, compressed ones
 * included. It validates the CRC and decompresses with libsnappy, liblz4 and libzstd.
 */
import { spawnSync } from 'node:child_process';

export const PYTHON = '/usr/bin/python3';

export interface PythonRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: [string, Buffer | null][];
}

export interface PythonBatch {
  baseOffset: number;
  codec: number;
  crcValid: boolean;
  records: PythonRecord[];
}

const SCRIPT = String.raw`
import base64, json, sys
from kafka.record.default_records import DefaultRecordBatch
b64 = lambda b: None if b is None else base64.b64encode(bytes(b)).decode()
out = []
for item in json.load(sys.stdin):
    data = base64.b64decode(item)
    batches, pos = [], 0
    while pos + 12 <= len(data):
        size = 12 + int.from_bytes(data[pos + 8:pos + 12], 'big')
        batch = DefaultRecordBatch(data[pos:pos + size])
        crc_valid = batch.validate_crc()
        records = [{'offset': r.offset, 'timestamp': r.timestamp, 'key': b64(r.key), 'value': b64(r.value),
                    'headers': [[k, b64(v)] for k, v in r.headers]} for r in batch]
        batches.append({'baseOffset': batch.base_offset, 'codec': batch.compression_type,
                        'crcValid': crc_valid, 'records': records})
        pos += size
    out.append(batches)
json.dump(out, sys.stdout)
`;

/** Why kafka-python cannot decode `codec` batches here, or undefined when it can. */
export function kafkaPythonMissing(codec: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'): string | undefined {
  const probe = spawnSync(
    PYTHON,
    ['-c', 'import kafka.codec as c, json; print(json.dumps([c.has_snappy(), c.has_lz4(), c.has_zstd()]))'],
    { encoding: 'utf8' },
  );
  if (probe.error || probe.status !== 0)
    return `${PYTHON} cannot import kafka (apt-get install python3-kafka)`;
  const [snappy, lz4, zstd] = JSON.parse(probe.stdout) as boolean[];
  if (codec === 'snappy' && !snappy)
    return 'kafka-python has no snappy module (apt-get install python3-snappy)';
  if (codec === 'lz4' && !lz4) return 'kafka-python has no lz4 module (apt-get install python3-lz4)';
  if (codec === 'zstd' && !zstd) return 'kafka-python has no zstd module (apt-get install python3-zstandard)';
  return undefined;
}

/** Decodes the batches of each buffer (batches back to back) with kafka-python. */
export function kafkaPythonDecode(logs: Buffer[]): PythonBatch[][] {
  const run = spawnSync(PYTHON, ['-c', SCRIPT], {
    input: JSON.stringify(logs.map((b) => b.toString('base64'))),
    maxBuffer: 1 << 30,
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`kafka-python failed (${run.status}): ${run.stderr}`);
  const bytes = (s: string | null) => (s === null ? null : Buffer.from(s, 'base64'));
  type Raw = {
    baseOffset: number;
    codec: number;
    crcValid: boolean;
    records: (Omit<PythonRecord, 'key' | 'value' | 'headers'> & {
      key: string | null;
      value: string | null;
      headers: [string, string | null][];
    })[];
  };
  return (JSON.parse(run.stdout) as Raw[][]).map((batches) =>
    batches.map((b) => ({
      ...b,
      records: b.records.map((r) => ({
        ...r,
        key: bytes(r.key),
        value: bytes(r.value),
        headers: r.headers.map(([k, v]) => [k, bytes(v)] as [string, Buffer | null]),
      })),
    })),
  );
}
