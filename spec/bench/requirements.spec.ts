import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { defineCase, type BenchCase } from '../../bench/case.js';
import { findProgram, whyNotHere } from '../../bench/requirements.js';
import { tableCells } from '../../bench/table.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';
import { subject, summaries } from './fixtures.js';

function kcatCase(over: Partial<BenchCase> = {}): BenchCase {
  return defineCase({
    name: 'kcat-produce',
    measures: 'kcat -P through serve',
    unit: 'rec/s',
    sizes: { quick: {}, full: {} },
    requires: ['kcat'],
    subjects: { logstore: () => Promise.reject(new Error('not run in specs')) },
    ...over,
  });
}

describe('bench case requirements', () => {
  after(removeTempDirs);

  it('should skip a case whose program is not on PATH, naming it, and run it once it is', () => {
    const bin = tempDir();
    const empty = tempDir();
    expect(whyNotHere(kcatCase(), [empty, bin].join(path.delimiter))).to.equal('needs kcat on PATH');
    fs.writeFileSync(path.join(bin, 'kcat'), '#!/bin/sh\n', { mode: 0o644 });
    expect(findProgram('kcat', bin)).to.equal(undefined); // not executable
    fs.chmodSync(path.join(bin, 'kcat'), 0o755);
    expect(findProgram('kcat', [empty, bin].join(path.delimiter))).to.equal(path.join(bin, 'kcat'));
    expect(whyNotHere(kcatCase(), [empty, bin].join(path.delimiter))).to.equal(undefined);
  });

  it('should skip a case whose own check objects, with its reason', () => {
    const bin = tempDir();
    fs.writeFileSync(path.join(bin, 'kcat'), '#!/bin/sh\n', { mode: 0o755 });
    const c = kcatCase({ skipUnless: () => 'librdkafka 2.0 has no mock cluster' });
    expect(whyNotHere(c, bin)).to.equal('librdkafka 2.0 has no mock cluster');
    expect(whyNotHere(kcatCase({ requires: ['kcat', 'python3-nope'] }), bin)).to.equal(
      'needs python3-nope on PATH',
    );
  });

  it('should list skipped cases in the table with the reason, and only the peers that took part as columns', () => {
    const rows = summaries(
      subject('group-commit', 'rec/s', 'fs-framing', [200]),
      subject('group-commit', 'rec/s', 'logstore', [100]),
    );
    expect(tableCells(rows, [], [{ case: 'kcat-produce', reason: 'needs kcat on PATH' }])).to.deep.equal([
      ['case', 'subject', 'median', 'min–max', 'MB/s', 'peak RSS MiB', 'vs fs-framing', 'note'],
      ['group-commit', 'fs-framing', '200 rec/s', '200–200', '0.02', '100', '', ''],
      ['group-commit', 'logstore', '100 rec/s', '100–100', '0.01', '100', '0.50×', ''],
      ['kcat-produce', '', 'skipped', '', '', '', '', 'needs kcat on PATH'],
    ]);
  });
});
