/**
 * The README's "Use it from any Kafka client" samples, run as written against `logstore serve`
 * (the only change: the address 127.0.0.1:9092 becomes the free port the server picked), in the
 * README's order: kafkajs, kcat, then kafka-python and confluent-kafka. Each sample's output is
 * checked exactly, then the library reads what they wrote and the group offset they share.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LogStore } from '../../lib/index.js';
import { killChildren } from '../cli/cli-helpers.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';
import { MISSING, PYTHON, requireClient, run } from './clients.js';
import { startServe } from './serve-process.js';

const README = fileURLToPath(new URL('../../../README.md', import.meta.url));
const SECTION = '## Use it from any Kafka client';
const ADDRESS = '127.0.0.1:9092';

/** The code blocks of the section marked `<!-- sample: name -->`, by name. */
function samples(): Map<string, string> {
  const text = fs.readFileSync(README, 'utf8');
  const start = text.indexOf(`\n${SECTION}\n`);
  expect(start, `README.md has a "${SECTION}" section`).to.be.greaterThan(0);
  const end = text.indexOf('\n## ', start + SECTION.length + 2);
  const section = text.slice(start, end < 0 ? undefined : end);
  const found = new Map<string, string>();
  for (const m of section.matchAll(/<!-- sample: (\w+) -->\n```\w+\n([\s\S]*?)\n```/g))
    found.set(m[1]!, m[2]!);
  return found;
}

describe('README: Use it from any Kafka client', function () {
  this.timeout(120_000);
  afterEach(killChildren);
  after(removeTempDirs);

  it('has the kafkajs, kcat and Python samples, each using the default address', () => {
    const found = samples();
    expect([...found.keys()]).to.deep.equal(['kafkajs', 'kcat', 'python']);
    for (const [name, code] of found) expect(code, name).to.include(ADDRESS);
  });

  it('runs the samples as written: each prints what was produced, and the library reads it all', async function () {
    for (const client of ['kcat', 'kafka-python', 'confluent-kafka'] as const) requireClient(this, client);
    expect(MISSING.kcat).to.equal(undefined);
    const found = samples();
    const dir = path.join(tempDir('logstore-readme-'), 'data');
    const server = await startServe(dir);
    const here = (code: string) => code.replaceAll(ADDRESS, server.bootstrap);
    // Beside this compiled spec, inside the repository, so that `import 'kafkajs'` resolves.
    const script = fileURLToPath(new URL(`./readme-sample-${process.pid}.mjs`, import.meta.url));
    try {
      fs.writeFileSync(script, here(found.get('kafkajs')!));
      const js = await run(process.execPath, [script], { timeoutMs: 60_000 });
      expect(js.code, js.stderr).to.equal(0);
      expect(js.stdout).to.equal('0 0 u1 hello from kafkajs web\n');

      const sh = await run('bash', ['-e', '-c', here(found.get('kcat')!)], { timeoutMs: 60_000 });
      expect(sh.code, sh.stderr).to.equal(0);
      expect(sh.stdout).to.equal('0 0 u1 hello from kafkajs\n0 1 u2 hello from kcat\n');

      const py = await run(PYTHON, ['-c', here(found.get('python')!)], { timeoutMs: 60_000 });
      expect(py.code, py.stderr).to.equal(0);
      expect(py.stdout).to.equal(
        '0 1 u2 hello from kcat\n0 2 u3 hello from kafka-python\n0 3 u4 hello from confluent-kafka\n',
      );
    } finally {
      fs.rmSync(script, { force: true });
      expect((await server.stop('SIGINT')).code).to.equal(0);
    }

    const store = LogStore.open(dir, { readOnly: true });
    try {
      const records = [...store.reader('orders', { partition: 0 })];
      expect(records.map((r) => [r.offset, r.key?.toString(), r.value?.toString()])).to.deep.equal([
        [0, 'u1', 'hello from kafkajs'],
        [1, 'u2', 'hello from kcat'],
        [2, 'u3', 'hello from kafka-python'],
        [3, 'u4', 'hello from confluent-kafka'],
      ]);
      expect(records[0]!.headerList.map(([k, v]) => [k, v?.toString()])).to.deep.equal([['source', 'web']]);
      const billing = store.groups().find((g) => g.group === 'billing');
      expect(billing?.partitions.map((p) => [p.partition, p.offset])).to.deep.equal([[0, 4]]);
    } finally {
      await store.close();
    }
  });
});
