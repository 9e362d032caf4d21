/**
 * The package as a TypeScript user gets it: `npm pack` makes the tarball npm would publish, an
 * empty application installs it, and a strict TypeScript program (`strict`, `skipLibCheck:
 * false`, so every declaration file logstore ships is checked) using the public API compiles
 * against it, along with every TypeScript sample of the README; then the program runs.
 *
 * How it installs, and why: the tarball is unpacked into the app's node_modules/logstore, as
 * npm does. Its dependencies are this repository's installed copies, linked after checking that
 * each is exactly the version package.json pins, and the native addon is the one `npm install`
 * built here: a real install compiles better-sqlite3's SQLite for minutes, and what this spec
 * checks is what the tarball holds. The app's own dev dependencies are @types/node (which any
 * Node TypeScript app has) and the repository's TypeScript compiler.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { removeTempDirs, tempDir } from '../helpers/temp.js';
import { readmeSamples, ROOT } from '../readme-samples.js';

const exec = promisify(execFile);

/** A program over the public API, its types spelled out where a user would name them. */
const APP = `
import {
  ErrorCodes,
  LogStore,
  LogStoreError,
  type AppendResult,
  type CatalogDatabase,
  type ConsumerOptions,
  type LogRecord,
  type PartitionDescription,
  type PartitionLag,
  type TopicDescription,
  type TopicInfo,
} from 'logstore';

const store = LogStore.open(process.argv[2]!, { durability: 'none', cleanupIntervalMs: 0 });
const info: TopicInfo = store.createTopic('t', { partitions: 2, compressionType: 'zstd', retainForGroups: true });
const results: AppendResult[] = store.append('t', [
  { key: 'a', value: 'x' },
  { key: 'b', value: new Uint8Array([1, 2]), headers: { h: ['1', null] }, timestamp: 1_700_000_000_000 },
]);
const description: TopicDescription = store.describeTopic('t');
const partitions: PartitionDescription[] = description.partitions;
const records: LogRecord[] = store.reader('t', { partition: results[0]!.partition, from: 'earliest' }).read(10);
const options: ConsumerOptions = { group: 'g', autoCommit: false, from: 'earliest' };
const consumer = store.consumer('t', options);
const keys = store.transaction((db: CatalogDatabase) => {
  db.exec('CREATE TABLE app (k TEXT)');
  for (const r of consumer.read()) {
    db.prepare('INSERT INTO app VALUES (?)').run(String(r.key));
    consumer.commit(r);
  }
  return db.prepare<{ k: string }>('SELECT k FROM app ORDER BY k').all().map((row) => row.k);
});
const lag: PartitionLag[] = consumer.lag();
let code: keyof typeof ErrorCodes | undefined;
try {
  store.append('t', { key: 'a', vlaue: 'typo' } as never);
} catch (err) {
  if (err instanceof LogStoreError) code = err.code;
}
await consumer.close();
await store.close();
console.log(
  JSON.stringify({
    partitionCount: info.partitionCount,
    compressionType: description.config.compressionType,
    ends: partitions.map((p) => p.endOffset),
    records: records.map((r) => r.offset),
    keys,
    lag: lag.map((l) => l.lag),
    code,
  }),
);
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    skipLibCheck: false,
    noUncheckedIndexedAccess: true,
    types: ['node'],
    outDir: 'out',
  },
  include: ['*.ts', 'samples/*.ts'],
};

function link(from: string, to: string): void {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.symlinkSync(from, to, 'dir');
}

describe('The published package', function () {
  this.timeout(240_000);
  after(removeTempDirs);

  it('should install from its npm pack tarball and compile a strict TypeScript app (skipLibCheck: false), which runs', async () => {
    const work = tempDir('logstore-pack-');
    // --ignore-scripts: `prepare` would rebuild dist/ under the suite that is running from it.
    const packed = await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
      cwd: ROOT,
      maxBuffer: 64 * 1024 * 1024,
    });
    const filename = (JSON.parse(packed.stdout) as { filename: string }[])[0]!.filename;
    const app = path.join(work, 'app');
    const installed = path.join(app, 'node_modules', 'logstore');
    fs.mkdirSync(installed, { recursive: true });
    await exec('tar', ['-xzf', path.join(work, filename), '-C', installed, '--strip-components=1']);
    const pkg = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    for (const [name, version] of Object.entries(pkg.dependencies)) {
      const copy = path.join(ROOT, 'node_modules', name);
      const have = (
        JSON.parse(fs.readFileSync(path.join(copy, 'package.json'), 'utf8')) as { version: string }
      ).version;
      expect(have, `the repository's ${name}`).to.equal(version);
      link(copy, path.join(app, 'node_modules', name));
    }
    fs.mkdirSync(path.join(installed, 'build', 'Release'), { recursive: true });
    fs.copyFileSync(
      path.join(ROOT, 'build', 'Release', 'logstore_native.node'),
      path.join(installed, 'build', 'Release', 'logstore_native.node'),
    );
    link(path.join(ROOT, 'node_modules', '@types', 'node'), path.join(app, 'node_modules', '@types', 'node'));

    fs.writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({ name: 'app', private: true, type: 'module' }),
    );
    fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
    fs.writeFileSync(path.join(app, 'app.ts'), APP);
    fs.mkdirSync(path.join(app, 'samples'));
    const samples = readmeSamples();
    expect(samples.length).to.be.at.least(3);
    for (const s of samples) fs.writeFileSync(path.join(app, 'samples', `readme-line-${s.line}.ts`), s.code);

    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const compiled = await exec(process.execPath, [tsc, '-p', app]).catch((err: { stdout: string }) => err);
    expect(compiled.stdout, 'tsc output').to.equal('');

    const ran = await exec(process.execPath, [path.join(app, 'out', 'app.js'), path.join(work, 'data')], {
      cwd: app,
    });
    expect(JSON.parse(ran.stdout)).to.deep.equal({
      partitionCount: 2,
      compressionType: 'zstd',
      // murmur2 puts both keys in partition 0 of 2 (as Kafka's partitioner does).
      ends: [2, 0],
      records: [0, 1],
      keys: ['a', 'b'],
      lag: [0, 0],
      code: 'LOGSTORE_INVALID_ARGUMENT',
    });
  });
});
