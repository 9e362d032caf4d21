/**
 * The README's promises, checked: every TypeScript sample runs as written (compiled to
 * JavaScript, run by Node in an empty directory where `logstore` is this package) and prints
 * exactly what the README shows after it; the error table names every error code.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import ts from 'typescript';
import { ErrorCodes } from '../lib/index.js';
import { removeTempDirs, tempDir } from './helpers/temp.js';
import { startMockCluster, stopMockClusters } from './mirror/mock-cluster.js';
import { readmeSamples, ROOT } from './readme-samples.js';

/** A sample's Kafka cluster (`kafka1:9092,...`), which the README's readers have and CI does not. */
const CLUSTER = /kafka\d:9092(,kafka\d:9092)*/g;

/** Runs `file` with Node in `cwd`; resolves with its exit code and output. */
function run(file: string, cwd: string, timeoutMs: number) {
  return new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>(
    (resolve) => {
      const child = spawn(process.execPath, [file], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
    },
  );
}

describe('README.md', function () {
  this.timeout(60_000);
  after(removeTempDirs);
  after(stopMockClusters);
  const samples = readmeSamples();

  it('should have samples to run', () => {
    expect(samples.length).to.be.at.least(3);
    expect(samples.filter((s) => s.expected !== undefined).length).to.be.at.least(3);
  });

  for (const sample of samples) {
    it(`should run the sample at line ${sample.line} (${sample.section}) as written`, async () => {
      const dir = tempDir('logstore-readme-');
      fs.mkdirSync(path.join(dir, 'node_modules'));
      fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'logstore'), 'dir');
      const js = ts.transpileModule(sample.code, {
        compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
      }).outputText;
      // Samples that reach a cluster run against librdkafka's mock cluster: only its address changes.
      const cluster = CLUSTER.test(js) ? await startMockCluster() : undefined;
      fs.writeFileSync(path.join(dir, 'sample.mjs'), cluster ? js.replace(CLUSTER, cluster.bootstrap) : js);
      const r = await run('sample.mjs', dir, 50_000);
      await cluster?.kill();
      expect({ code: r.code, signal: r.signal, stderr: r.stderr }, r.stdout).to.deep.equal({
        code: 0,
        signal: null,
        stderr: '',
      });
      if (sample.expected !== undefined) expect(r.stdout).to.equal(sample.expected);
    });
  }

  it('should list every error code in its Errors table', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('\n## Errors'), readme.indexOf('\n## On disk'));
    const listed = [...table.matchAll(/`(LOGSTORE_[A-Z_]+)`/g)].map((m) => m[1]);
    expect([...new Set(listed)].sort()).to.deep.equal(Object.keys(ErrorCodes).sort());
  });
});
