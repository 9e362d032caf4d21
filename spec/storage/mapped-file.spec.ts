/**
 * MappedFile: what a segment file costs (a mapping of what it holds, no descriptor, 16 KiB of
 * preallocation that doubles), how it grows without ever exposing freed memory to a view, the
 * mapping cache's bound, and a follower's view of a file its writer deletes or replaces.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LogStoreError } from '../../lib/errors.js';
import {
  INITIAL_ALLOCATION,
  MAX_ALLOCATION_STEP,
  preallocationTarget,
} from '../../lib/storage/file-blocks.js';
import { MappedFile } from '../../lib/storage/mapped-file.js';
import { mappingCache } from '../../lib/storage/mapping-cache.js';
import { descriptorsOn } from '../helpers/descriptors.js';
import { expectCode, removeTempDirs, tempDir } from '../helpers/temp.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const CAPACITY = 128 * MiB;
const PAGE = 4096;
const mappedFileJs = fileURLToPath(new URL('../../lib/storage/mapped-file.js', import.meta.url));

const missing = () => new LogStoreError('LOGSTORE_CORRUPT', 'missing');
const gone = () =>
  new LogStoreError('LOGSTORE_OFFSET_OUT_OF_RANGE', 'gone', { details: { kind: 'segment-gone' } });

/** A closed file of `bytes` bytes whose every byte is `fill`. */
function closedFile(dir: string, name: string, bytes: number, fill: number): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, Buffer.alloc(bytes, fill));
  return file;
}

/** Grows `file` by writing `chunk` bytes at a time up to `end`; returns the file sizes seen. */
function fillTo(file: MappedFile, end: number, chunk: number): number[] {
  const sizes = [file.fileSize];
  for (let position = 0; position < end; position += chunk) {
    file.ensureAllocated(position + chunk);
    file.buf.fill(position / chunk + 1, position, position + chunk);
    if (file.fileSize !== sizes[sizes.length - 1]) sizes.push(file.fileSize);
  }
  return sizes;
}

