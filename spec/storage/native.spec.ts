import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';

import { crc32cTs } from '../../lib/format/crc32c-ts.js';
import { varint } from '../format/tools.js';
import { descriptorsOn } from '../helpers/descriptors.js';
import * as native from '../../lib/storage/native.js';

const require = createRequire(import.meta.url);
/** kafkajs's own byte-at-a-time CRC32C: a third, independent implementation. */
const kafkaCrc32c = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (b: Buffer) => number;
const { RecordBatch: kafkaRecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch: (opts: {
    records: unknown[];
    lastOffsetDelta?: number;
    firstTimestamp?: number;
    maxTimestamp?: number;
  }) => Promise<{ buffer: Buffer }>;
};
const kafkaRecord = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (opts: {
  offsetDelta: number;
  timestampDelta: number;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, string>;
}) => unknown;

const nativeJs = fileURLToPath(new URL('../../lib/storage/native.js', import.meta.url));
const MiB = 1 << 20;

let dir: string;
let seq = 0;
const fds: number[] = [];

function tmpFile(content?: Buffer): string {
  const f = path.join(dir, `f${seq++}`);
  fs.writeFileSync(f, content ?? Buffer.alloc(0));
  return f;
}

function open(f: string, flags = 'r+'): number {
  const fd = fs.openSync(f, flags);
  fds.push(fd);
  return fd;
}

function mappedPaths(): string {
  return fs.readFileSync('/proc/self/maps', 'utf8');
}

/**
 * Runs `code` (an ES module body that may use `native` and `fs`) in a child Node process started
 * by `bash -c "ulimit <limit>; exec node <flags>"`.
 */
function runWithUlimit(limit: string, code: string, nodeFlags: string[] = []) {
  const script = `import * as native from ${JSON.stringify(nativeJs)}; import fs from 'node:fs';\n${code}`;
  return spawnSync(
    'bash',
    [
      '-c',
      `ulimit ${limit}; exec "$0" "$@"`,
      process.execPath,
      ...nodeFlags,
      '--input-type=module',
      '-e',
      script,
    ],
    { encoding: 'utf8', timeout: 15000 },
  );
}

/** What the child run by runWithUlimit printed, after checking that it exited normally. */
function childOutput(r: ReturnType<typeof runWithUlimit>): unknown {
  expect(r.error, String(r.error)).to.equal(undefined);
  expect(r.signal, r.stderr).to.equal(null);
  expect(r.status, r.stderr).to.equal(0);
  return JSON.parse(r.stdout) as unknown;
}

/** A file of `size` bytes with real blocks (fallocate), as a segment is preallocated. */
function preallocatedFile(size: number): string {
  const f = tmpFile();
  const fd = fs.openSync(f, 'r+');
  try {
    native.fallocate(fd, 0, size);
  } finally {
    fs.closeSync(fd);
  }
  return f;
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logstore-native-'));
});

