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

/** Runs `code` (an ES module body that may use `native` and `fs`) in `bash -c "ulimit -f 1024; exec node"`. */
function runUnderFileLimit(code: string) {
  const script = `import * as native from ${JSON.stringify(nativeJs)}; import fs from 'node:fs';\n${code}`;
  return spawnSync(
    'bash',
    ['-c', 'ulimit -f 1024; exec "$0" --input-type=module -e "$1"', process.execPath, script],
    { encoding: 'utf8', timeout: 15000 },
  );
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
    const r = runUnderFileLimit(`
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
    `);
    expect(r.error, String(r.error)).to.equal(undefined);
    expect(r.signal, r.stderr).to.equal(null);
    expect(r.status, r.stderr).to.equal(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
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