describe('MappedFile', () => {
  after(removeTempDirs);

  describe('preallocation', () => {
    it('should start at 16 KiB, grow by the file size, at most 64 MiB a step, never past the capacity nor short of it by less than a step', () => {
      expect(INITIAL_ALLOCATION).to.equal(16 * KiB);
      expect(MAX_ALLOCATION_STEP).to.equal(64 * MiB);
      expect(preallocationTarget(0, 1, CAPACITY)).to.equal(16 * KiB);
      expect(preallocationTarget(16 * KiB, 16 * KiB + 1, CAPACITY)).to.equal(32 * KiB);
      expect(preallocationTarget(32 * KiB, 32 * KiB + 1, CAPACITY)).to.equal(64 * KiB);
      expect(preallocationTarget(16 * KiB, 100 * KiB, CAPACITY)).to.equal(100 * KiB);
      expect(preallocationTarget(64 * MiB, 64 * MiB + 1, CAPACITY)).to.equal(128 * MiB);
      expect(preallocationTarget(128 * MiB, 128 * MiB + 1, 1024 * MiB)).to.equal(192 * MiB);
      expect(preallocationTarget(100 * MiB, 100 * MiB + 1, CAPACITY)).to.equal(CAPACITY);
      // 43 MiB would step to 86 MiB and leave 42 MiB: it goes to the capacity instead.
      expect(preallocationTarget(43 * MiB, 43 * MiB + 1, CAPACITY)).to.equal(CAPACITY);
      expect(preallocationTarget(42 * MiB, 42 * MiB + 1, CAPACITY)).to.equal(84 * MiB);
      expect(preallocationTarget(32 * MiB, 32 * MiB + 1, CAPACITY)).to.equal(64 * MiB);
      expect(preallocationTarget(0, 1, 4096)).to.equal(4096);
    });

    it('should create a file of 16 KiB of real blocks, mapped whole, with no descriptor left open', () => {
      const dir = tempDir();
      const file = MappedFile.create(path.join(dir, 'a.log'), CAPACITY);
      expect(descriptorsOn(dir)).to.deep.equal([]);
      const st = fs.statSync(file.path);
      expect(st.size).to.equal(16 * KiB);
      expect(st.blocks * 512).to.equal(16 * KiB);
      expect(file.fileSize).to.equal(16 * KiB);
      expect(file.buf.length).to.equal(16 * KiB);
      file.release();
    });

    it('should double the file as it fills, each mapping as long as the file, and keep the bytes', () => {
      const file = MappedFile.create(path.join(tempDir(), 'a.log'), CAPACITY);
      expect(fillTo(file, 100 * KiB, 1 * KiB)).to.deep.equal([16 * KiB, 32 * KiB, 64 * KiB, 128 * KiB]);
      expect(descriptorsOn(file.path)).to.deep.equal([]);
      expect(file.buf.length).to.equal(128 * KiB);
      expect(fs.statSync(file.path).size).to.equal(128 * KiB);
      for (let k = 0; k < 100; k++) expect(file.buf[k * KiB + 512], `chunk ${k}`).to.equal(k + 1);
      const onDisk = fs.readFileSync(file.path);
      expect(onDisk[99 * KiB]).to.equal(100);
      expect(onDisk[100 * KiB]).to.equal(0);
      file.release();
    });

    it('should count only what the files hold as V8 external memory, not their capacity', () => {
      // Measured in a child process that collects garbage first: in this process the count also
      // moves with whatever the earlier specs left for the collector (10 MiB freed mid-test once).
      const child = spawnSync(
        process.execPath,
        [
          '--expose-gc',
          '--input-type=module',
          '-e',
          `import { MappedFile } from ${JSON.stringify(mappedFileJs)};
          import path from 'node:path';
          const dir = ${JSON.stringify(tempDir())};
          globalThis.gc();
          globalThis.gc();
          // V8's count of external memory: what starts a full GC every ~64 MiB of growth.
          const before = process.memoryUsage().external;
          const files = Array.from({ length: 200 }, (_, i) =>
            MappedFile.create(path.join(dir, i + '.log'), ${CAPACITY}),
          );
          const grown = process.memoryUsage().external - before;
          for (const f of files) f.release();
          const left = process.memoryUsage().external - before;
          console.log(JSON.stringify({ grown, left }));`,
        ],
        { encoding: 'utf8', timeout: 30000 },
      );
      expect(child.status, child.stderr).to.equal(0);
      const { grown, left } = JSON.parse(child.stdout) as { grown: number; left: number };
      // The count still moves by some KiB with Node's own buffers; 1 MiB either way keeps the
      // check far from both wrong answers: 0 (mappings not counted) and 25 GiB (capacity).
      expect(grown).to.be.within(200 * 16 * KiB - MiB, 200 * 16 * KiB + MiB);
      expect(left).to.be.within(-MiB, MiB);
    });
  });

  describe('views across growth', () => {
    it('should detach a view of the old mapping at growth (nothing lent), never leaving it on freed memory', () => {
      const file = MappedFile.create(path.join(tempDir(), 'a.log'), CAPACITY);
      file.buf.write('first', 0);
      const view = file.buf.subarray(0, 5);
      file.ensureAllocated(20 * KiB);
      expect(view.length).to.equal(0);
      expect(file.buf.toString('latin1', 0, 5)).to.equal('first');
      file.release();
    });

    it('should keep a pinned view valid across growth, showing what is written through the new mapping', () => {
      const file = MappedFile.create(path.join(tempDir(), 'a.log'), CAPACITY);
      file.buf.write('first', 0);
      const unpin = file.pin();
      const view = file.buf.subarray(0, 16 * KiB);
      file.ensureAllocated(40 * KiB);
      expect(file.buf.length).to.equal(40 * KiB);
      file.buf.write('later', 8);
      expect(view.toString('latin1', 0, 13)).to.equal('first\0\0\0later');
      unpin();
      expect(view.length).to.equal(0); // retired at the last unpin
      expect(file.buf.toString('latin1', 8, 13)).to.equal('later');
      file.release();
    });

    it('should unmap retired mappings at release even while pinned', () => {
      const file = MappedFile.create(path.join(tempDir(), 'a.log'), CAPACITY);
      file.pin();
      const view = file.buf.subarray(0, 10);
      file.ensureAllocated(20 * KiB);
      const current = file.buf.subarray(0, 10);
      file.release();
      expect(view.length).to.equal(0);
      expect(current.length).to.equal(0);
      expectCode(() => file.buf, 'LOGSTORE_CLOSED');
    });
  });

  describe('lazy mapping and the mapping cache', () => {
    let bound: number;
    beforeEach(() => (bound = mappingCache.bound));
    afterEach(() => (mappingCache.bound = bound));

    it('should open without mapping or holding a descriptor, and map on first use', () => {
      const dir = tempDir();
      const name = closedFile(dir, 'a.log', 8 * KiB, 7);
      const file = MappedFile.open(name, CAPACITY, false, missing);
      expect(file.mapped).to.equal(false);
      expect(descriptorsOn(dir)).to.deep.equal([]);
      expect(file.buf[8 * KiB - 1]).to.equal(7);
      expect(file.mapped).to.equal(true);
      expect(descriptorsOn(dir)).to.deep.equal([]);
      file.release();
      expectCode(
        () => MappedFile.open(path.join(dir, 'none.log'), CAPACITY, false, missing),
        'LOGSTORE_CORRUPT',
      );
    });

    it('should keep at most the bound of closed files mapped, least recently used unmapped first', () => {
      mappingCache.bound = 4;
      const dir = tempDir();
      const evictionsBefore = mappingCache.evictions;
      const files = Array.from({ length: 10 }, (_, i) =>
        MappedFile.open(closedFile(dir, `${i}.log`, 4 * KiB, i + 1), CAPACITY, false, missing),
      );
      for (const f of files) expect(f.buf[100]).to.be.greaterThan(0);
      expect(files.filter((f) => f.mapped).length).to.be.at.most(4);
      expect(mappingCache.evictions - evictionsBefore).to.be.at.least(6);
      expect(files[9]!.mapped).to.equal(true); // the last used stays
      expect(files[0]!.mapped).to.equal(false);
      // Mapped again on use, with its own bytes.
      expect(files[0]!.buf[4 * KiB - 1]).to.equal(1);
      for (const f of files) f.release();
    });

    it('should not count active files, nor unmap a pinned one', () => {
      mappingCache.bound = 2;
      const dir = tempDir();
      const active = Array.from({ length: 5 }, (_, i) =>
        MappedFile.create(path.join(dir, `a${i}.log`), CAPACITY),
      );
      const pinned = MappedFile.open(closedFile(dir, 'p.log', 4 * KiB, 9), CAPACITY, false, missing);
      expect(pinned.buf[0]).to.equal(9);
      const unpin = pinned.pin();
      const closed = Array.from({ length: 6 }, (_, i) =>
        MappedFile.open(closedFile(dir, `${i}.log`, 4 * KiB, i + 1), CAPACITY, false, missing),
      );
      for (const f of closed) expect(f.buf.length).to.equal(4 * KiB);
      expect(active.every((f) => f.mapped)).to.equal(true);
      expect(pinned.mapped).to.equal(true);
      unpin();
      for (const f of closed) expect(f.buf.length).to.equal(4 * KiB);
      expect(pinned.mapped).to.equal(false);
      // A file that stops being active joins the cache.
      for (const f of active) f.setActive(false);
      expect(active.filter((f) => f.mapped).length).to.be.at.most(2);
      for (const f of [...active, ...closed, pinned]) f.release();
    });

    it('should sync a file the cache unmapped (fdatasync of the file, opened for the call)', async () => {
      mappingCache.bound = 1;
      const dir = tempDir();
      const file = MappedFile.open(closedFile(dir, 'a.log', 4 * KiB, 1), CAPACITY, true, missing);
      file.buf.write('dirty', 0);
      const other = MappedFile.open(closedFile(dir, 'b.log', 4 * KiB, 2), CAPACITY, false, missing);
      expect(other.buf[0]).to.equal(2);
      expect(file.mapped).to.equal(false);
      file.syncSync();
      await file.sync();
      expect(descriptorsOn(dir)).to.deep.equal([]);
      expect(fs.readFileSync(file.path).toString('latin1', 0, 5)).to.equal('dirty');
      file.release();
      other.release();
    });
  });

  describe('prefault', () => {
    /**
     * A directory in memory where there is one: on a disk, the kernel's background writeback may
     * clean (write-protect) prefaulted pages at any moment when other programs write a lot.
     */
    function memoryDir(): string {
      const dir = fs.mkdtempSync(
        path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'logstore-spec-'),
      );
      inMemory.push(dir);
      return dir;
    }
    const inMemory: string[] = [];
    after(() => {
      for (const dir of inMemory.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
    });

    /**
     * Minor page faults taken while storing one byte into each of `pages` pages from `from`, by
     * this thread alone: the process's count (`process.resourceUsage()`) also takes in the
     * collector's and the thread pool's, which once added 15 to each of three tries in a row.
     */
    function faultsStoring(file: MappedFile, from: number, pages: number): number {
      const buf = file.buf;
      const before = threadMinorFaults();
      for (let k = 0; k < pages; k++) buf[from + k * PAGE] = 9;
      return threadMinorFaults() - before;
    }
    const statFd = fs.openSync('/proc/thread-self/stat', 'r');
    const statBytes = Buffer.alloc(1024);
    after(() => fs.closeSync(statFd));

    /** The calling thread's minor faults: field 10 of /proc/thread-self/stat, read without making a string. */
    function threadMinorFaults(): number {
      const n = fs.readSync(statFd, statBytes, 0, statBytes.length, 0);
      let p = statBytes.lastIndexOf(0x29, n - 1) + 2; // past the ") " that ends field 2, the name
      for (let field = 3; field < 10; field++) p = statBytes.indexOf(0x20, p) + 1;
      let faults = 0;
      while (statBytes[p] !== 0x20) faults = faults * 10 + statBytes[p++]! - 0x30;
      return faults;
    }

    it('should take the faults of the next appends ahead of them, keeping every byte, within the mapping', () => {
      // The count is this thread's: a store into a page can still meet a fault of the kernel's
      // own now and then (never take one away). The fewest of three tries is the file's.
      const prefaulted: number[] = [];
      for (let attempt = 0; attempt < 3; attempt++) {
        const file = MappedFile.create(path.join(memoryDir(), `${attempt}.log`), CAPACITY);
        file.ensureAllocated(512 * KiB);
        expect(file.fileSize).to.equal(512 * KiB);
        file.buf[64 * KiB + 5] = 7;
        file.prefault(10, 256 * KiB + 10); // pages 1 to 64: a page starts at 4096 (the first after 10)
        file.prefault(400 * KiB, 10 * MiB); // past the mapping's end: stops there
        expect(file.buf[64 * KiB + 5]).to.equal(7);
        expect(file.buf[0]).to.equal(0);
        prefaulted.push(faultsStoring(file, PAGE, 64));
        // A page nobody prefaulted faults at its first store.
        expect(faultsStoring(file, 260 * KiB, 32)).to.be.at.least(32);
        const onDisk = fs.readFileSync(file.path);
        expect(onDisk.subarray(0, 256 * KiB).equals(file.buf.subarray(0, 256 * KiB))).to.equal(true);
        expect(onDisk[64 * KiB + 5]).to.equal(7);
        file.release();
      }
      expect(Math.min(...prefaulted)).to.be.at.most(4);
    });

    it('should prepare the pages an append is about to write, as far ahead as the file holds data', () => {
      const prepared: number[] = [];
      for (let attempt = 0; attempt < 3; attempt++) {
        const file = MappedFile.create(path.join(memoryDir(), `p${attempt}.log`), CAPACITY);
        file.ensureAllocated(512 * KiB);
        file.buf[100 * KiB + 5] = 7;
        // An append of 170 bytes at 100 KiB: the pages from 100 KiB to 200 KiB + 170 bytes.
        file.prepareWrite(100 * KiB, 100 * KiB + 170);
        file.prepareWrite(100 * KiB + 170, 100 * KiB + 340); // within them: nothing to do
        expect(file.buf[100 * KiB + 5]).to.equal(7);
        prepared.push(faultsStoring(file, 100 * KiB + PAGE, 24));
        expect(faultsStoring(file, 204 * KiB, 32)).to.be.at.least(32); // past what was prepared
        expect(fs.readFileSync(file.path)[100 * KiB + 5]).to.equal(7);
        file.release();
      }
      expect(Math.min(...prepared)).to.be.at.most(4);
    });

    it('should leave the pages prepared past the synced range writable (a durable append writes no zeros back)', () => {
      // On a disk: there a sync write-protects the pages it cleans. The fewest of three tries
      // counts, as above (background writeback may clean a page at any time).
      const faults: number[] = [];
      for (let attempt = 0; attempt < 3; attempt++) {
        const file = MappedFile.create(path.join(tempDir(), `s${attempt}.log`), CAPACITY);
        file.ensureAllocated(512 * KiB);
        file.buf[10] = 1;
        file.prefault(PAGE, 256 * KiB);
        file.syncSync(100);
        faults.push(faultsStoring(file, 2 * PAGE, 32));
        expect(fs.readFileSync(file.path)[10]).to.equal(1);
        file.release();
      }
      expect(Math.min(...faults)).to.be.at.most(4);
    });

    it('should never store into a read-only or closed file', () => {
      const dir = tempDir();
      const writer = MappedFile.create(path.join(dir, 'a.log'), CAPACITY);
      writer.ensureAllocated(128 * KiB);
      const follower = MappedFile.open(writer.path, CAPACITY, false, missing, { gone });
      follower.prefault(0, 128 * KiB); // a store here would be SIGSEGV
      follower.prepareWrite(0, 128 * KiB);
      expect(follower.buf[PAGE]).to.equal(0);
      writer.setActive(false);
      writer.prefault(0, 128 * KiB);
      expect(faultsStoring(writer, 2 * PAGE, 30)).to.be.at.least(26);
      writer.release();
      follower.release();
    });
  });

  describe("a follower's view", () => {
    it('should say the file is gone when it was deleted before its first mapping', () => {
      const dir = tempDir();
      const file = MappedFile.open(closedFile(dir, 'a.log', 4 * KiB, 1), CAPACITY, false, missing, { gone });
      fs.rmSync(file.path);
      const err = expectCode(() => file.buf, 'LOGSTORE_OFFSET_OUT_OF_RANGE') as LogStoreError;
      expect(err.details.kind).to.equal('segment-gone');
      file.release();
    });

    it('should say the file is gone when another was renamed over it, and never show the new bytes', () => {
      const dir = tempDir();
      const file = MappedFile.open(closedFile(dir, 'a.log', 4 * KiB, 1), CAPACITY, false, missing, { gone });
      fs.renameSync(closedFile(dir, 'a.cleaned', 4 * KiB, 2), file.path);
      expectCode(() => file.buf, 'LOGSTORE_OFFSET_OUT_OF_RANGE');
      expect(file.refreshSize()).to.equal(4 * KiB);
      file.release();
    });

    it('should keep a held file as it was when another is renamed over it', () => {
      const dir = tempDir();
      const file = MappedFile.open(closedFile(dir, 'a.log', 4 * KiB, 1), CAPACITY, false, missing, {
        gone,
        hold: true,
      });
      expect(file.mapped).to.equal(true);
      fs.renameSync(closedFile(dir, 'a.cleaned', 8 * KiB, 2), file.path);
      expect(file.buf.length).to.equal(4 * KiB);
      expect(file.buf[0]).to.equal(1);
      file.release();
    });

    it("should follow the writer's growth: a longer mapping once the file grew", () => {
      const dir = tempDir();
      const writer = MappedFile.create(path.join(dir, 'a.log'), CAPACITY);
      const follower = MappedFile.open(writer.path, CAPACITY, false, missing, { gone });
      expect(follower.buf.length).to.equal(16 * KiB);
      fillTo(writer, 30 * KiB, 1 * KiB);
      expect(follower.refreshSize()).to.equal(32 * KiB);
      expect(follower.buf.length).to.equal(32 * KiB);
      expect(follower.buf[29 * KiB]).to.equal(30);
      writer.release();
      follower.release();
    });
  });
});