after(() => {
  for (const fd of fds) {
    try {
      fs.closeSync(fd);
    } catch {
      // already closed by the test
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('native.crc32c()', () => {
  // The portable code, reached through the test build of the addon (the production build has no hooks).
  const hooked = native.testingBinding();
  hooked.testHook('softwareCrc', true);
  const impls: [string, typeof native.crc32c][] = [
    [native.crc32cImpl, native.crc32c],
    ['slicing-by-8 (forced)', hooked.crc32c],
  ];

  for (const [name, crc32c] of impls) {
    describe(`with ${name}`, () => {
      it('should return the check value 0xE3069283 for ASCII "123456789"', () => {
        expect(crc32c(Buffer.from('123456789', 'ascii'), 0, 9)).to.equal(0xe3069283);
      });

      it('should match the RFC 3720 (iSCSI) test vectors', () => {
        const asc = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
        const desc = Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i));
        expect(crc32c(Buffer.alloc(32, 0), 0, 32)).to.equal(0x8a9136aa);
        expect(crc32c(Buffer.alloc(32, 0xff), 0, 32)).to.equal(0x62a8ab43);
        expect(crc32c(asc, 0, 32)).to.equal(0x46dd794e);
        expect(crc32c(desc, 0, 32)).to.equal(0x113fdb5c);
      });

      it('should equal the TS and kafkajs implementations on random buffers, lengths and offsets', () => {
        const big = randomBytes(4096);
        for (let len = 0; len <= 1100; len += len < 80 ? 1 : 37) {
          for (let start = 0; start < 16; start += 3) {
            const want = crc32cTs(big, start, start + len);
            expect(crc32c(big, start, start + len), `len ${len} start ${start}`).to.equal(want);
            expect(kafkaCrc32c(big.subarray(start, start + len))).to.equal(want);
          }
        }
        expect(crc32c(big, 0, 4096)).to.equal(crc32cTs(big, 0, 4096));
      });

      // The SSE4.2 code runs three streams over blocks of 3 x 256 and 3 x 8192 bytes and joins
      // them: every length around those edges, at every alignment, and a produce request's size.
      it('should equal the TS implementation at the edges of its three-stream blocks', () => {
        const big = randomBytes(3 * 1024 * 1024 + 64);
        const edges = [767, 768, 769, 1535, 1536, 1537, 24575, 24576, 24577, 49152 + 768 + 9, 110_003];
        for (const len of [...edges, 1024 * 1024 + 7, 3 * 1024 * 1024 + 1]) {
          for (let start = 0; start < 8; start += len > 200_000 ? 7 : 1) {
            const want = crc32cTs(big, start, start + len);
            expect(crc32c(big, start, start + len), `len ${len} start ${start}`).to.equal(want);
          }
        }
      });

      it('should continue from a seed: crc(b, 0, n) === crc(b, k, n, crc(b, 0, k))', () => {
        fc.assert(
          fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(), fc.nat(), (arr, a, b) => {
            const n = arr.length;
            const k = n === 0 ? 0 : a % (n + 1);
            const whole = crc32c(arr, 0, n);
            expect(crc32c(arr, k, n, crc32c(arr, 0, k))).to.equal(whole);
            expect(crc32cTs(arr, k, n, crc32cTs(arr, 0, k))).to.equal(whole);
            const seed = b >>> 0;
            expect(crc32c(arr, k, n, seed)).to.equal(crc32cTs(arr, k, n, seed));
          }),
          { numRuns: 300 },
        );
      });
    });
  }

  it('should return the seed (0 by default) for an empty range', () => {
    const b = Buffer.from('abc');
    expect(native.crc32c(b, 2, 2)).to.equal(0);
    expect(native.crc32c(b, 2, 2, 0xdeadbeef)).to.equal(0xdeadbeef);
    expect(native.crc32c(new Uint8Array(0), 0, 0)).to.equal(0);
  });

  it('should honour byteOffset of pooled Buffers, subarrays and Uint8Arrays', () => {
    const pooled = Buffer.from('xx123456789yy'); // small Buffers live at an offset in the pool
    expect(native.crc32c(pooled, 2, 11)).to.equal(0xe3069283);
    expect(native.crc32c(pooled.subarray(2, 11), 0, 9)).to.equal(0xe3069283);
    const u8 = new Uint8Array(pooled.buffer, pooled.byteOffset + 2, 9);
    expect(native.crc32c(u8, 0, 9)).to.equal(0xe3069283);
  });

  it('should verify the CRC field of a RecordBatch v2 encoded by kafkajs', async () => {
    const records = [
      kafkaRecord({ offsetDelta: 0, timestampDelta: 0, key: Buffer.from('k1'), value: Buffer.from('v1') }),
      kafkaRecord({
        offsetDelta: 1,
        timestampDelta: 5,
        key: null,
        value: randomBytes(300),
        headers: { h: 'x' },
      }),
    ];
    const { buffer } = await kafkaRecordBatch({
      records,
      lastOffsetDelta: 1,
      firstTimestamp: 1700000000000,
      maxTimestamp: 1700000000005,
    });
    // baseOffset(8) length(4) partitionLeaderEpoch(4) magic(1) crc(4) | attributes ... end
    expect(buffer[16]).to.equal(2);
    expect(native.crc32c(buffer, 21, buffer.length)).to.equal(buffer.readUInt32BE(17));
  });

  it('should work on a view over a mapping', () => {
    const data = randomBytes(10000);
    const fd = open(tmpFile(data));
    const map = native.mapFile(fd, 10000, false);
    expect(native.crc32c(map, 0, 10000)).to.equal(crc32cTs(data, 0, 10000));
    expect(native.crc32c(map.subarray(17, 9000), 3, 8000)).to.equal(crc32cTs(data, 20, 8017));
    native.unmap(map);
    expect(() => native.crc32c(map, 0, 1)).to.throw(RangeError);
  });

  it('should work in worker threads too (the addon is context-aware), on a mapping', async () => {
    const f = tmpFile(Buffer.from('123456789'));
    const code = `
      const { parentPort } = require('node:worker_threads');
      const fs = require('node:fs');
      import(${JSON.stringify(pathToFileURL(nativeJs).href)}).then((n) => {
        const fd = fs.openSync(${JSON.stringify(f)}, 'r');
        const map = n.mapFile(fd, 9, false);
        const crc = n.crc32c(map, 0, 9);
        n.unmap(map);
        fs.closeSync(fd);
        parentPort.postMessage([crc, map.length]);
      });`;
    const results = await Promise.all(
      [1, 2].map(
        () =>
          new Promise((resolve, reject) => {
            const w = new Worker(code, { eval: true });
            w.once('message', resolve);
            w.once('error', reject);
          }),
      ),
    );
    expect(results).to.deep.equal([
      [0xe3069283, 0],
      [0xe3069283, 0],
    ]);
  });

  it('should throw TypeError/RangeError on bad arguments, like crc32cTs', () => {
    const b = Buffer.alloc(10);
    const bad: [unknown[], typeof TypeError | typeof RangeError][] = [
      [[null, 0, 0], TypeError],
      [['abc', 0, 3], TypeError],
      [[new Uint16Array(4), 0, 1], TypeError],
      [[b, '0', 1], TypeError],
      [[b, 0, undefined], TypeError],
      [[b, 0, 11], RangeError],
      [[b, 5, 4], RangeError],
      [[b, -1, 4], RangeError],
      [[b, 0.5, 4], RangeError],
      [[b, NaN, 4], RangeError],
      [[b, 0, Infinity], RangeError],
      [[b, 0, 4, -1], RangeError],
      [[b, 0, 4, 2 ** 32], RangeError],
      [[b, 0, 4, 1.5], RangeError],
      [[b, 0, 4, '1'], TypeError],
    ];
    for (const [args, type] of bad) {
      const call = native.crc32c as (...a: unknown[]) => number;
      const callTs = crc32cTs as (...a: unknown[]) => number;
      expect(() => call(...args), `native(${String(args.slice(1))})`).to.throw(type);
      expect(() => callTs(...args), `ts(${String(args.slice(1))})`).to.throw(type);
    }
    expect(native.crc32c(b, 0, 10, 0xffffffff)).to.equal(crc32cTs(b, 0, 10, 0xffffffff));
  });
});

describe('native.scanRecords()', () => {
  /** A record as Kafka lays it out: length, attributes, deltas, key, value, headers. */
  function record(
    tsDelta: number,
    offsetDelta: number,
    key: Buffer | null,
    value: Buffer,
    headers: [string, Buffer][],
  ) {
    const field = (b: Buffer | null) => (b === null ? varint(-1) : Buffer.concat([varint(b.length), b]));
    const body = Buffer.concat([
      Buffer.from([0]),
      varint(tsDelta),
      varint(offsetDelta),
      field(key),
      field(value),
      varint(headers.length),
      ...headers.flatMap(([k, v]) => [field(Buffer.from(k)), field(v)]),
    ]);
    return Buffer.concat([varint(body.length), body]);
  }
  /** Sets the call's inputs (native/logstore_native.c: fields[0..6)) and scans. */
  function scan(records: Uint8Array, p: number, i: number, count: number, lastDelta: number, max: number) {
    const [fields] = native.scanTables();
    fields.set([p, i, count, -1, lastDelta, max], 0);
    return native.scanRecords(records);
  }

  it('should say where each field is: offset delta, key, value, first header and count; timestamp deltas apart', () => {
    const first = record(0, 0, Buffer.from('k'), Buffer.from('value'), [['h', Buffer.from('x')]]);
    const second = record(2 ** 33, 2, null, Buffer.alloc(0), []);
    const section = Buffer.concat([first, second]);
    const [fields, stamps] = native.scanTables();
    expect(scan(section, 0, 0, 2, 2, 1000)).to.equal(2);
    // out: no error (at 0), next position and index, last offset delta, records without a key
    expect([...fields.subarray(8, 14)]).to.deep.equal([0, 0, section.length, 2, 2, 1]);
    expect([...fields.subarray(16, 30)]).to.deep.equal([
      ...[0, 5, 1, 7, 5, 13, 1], // key 'k' at 5, value at 7, one header from 13
      ...[2, first.length + 9, -1, first.length + 10, 0, first.length + 11, 0],
    ]);
    expect([stamps[0], stamps[1]]).to.deep.equal([0, 2 ** 33]);
    expect(section.subarray(5, 6).toString()).to.equal('k');
    expect(section.subarray(7, 12).toString()).to.equal('value');
  });

  it('should stop at `max` records, and at the 1024 its tables hold, where the next call goes on', () => {
    const records = Array.from({ length: 1500 }, (_, k) => record(0, k, null, Buffer.from([k & 0xff]), []));
    const section = Buffer.concat(records);
    const end = (n: number) => records.slice(0, n).reduce((sum, r) => sum + r.length, 0);
    const [fields] = native.scanTables();
    expect(scan(section, 0, 0, 1500, 1499, 3)).to.equal(3);
    expect([...fields.subarray(8, 12)]).to.deep.equal([0, 0, end(3), 3]);
    expect(scan(section, 0, 0, 1500, 1499, 5000)).to.equal(1024);
    expect([...fields.subarray(8, 13)]).to.deep.equal([0, 0, end(1024), 1024, 1023]);
    fields.set([end(1024), 1024, 1500, 1023, 1499, 5000], 0);
    expect(native.scanRecords(section)).to.equal(476);
    expect([...fields.subarray(8, 13)]).to.deep.equal([0, 0, section.length, 1500, 1499]);
  });

  it('should report the first bad field after the valid records before it', () => {
    const good = record(0, 0, null, Buffer.from('ok'), []);
    const bad = record(0, 1, null, Buffer.from('no'), []);
    bad[bad.length - 1] = 2; // a header count of 1 where the record ends
    const [fields] = native.scanTables();
    expect(scan(Buffer.concat([good, bad]), 0, 0, 2, 1, 1000)).to.equal(1);
    // error 6: the header count, at its position in the second record
    expect([...fields.subarray(8, 10)]).to.deep.equal([6, good.length + bad.length - 1]);
  });

  it('should hand every thread its own tables, the same ones at every call', async () => {
    expect(native.scanTables()[0]).to.equal(native.scanTables()[0]);
    const code = `
      const { parentPort } = require('node:worker_threads');
      import(${JSON.stringify(pathToFileURL(nativeJs).href)}).then((n) => {
        const [fields] = n.scanTables();
        fields.set([0, 0, 1, -1, 0, 10], 0);
        const count = n.scanRecords(Buffer.from([${[...record(0, 0, null, Buffer.from('w'), [])].join(',')}]));
        parentPort.postMessage([count, fields[19], fields === n.scanTables()[0]]);
      });`;
    const result = await new Promise((resolve, reject) => {
      const w = new Worker(code, { eval: true });
      w.once('message', resolve);
      w.once('error', reject);
    });
    expect(result).to.deep.equal([1, 6, true]); // the value's start, in the worker's own table
  });

  it('should throw TypeError/RangeError on bad arguments', () => {
    const [fields] = native.scanTables();
    const call = native.scanRecords as (...a: unknown[]) => number;
    expect(() => call('abc')).to.throw(TypeError);
    expect(() => call(new Uint16Array(4))).to.throw(TypeError);
    fields.set([11, 0, 1, -1, 0, 10], 0);
    expect(() => call(Buffer.alloc(10))).to.throw(RangeError);
    fields.set([0, -1, 1, -1, 0, 10], 0);
    expect(() => call(Buffer.alloc(10))).to.throw(RangeError);
  });
});

describe('native.mapFile()', () => {
  it('should map a file read-write so that stores reach the file (read back with fs.readFileSync)', () => {
    const f = tmpFile(Buffer.alloc(8192));
    const fd = open(f);
    const map = native.mapFile(fd, 8192, true);
    expect(map).to.be.instanceOf(Buffer);
    expect(map.length).to.equal(8192);
    map.write('hello mapping', 100);
    map[8191] = 0x7f;
    const onDisk = fs.readFileSync(f);
    expect(onDisk.toString('utf8', 100, 113)).to.equal('hello mapping');
    expect(onDisk[8191]).to.equal(0x7f);
    native.unmap(map);
  });

  it('should map read-only and see writes made through fs afterwards (one page cache)', () => {
    const f = tmpFile(Buffer.alloc(4096));
    const fd = open(f);
    const map = native.mapFile(fd, 4096, false);
    fs.writeSync(fd, Buffer.from('later'), 0, 5, 10);
    expect(map.toString('utf8', 10, 15)).to.equal('later');
    native.unmap(map);
  });

  it('should map more than the file size, leaving room to grow with fallocate', () => {
    const f = tmpFile(Buffer.from('abc'));
    const fd = open(f);
    const map = native.mapFile(fd, 4 * MiB, true);
    expect(map.length).to.equal(4 * MiB);
    expect(map.toString('utf8', 0, 3)).to.equal('abc');
    native.fallocate(fd, 0, 2 * MiB);
    map.write('grown', MiB + 5);
    expect(fs.readFileSync(f).toString('utf8', MiB + 5, MiB + 10)).to.equal('grown');
    expect(fs.statSync(f).size).to.equal(2 * MiB);
    native.unmap(map);
  });

  it('should throw fs-like errors: EBADF for a closed fd, EACCES for a writable map of a read-only fd', () => {
    const f = tmpFile(Buffer.alloc(4096));
    const fd = fs.openSync(f, 'r');
    fs.closeSync(fd);
    expect(() => native.mapFile(fd, 4096, false))
      .to.throw(Error)
      .that.includes({ code: 'EBADF', errno: -os.constants.errno.EBADF, syscall: 'mmap' });
    const ro = open(f, 'r');
    expect(() => native.mapFile(ro, 4096, true))
      .to.throw(Error)
      .that.includes({ code: 'EACCES', syscall: 'mmap' });
  });

  it('should throw TypeError/RangeError on bad arguments', () => {
    const fd = open(tmpFile(Buffer.alloc(10)));
    const call = native.mapFile as (...a: unknown[]) => Buffer;
    expect(() => call('3', 10, false)).to.throw(TypeError);
    expect(() => call(-1, 10, false)).to.throw(RangeError);
    expect(() => call(2 ** 31, 10, false)).to.throw(RangeError);
    expect(() => call(fd, 0, false)).to.throw(RangeError);
    expect(() => call(fd, 1.5, false)).to.throw(RangeError);
    expect(() => call(fd, -10, false)).to.throw(RangeError);
    expect(() => call(fd, 2 ** 60, false)).to.throw(RangeError);
    expect(() => call(fd, 10, 1)).to.throw(TypeError);
    expect(() => call(fd, 10)).to.throw(TypeError);
  });
});

describe('native.mapPath()', () => {
  it('should map the whole file and hold no descriptor once it returns', () => {
    const data = randomBytes(10000);
    const f = tmpFile(data);
    const map = native.mapPath(f, false);
    expect(descriptorsOn(f)).to.deep.equal([]);
    expect(map).to.be.instanceOf(Buffer);
    expect(map.length).to.equal(10000);
    expect(map.equals(data)).to.equal(true);
    expect(mappedPaths()).to.include(f);
    native.unmap(map);
    expect(mappedPaths()).to.not.include(f);
    expect(map.length).to.equal(0);
  });

  it('should map the first `length` bytes, read-write, so that stores reach the file', () => {
    const f = tmpFile(Buffer.alloc(3 * 4096));
    const map = native.mapPath(f, true, 4096 + 10);
    expect(map.length).to.equal(4096 + 10);
    map.write('through the mapping', 4000);
    expect(fs.readFileSync(f).toString('utf8', 4000, 4019)).to.equal('through the mapping');
    native.unmap(map);
  });

  it('should keep reading after the file is deleted: the mapping outlives the name and the descriptor', () => {
    const f = tmpFile(Buffer.from('still here'));
    const map = native.mapPath(f, false);
    fs.unlinkSync(f);
    expect(map.toString()).to.equal('still here');
    expect(mappedPaths()).to.include(`${f} (deleted)`);
    native.unmap(map);
    expect(mappedPaths()).to.not.include(f);
  });

  it('should keep the data across growth: the new mapping sees all of it, views of the old stay valid', () => {
    const f = preallocatedFile(16 * 1024);
    const fd = open(f);
    const first = native.mapPath(f, true);
    first.write('first', 0);
    first.write('end1', 16 * 1024 - 4);
    const view = first.subarray(0, 5); // what a reader may hold when the writer grows the file
    native.fallocate(fd, 16 * 1024, 16 * 1024);
    const second = native.mapPath(f, true);
    expect(second.length).to.equal(32 * 1024);
    expect(second.toString('utf8', 0, 5)).to.equal('first');
    expect(second.toString('utf8', 16 * 1024 - 4, 16 * 1024)).to.equal('end1');
    expect(second.subarray(16 * 1024).every((b) => b === 0)).to.equal(true);
    second.write('FIRST', 0);
    expect(view.toString()).to.equal('FIRST'); // one page cache: both mappings see every store
    second.write('second', 20000);
    native.unmap(first);
    expect(view.length).to.equal(0);
    expect(second.toString('utf8', 0, 5)).to.equal('FIRST');
    expect(fs.readFileSync(f).toString('utf8', 20000, 20006)).to.equal('second');
    native.unmap(second);
  });

  it('should count only the mapped length as V8 external memory (a capacity mapping counts in full)', () => {
    const files = Array.from({ length: 10 }, () => preallocatedFile(MiB));
    const out = childOutput(
      runWithUlimit(
        '-c 0',
        `
        const files = ${JSON.stringify(files)};
        globalThis.gc();
        const e0 = process.memoryUsage().external;
        const maps = files.map((f) => native.mapPath(f, false));
        const fileSized = process.memoryUsage().external - e0;
        for (const m of maps) native.unmap(m);
        const e1 = process.memoryUsage().external;
        const fd = fs.openSync(files[0], 'r');
        const big = native.mapFile(fd, 128 * 1024 * 1024, false);
        const capacity = process.memoryUsage().external - e1;
        native.unmap(big);
        console.log(JSON.stringify({ fileSized, capacity, afterUnmap: process.memoryUsage().external - e1 }));
      `,
        ['--expose-gc'],
      ),
    ) as { fileSized: number; capacity: number; afterUnmap: number };
    // The count also moves with the process's other buffers (module loading, Node's bookkeeping
    // of each external buffer): a few KiB either way, against 10 MiB and 128 MiB measured.
    const near = (x: number) => [x - 64 * 1024, x + 64 * 1024] as const;
    expect(out.fileSized).to.be.within(...near(10 * MiB));
    expect(out.capacity).to.be.within(...near(128 * MiB));
    expect(out.afterUnmap).to.be.within(...near(0)); // unmap (detach) gives the count back at once
  });

  it('should never map past EOF: the Buffer ends at the file size, where a longer mapping would SIGBUS', () => {
    const f = tmpFile(randomBytes(100));
    const touchPastEof = (how: string) =>
      runWithUlimit(
        '-c 0',
        `
        const map = ${how};
        let sum = 0;
        for (let i = 0; i < map.length; i++) sum += map[i];
        const past = map[8192]; // a page wholly past EOF: SIGBUS if it is mapped
        console.log(JSON.stringify({ length: map.length, sum, past: past === undefined ? 'undefined' : past }));
      `,
      );
    const data = fs.readFileSync(f);
    const r = touchPastEof(`native.mapPath(${JSON.stringify(f)}, false)`);
    expect(childOutput(r)).to.deep.equal({
      length: 100,
      sum: data.reduce((a, b) => a + b, 0),
      past: 'undefined',
    });
    // The premise: a mapping longer than the file kills the process at the first page past EOF.
    const longer = touchPastEof(`native.mapFile(fs.openSync(${JSON.stringify(f)}, 'r'), 16384, false)`);
    expect(longer.signal).to.equal('SIGBUS');
  });

  it('should refuse a length beyond the file with RangeError (it would SIGBUS), and hold no descriptor after', () => {
    const f = tmpFile(Buffer.alloc(5000));
    expect(() => native.mapPath(f, false, 5001)).to.throw(RangeError);
    expect(() => native.mapPath(f, true, 8192)).to.throw(RangeError);
    expect(descriptorsOn(f)).to.deep.equal([]);
    expect(mappedPaths()).to.not.include(f);
  });

  it('should throw fs-like errors with syscall and path: ENOENT, EACCES, EINVAL (empty), EISDIR, ENODEV (FIFO)', () => {
    const err = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        const { code, errno, syscall, path: where } = e as NodeJS.ErrnoException;
        return { code, errno, syscall, path: where, isError: e instanceof Error };
      }
      return 'no error';
    };
    const missing = path.join(dir, 'missing');
    const { errno } = os.constants;
    expect(err(() => native.mapPath(missing, false))).to.deep.equal({
      code: 'ENOENT',
      errno: -errno.ENOENT,
      syscall: 'open',
      path: missing,
      isError: true,
    });
    const empty = tmpFile();
    expect(err(() => native.mapPath(empty, false))).to.deep.equal({
      code: 'EINVAL',
      errno: -errno.EINVAL,
      syscall: 'mmap',
      path: empty,
      isError: true,
    });
    expect(err(() => native.mapPath(dir, false))).to.deep.include({
      code: 'EISDIR',
      syscall: 'mmap',
      path: dir,
    });
    const fifo = path.join(dir, `fifo-${seq++}`);
    expect(spawnSync('mkfifo', [fifo]).status).to.equal(0);
    // O_NONBLOCK: a FIFO with no writer fails here instead of blocking the thread forever.
    expect(err(() => native.mapPath(fifo, false))).to.deep.include({
      code: 'ENODEV',
      syscall: 'mmap',
      path: fifo,
    });
    const readOnly = tmpFile(Buffer.alloc(10));
    fs.chmodSync(readOnly, 0o444);
    if (process.getuid?.() !== 0) {
      // root opens it anyway; elsewhere a writable mapping of a read-only file is EACCES at open
      expect(err(() => native.mapPath(readOnly, true))).to.deep.include({ code: 'EACCES', syscall: 'open' });
    }
  });

  it('should map far more files than `ulimit -n` allows, and throw EMFILE (syscall open) when none is left', () => {
    const files = Array.from({ length: 300 }, (_, i) => {
      const b = Buffer.alloc(4096);
      b.writeUInt32LE(i, 0);
      return tmpFile(b);
    });
    const out = childOutput(
      runWithUlimit(
        '-n 64',
        `
        const files = ${JSON.stringify(files)};
        const maps = files.map((f) => native.mapPath(f, false)); // 300 mappings under a limit of 64
        const held = [];
        let fsOpen = 'no error';
        try { for (;;) held.push(fs.openSync(files[0], 'r')); } catch (e) { fsOpen = e.code; }
        let mapPath = 'no error';
        try { native.mapPath(files[1], false); } catch (e) {
          mapPath = { code: e.code, errno: e.errno, syscall: e.syscall, path: e.path,
                      exhausted: native.descriptorsExhausted(e) };
        }
        fs.closeSync(held.pop());
        const again = native.mapPath(files[1], false).readUInt32LE(0);
        const intact = maps.filter((m, i) => m.length === 4096 && m.readUInt32LE(0) === i).length;
        console.log(JSON.stringify({ fsOpen, mapPath, again, intact }));
      `,
      ),
    );
    expect(out).to.deep.equal({
      fsOpen: 'EMFILE',
      mapPath: {
        code: 'EMFILE',
        errno: -os.constants.errno.EMFILE,
        syscall: 'open',
        path: files[1],
        exhausted: true,
      },
      again: 1,
      intact: 300,
    });
  });

  it('should throw TypeError/RangeError on bad arguments', () => {
    const f = tmpFile(Buffer.alloc(10));
    const call = native.mapPath as (...a: unknown[]) => Buffer;
    expect(() => call(3, false)).to.throw(TypeError);
    expect(() => call(Buffer.from(f), false)).to.throw(TypeError);
    expect(() => call(`${f}\u0000x`, false)).to.throw(TypeError);
    expect(() => call('x'.repeat(5000), false)).to.throw(RangeError);
    expect(() => call(f)).to.throw(TypeError);
    expect(() => call(f, 'yes')).to.throw(TypeError);
    expect(() => call(f, false, 0)).to.throw(RangeError);
    expect(() => call(f, false, -1)).to.throw(RangeError);
    expect(() => call(f, false, 1.5)).to.throw(RangeError);
    expect(() => call(f, false, '5')).to.throw(TypeError);
    expect(call(f, false, undefined).length).to.equal(10);
  });
});

