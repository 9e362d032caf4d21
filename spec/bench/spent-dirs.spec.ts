import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SPENT_ENV } from '../../bench/case.js';
import { findCase } from '../../bench/cases/index.js';
import { runCases } from '../../bench/execute.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

const CHILD = fileURLToPath(new URL('../../bench/child.js', import.meta.url));

/** One run of `caseName`'s logstore subject by hand, its temp dir in `tmp`; returns its reply. */
function runChild(caseName: string, params: object, tmp: string, spent?: string): { ok: boolean } {
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp };
  delete env[SPENT_ENV];
  if (spent !== undefined) env[SPENT_ENV] = spent;
  const out = execFileSync(process.execPath, [CHILD, caseName, 'logstore', JSON.stringify(params)], { env });
  return JSON.parse(out.toString()) as { ok: boolean };
}

describe('bench runs that keep their files until the end', () => {
  after(removeTempDirs);

  it('should move a keepFilesUntilEnd run directory into the runner folder, and remove the others', () => {
    const tmp = tempDir();
    const spent = tempDir();
    expect(findCase('many-partitions-1000')?.keepFilesUntilEnd).to.equal(true);
    expect(runChild('many-partitions-1000', { partitions: 10, nofile: 0 }, tmp, spent).ok).to.equal(true);
    expect(fs.readdirSync(tmp)).to.deep.equal([]);
    const kept = fs.readdirSync(spent);
    expect(kept).to.have.length(1);
    expect(kept[0]).to.match(/^logstore-bench-many-partitions-1000-logstore-/);
    const partitions = fs.readdirSync(path.join(spent, kept[0]!)).filter((n) => n.startsWith('tenant-'));
    expect(partitions).to.have.length(10);

    expect(findCase('single-append')?.keepFilesUntilEnd).to.equal(undefined);
    expect(runChild('single-append', { records: 10 }, tmp, spent).ok).to.equal(true);
    expect(fs.readdirSync(tmp)).to.deep.equal([]);
    expect(fs.readdirSync(spent)).to.deep.equal(kept);
  });

  it('should remove a run directory when no runner folder is named', () => {
    const tmp = tempDir();
    expect(runChild('many-partitions-1000', { partitions: 10, nofile: 0 }, tmp).ok).to.equal(true);
    expect(fs.readdirSync(tmp)).to.deep.equal([]);
  });

  it('should remove the runner folder, and what was moved into it, once the cases ran', async () => {
    const tmp = tempDir();
    const base = findCase('many-partitions-1000')!;
    const small = {
      ...base,
      sizes: { quick: { partitions: 10, nofile: 0 }, full: { partitions: 10, nofile: 0 } },
    };
    const before = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      const { results } = await runCases([small], true, () => 2);
      expect(results.map((r) => [r.subject, r.runs.length, r.error])).to.deep.equal([
        ['logstore', 2, undefined],
      ]);
    } finally {
      if (before === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = before;
    }
    expect(fs.readdirSync(tmp)).to.deep.equal([]);
    expect(process.env[SPENT_ENV]).to.equal(undefined);
  });
});