describe('native.descriptorsExhausted()', () => {
  it('should be true for EMFILE and ENFILE only', () => {
    const withCode = (code: string) => Object.assign(new Error(code), { code });
    expect(native.descriptorsExhausted(withCode('EMFILE'))).to.equal(true);
    expect(native.descriptorsExhausted(withCode('ENFILE'))).to.equal(true);
    expect(native.descriptorsExhausted(withCode('ENOENT'))).to.equal(false);
    expect(native.descriptorsExhausted(new Error('EMFILE'))).to.equal(false);
    expect(native.descriptorsExhausted(null)).to.equal(false);
    expect(native.descriptorsExhausted(undefined)).to.equal(false);
  });
});

describe('native.keepFreedMemory()', () => {
  it("should apply glibc's trim threshold and top pad, fault the heap in, and say whether it could", () => {
    // The allocator setting is process-wide: it is made in a child, not in the spec runner. The
    // prefaulted 32 MiB stay resident only if the trim threshold took effect (glibc's default
    // gives a free top of the heap above 128 KiB back at once).
    const child = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { readFileSync } from 'node:fs';
         import { keepFreedMemory } from ${JSON.stringify(pathToFileURL(nativeJs).href)};
         const rss = () => Number(/VmRSS:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
         const before = rss();
         const applied = keepFreedMemory(64 * 1024 * 1024, 8 * 1024 * 1024, 32 * 1024 * 1024);
         process.stdout.write(JSON.stringify({ applied, grew: rss() - before }));`,
      ],
      { encoding: 'utf8', timeout: 15000 },
    );
    expect(child.stderr).to.equal('');
    const { applied, grew } = JSON.parse(child.stdout) as { applied: boolean; grew: number };
    const header = (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header;
    const glibc = header.glibcVersionRuntime !== undefined;
    expect(applied).to.equal(glibc);
    expect(grew >= 30 * MiB, `resident memory grew by ${grew} bytes`).to.equal(glibc);
  });

  it('should refuse what mallopt cannot take, before changing anything', () => {
    const call = native.keepFreedMemory as (...args: unknown[]) => boolean;
    expect(() => call(-1, 0)).to.throw(RangeError);
    expect(() => call(2 ** 31, 0)).to.throw(RangeError);
    expect(() => call(0, 1.5)).to.throw(RangeError);
    expect(() => call('1', 0)).to.throw(TypeError);
    expect(() => call(1)).to.throw(TypeError);
    expect(() => call(1024, 0, 2048)).to.throw(RangeError); // more than the heap may keep
    expect(() => call(1024, 0, -1)).to.throw(RangeError);
  });
});

describe('native.unmap()', () => {
  it('should detach the Buffer and every view over it: length 0, reads give undefined', () => {
    const f = tmpFile(Buffer.alloc(4096, 0x41));
    const fd = open(f);
    const map = native.mapFile(fd, 4096, true);
    const view = map.subarray(100, 200);
    map[0] = 0x42;
    native.unmap(map);
    expect(map.length).to.equal(0);
    expect(map.buffer.byteLength).to.equal(0);
    expect(map[0]).to.equal(undefined);
    expect(view.length).to.equal(0);
    expect(view[5]).to.equal(undefined);
    map[0] = 1; // ignored by a detached view: no crash
    expect(map.toString()).to.equal('');
    expect(fs.readFileSync(f)[0]).to.equal(0x42); // the store before unmap is in the file
  });

  it('should be a no-op the second time, also through a view or the ArrayBuffer', () => {
    const fd = open(tmpFile(Buffer.alloc(4096)));
    const map = native.mapFile(fd, 4096, false);
    const ab = map.buffer as ArrayBuffer;
    native.unmap(map.subarray(1, 2));
    expect(map.length).to.equal(0);
    expect(() => native.unmap(map)).to.not.throw();
    expect(() => native.unmap(ab)).to.not.throw();
    const map2 = native.mapFile(fd, 4096, false);
    native.unmap(map2.buffer as ArrayBuffer);
    expect(map2.length).to.equal(0);
  });

  it('should release the mapping before it returns (not at GC), even for a deleted file', () => {
    const f = tmpFile(Buffer.alloc(64 * 1024));
    const fd = open(f);
    const map = native.mapFile(fd, 64 * 1024, false);
    expect(mappedPaths()).to.include(f);
    fs.unlinkSync(f);
    expect(mappedPaths()).to.include(`${f} (deleted)`);
    native.unmap(map);
    expect(mappedPaths()).to.not.include(f);
  });

  it('should not let the GC finalizer of an unmapped buffer unmap a newer mapping', async () => {
    const fd = open(tmpFile(Buffer.alloc(MiB, 0x5a)));
    for (let i = 0; i < 50; i++) {
      const old = native.mapFile(fd, MiB, false);
      native.unmap(old); // its finalizer runs later, from an immediate
      const fresh = native.mapFile(fd, MiB, false); // likely at the same address
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      expect(fresh[MiB - 1]).to.equal(0x5a); // a double munmap would SIGSEGV here
      native.unmap(fresh);
    }
  });

  it('should map and unmap 2000 times without GC and without growing the address space', () => {
    const f = tmpFile(Buffer.alloc(4 * MiB));
    const fd = open(f);
    for (let i = 0; i < 2000; i++) {
      const m = native.mapFile(fd, 4 * MiB, true);
      m[i] = 1;
      native.unmap(m);
    }
    expect(mappedPaths()).to.not.include(f);
  });

  it('should throw TypeError for anything that is not a mapping', () => {
    const call = native.unmap as (...a: unknown[]) => void;
    expect(() => call()).to.throw(TypeError);
    expect(() => call({})).to.throw(TypeError);
    expect(() => call(42)).to.throw(TypeError);
    expect(() => call(Buffer.alloc(16))).to.throw(TypeError);
    expect(() => call(new ArrayBuffer(8))).to.throw(TypeError);
    expect(() => call(new Uint16Array(8))).to.throw(TypeError);
  });
});

describe('native.fallocate()', () => {
  it('should reserve real blocks and extend the size', () => {
    const f = tmpFile();
    const fd = open(f);
    native.fallocate(fd, 0, 3 * MiB);
    let st = fs.statSync(f);
    expect(st.size).to.equal(3 * MiB);
    expect(st.blocks * 512).to.be.at.least(3 * MiB);
    native.fallocate(fd, 3 * MiB, MiB);
    st = fs.statSync(f);
    expect(st.size).to.equal(4 * MiB);
    expect(st.blocks * 512).to.be.at.least(4 * MiB);
  });

  it('should neither shrink the file nor touch its data when the range is inside it', () => {
    const data = randomBytes(100000);
    const f = tmpFile(data);
    const fd = open(f);
    native.fallocate(fd, 0, 50000);
    native.fallocate(fd, 10, 0); // zero length: no-op
    expect(fs.readFileSync(f).equals(data)).to.equal(true);
  });

  it('should fall back to writing zeros (real blocks, data kept) where fallocate is unsupported', () => {
    const data = randomBytes(5000);
    const f = tmpFile(data);
    const fd = open(f);
    const hooked = native.testingBinding();
    hooked.testHook('zeroFill', true);
    try {
      hooked.fallocate(fd, 0, 3 * MiB + 123);
    } finally {
      hooked.testHook('zeroFill', false);
    }
    const st = fs.statSync(f);
    expect(st.size).to.equal(3 * MiB + 123);
    expect(st.blocks * 512).to.be.at.least(3 * MiB);
    const back = fs.readFileSync(f);
    expect(back.subarray(0, 5000).equals(data)).to.equal(true);
    expect(back.subarray(5000).every((b) => b === 0)).to.equal(true);
  });

  it('should throw EFBIG beyond `ulimit -f` (Node ignores SIGXFSZ) and the process lives on', () => {
    const f1 = path.join(dir, `efbig-${seq++}`);
    const f2 = path.join(dir, `efbig-${seq++}`);
    const r = runWithUlimit(
      '-f 1024',
      `
      const out = {};
      const err = (e) => ({ code: e.code, errno: e.errno, syscall: e.syscall, isError: e instanceof Error });
      const fd1 = fs.openSync(${JSON.stringify(f1)}, 'w+');
      native.fallocate(fd1, 0, 512 * 1024);
      try { native.fallocate(fd1, 0, 2 * 1024 * 1024); out.hw = 'no error'; } catch (e) { out.hw = err(e); }
      const fd2 = fs.openSync(${JSON.stringify(f2)}, 'w+');
      const hooked = native.testingBinding();
      hooked.testHook('zeroFill', true);
      try { hooked.fallocate(fd2, 0, 2 * 1024 * 1024); out.zero = 'no error'; } catch (e) { out.zero = err(e); }
      console.log(JSON.stringify(out));
    `,
    );
    const out = childOutput(r);
    const efbig = { code: 'EFBIG', errno: -os.constants.errno.EFBIG, syscall: 'fallocate', isError: true };
    expect(out).to.deep.equal({ hw: efbig, zero: efbig });
    expect(fs.statSync(f1).size).to.equal(512 * 1024);
  });

  it('should throw EBADF for a closed fd, and TypeError/RangeError on bad arguments', () => {
    const fd = fs.openSync(tmpFile(), 'r+');
    fs.closeSync(fd);
    expect(() => native.fallocate(fd, 0, 4096))
      .to.throw(Error)
      .that.includes({ code: 'EBADF', syscall: 'fallocate' });
    const ok = open(tmpFile());
    const call = native.fallocate as (...a: unknown[]) => void;
    expect(() => call(ok, '0', 1)).to.throw(TypeError);
    expect(() => call(ok, 0)).to.throw(TypeError);
    expect(() => call(ok, -1, 1)).to.throw(RangeError);
    expect(() => call(ok, 0, 1.5)).to.throw(RangeError);
    expect(() => call(ok, 2 ** 53 - 1, 2)).to.throw(RangeError);
    expect(() => call(-3, 0, 1)).to.throw(RangeError);
  });
});

describe('native.punchHole()', () => {
  it('should free blocks without changing the size, and read back zeros', () => {
    const data = randomBytes(4 * MiB);
    const f = tmpFile(data);
    const fd = open(f);
    native.fallocate(fd, 0, 4 * MiB);
    const before = fs.statSync(f);
    native.punchHole(fd, MiB, 3 * MiB);
    const after = fs.statSync(f);
    expect(after.size).to.equal(4 * MiB);
    expect(before.blocks - after.blocks).to.be.at.least((3 * MiB) / 512 - 8);
    const back = fs.readFileSync(f);
    expect(back.subarray(0, MiB).equals(data.subarray(0, MiB))).to.equal(true);
    expect(back.subarray(MiB).every((b) => b === 0)).to.equal(true);
    native.punchHole(fd, 0, 0); // zero length: no-op
  });

  it('should leave a reader mapping of the whole file valid', () => {
    const f = tmpFile(Buffer.alloc(2 * MiB, 7));
    const fd = open(f);
    const map = native.mapFile(fd, 2 * MiB, false);
    native.punchHole(fd, MiB, MiB);
    expect(map[MiB - 1]).to.equal(7);
    expect(map[2 * MiB - 1]).to.equal(0); // a hole reads as zeros, no SIGBUS
    native.unmap(map);
  });

  it('should throw TypeError/RangeError on bad arguments', () => {
    const fd = open(tmpFile());
    const call = native.punchHole as (...a: unknown[]) => void;
    expect(() => call(fd, null, 1)).to.throw(TypeError);
    expect(() => call(fd, 0, -1)).to.throw(RangeError);
  });
});

describe('native.msync()', () => {
  it('should sync a range (page-aligned internally) of a writable mapping', () => {
    const f = tmpFile(Buffer.alloc(3 * 4096 + 10));
    const fd = open(f);
    const map = native.mapFile(fd, 3 * 4096 + 10, true);
    map.write('synced', 5000);
    native.msync(map, 4999, 7);
    native.msync(map, 0, map.length);
    native.msync(map, 10, 0);
    native.msync(map.subarray(4096), 900, 10);
    expect(fs.readFileSync(f).toString('utf8', 5000, 5006)).to.equal('synced');
    native.unmap(map);
    expect(() => native.msync(map, 0, 1)).to.throw(RangeError);
  });

  it('should reject ranges beyond the buffer and buffers that are not mappings', () => {
    const fd = open(tmpFile(Buffer.alloc(4096)));
    const map = native.mapFile(fd, 4096, true);
    expect(() => native.msync(map, 4000, 97)).to.throw(RangeError);
    expect(() => native.msync(map, 4097, 0)).to.throw(RangeError);
    expect(() => native.msync(map, -1, 1)).to.throw(RangeError);
    expect(() => native.msync(Buffer.alloc(4096), 0, 1)).to.throw(TypeError);
    expect(() => (native.msync as (...a: unknown[]) => void)(map, 0)).to.throw(TypeError);
    native.unmap(map);
  });
});

describe('native.msyncAsync()', () => {
  it('should resolve (to undefined) once the range is synced; the stores are in the file', async () => {
    const f = tmpFile(Buffer.alloc(3 * 4096));
    const map = native.mapPath(f, true);
    map.write('durable', 5000);
    const p = native.msyncAsync(map, 5000, 7);
    expect(p).to.be.instanceOf(Promise);
    expect(await p).to.equal(undefined);
    expect(await native.msyncAsync(map.subarray(4096), 0, 4096)).to.equal(undefined);
    expect(fs.readFileSync(f).toString('utf8', 5000, 5007)).to.equal('durable');
    native.unmap(map);
  });

  it('should detach every view at once when unmapped mid-sync, and give the range back when the sync ends', async () => {
    const f = preallocatedFile(32 * MiB);
    const map = native.mapPath(f, true);
    map.fill(1); // 8192 dirty pages: the sync has work to do on the thread pool
    const view = map.subarray(10, 20);
    const sync = native.msyncAsync(map, 0, map.length);
    native.unmap(map);
    expect(map.length).to.equal(0);
    expect(view.length).to.equal(0);
    // The completion runs on this thread, so until we yield the range is still mapped.
    expect(mappedPaths()).to.include(f);
    await sync;
    expect(mappedPaths()).to.not.include(f);
    const back = fs.readFileSync(f);
    expect(back.length).to.equal(32 * MiB);
    expect(back.every((b) => b === 1)).to.equal(true);
  });

  it('should settle every sync when many run at once and half the mappings are unmapped meanwhile', async () => {
    const files = Array.from({ length: 40 }, () => preallocatedFile(256 * 1024));
    const maps = files.map((f) => native.mapPath(f, true));
    maps.forEach((m, i) => m.fill(i + 1));
    const syncs = maps.map((m) => native.msyncAsync(m, 0, m.length));
    maps.forEach((m, i) => i % 2 === 0 && native.unmap(m));
    const settled = await Promise.allSettled(syncs);
    expect(settled.map((s) => s.status)).to.deep.equal(files.map(() => 'fulfilled'));
    maps.forEach((m) => native.unmap(m));
    expect(files.filter((f) => mappedPaths().includes(f))).to.deep.equal([]);
    expect(files.map((f) => fs.readFileSync(f)[256 * 1024 - 1])).to.deep.equal(files.map((_, i) => i + 1));
  });

  it('should resolve at once for an empty range, even of an unmapped buffer, and throw for bad ranges', async () => {
    const map = native.mapPath(tmpFile(Buffer.alloc(4096)), true);
    expect(await native.msyncAsync(map, 4096, 0)).to.equal(undefined);
    expect(() => native.msyncAsync(map, 4000, 97)).to.throw(RangeError);
    expect(() => native.msyncAsync(map, -1, 1)).to.throw(RangeError);
    native.unmap(map);
    expect(await native.msyncAsync(map, 0, 0)).to.equal(undefined);
    expect(() => native.msyncAsync(map, 0, 1)).to.throw(RangeError);
    const call = native.msyncAsync as (...a: unknown[]) => Promise<void>;
    expect(() => call(Buffer.alloc(4096), 0, 1)).to.throw(TypeError);
    expect(() => call(map, 0)).to.throw(TypeError);
  });
});

describe('native.syncFileSystem() and syncFileSystemAsync()', () => {
  it('should sync the filesystem of a directory or a file, returning undefined (async: resolving to it)', async () => {
    const f = tmpFile(Buffer.alloc(4096));
    const map = native.mapPath(f, true);
    map.write('durable', 100);
    expect(native.syncFileSystem(dir)).to.equal(undefined);
    expect(native.syncFileSystem(f)).to.equal(undefined);
    const p = native.syncFileSystemAsync(dir);
    expect(p).to.be.instanceOf(Promise);
    expect(await p).to.equal(undefined);
    expect(fs.readFileSync(f).toString('utf8', 100, 107)).to.equal('durable');
    native.unmap(map);
  });

  it('should throw (or reject with) fs-like errors naming the path, and TypeError for a bad path', async () => {
    const missing = path.join(dir, 'no-such-dir');
    expect(() => native.syncFileSystem(missing))
      .to.throw()
      .that.includes({ code: 'ENOENT', syscall: 'open', path: missing });
    let rejected: unknown;
    await native.syncFileSystemAsync(missing).catch((err: unknown) => (rejected = err));
    expect(rejected).to.include({ code: 'ENOENT', syscall: 'open', path: missing });
    const call = native.syncFileSystem as (...a: unknown[]) => void;
    const callAsync = native.syncFileSystemAsync as (...a: unknown[]) => Promise<void>;
    expect(() => call(42)).to.throw(TypeError);
    expect(() => call()).to.throw(TypeError);
    expect(() => call('a\u0000b')).to.throw(TypeError);
    expect(() => callAsync(null)).to.throw(TypeError);
  });
});

describe('native.madvise()', () => {
  it('should accept the four advices on a range of a mapping', () => {
    const fd = open(tmpFile(Buffer.alloc(64 * 1024, 1)));
    const map = native.mapFile(fd, 64 * 1024, false);
    for (const advice of ['sequential', 'random', 'willneed', 'dontneed'] as const) {
      native.madvise(map, 100, 30000, advice);
    }
    expect(map[40000]).to.equal(1); // dontneed on a shared file mapping refaults from the file
    native.unmap(map);
  });

  it("should take a writable mapping's write faults with 'populate-write', keeping its bytes", function () {
    if (process.platform !== 'linux') this.skip(); // MADV_POPULATE_WRITE is Linux's
    const file = tmpFile(Buffer.alloc(64 * 1024, 1));
    const fd = open(file, 'r+');
    const map = native.mapFile(fd, 64 * 1024, true);
    native.madvise(map, 4096, 32 * 1024, 'populate-write');
    expect(map[4096]).to.equal(1);
    map[5000] = 2;
    native.msync(map, 0, 64 * 1024);
    expect(
      fs
        .readFileSync(file)
        .subarray(0, 4096)
        .every((b) => b === 1),
    ).to.equal(true);
    expect(fs.readFileSync(file)[5000]).to.equal(2);
    native.unmap(map);
  });

  it('should throw TypeError for an unknown advice or a non-mapping, RangeError for a bad range', () => {
    const fd = open(tmpFile(Buffer.alloc(4096)));
    const map = native.mapFile(fd, 4096, false);
    const call = native.madvise as (...a: unknown[]) => void;
    expect(() => call(map, 0, 10, 'normal')).to.throw(TypeError);
    expect(() => call(map, 0, 10, 'random\u0000')).to.throw(TypeError);
    expect(() => call(map, 0, 10, 'a-very-long-advice-string')).to.throw(TypeError);
    expect(() => call(map, 0, 10)).to.throw(TypeError);
    expect(() => call(map, 0, 4097, 'random')).to.throw(RangeError);
    expect(() => call(new Uint8Array(10), 0, 1, 'random')).to.throw(TypeError);
    native.unmap(map);
  });
});
