/**
 * The README's "Moving to a Kafka cluster" commands, run as written against librdkafka's mock
 * cluster: only the broker list (kafka1:9092,...) and the directories (./data, ./edge) are
 * replaced, by the mock's bootstrap list and temp dirs. A following mirror beside a live writer,
 * stopped with SIGTERM, then the last copy without --follow, leave every record on the cluster
 * exactly once; the --from command pulls the two topics it names into a store exactly.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { cli, ROOT, RunningCli } from '../cli/cli-helpers.js';
import { tempDir } from '../helpers/temp.js';
import { LogStore } from '../../lib/index.js';
import { byPartition, fromKcat, SlowWriter, storeRecords, waitForTopic } from './helpers.js';
import { kcatProduce, kcatRead, useMockCluster } from './mock-cluster.js';

/** The `sh` blocks of the README's section, one command a line. */
function sectionCommands(): string[] {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Moving to a Kafka cluster\n');
  expect(start, 'the README has the section').to.be.greaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) =>
    m[1]!
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== ''),
  );
}

/** A command's arguments for bin/logstore.js, with the brokers and directories replaced. */
function argsOf(command: string, bootstrap: string, dirs: Record<string, string>): string[] {
  const words = command.split(/\s+/);
  expect(words.slice(0, 2)).to.deep.equal(['npx', 'logstore']);
  return words.slice(2).map((w) => (/^kafka\d:9092(,kafka\d:9092)*$/.test(w) ? bootstrap : (dirs[w] ?? w)));
}

describe("README: 'Moving to a Kafka cluster' as written (librdkafka mock cluster)", function () {
  this.timeout(120_000);
  const mock = useMockCluster(3);

  it('should have the three commands: mirror --follow, the last copy, and --from', () => {
    expect(sectionCommands()).to.deep.equal([
      'npx logstore mirror ./data --to kafka1:9092,kafka2:9092 --follow',
      'npx logstore mirror ./data --to kafka1:9092,kafka2:9092',
      'npx logstore mirror ./edge --from kafka1:9092 --topics orders,payments',
    ]);
  });

  it('should move a live store to the cluster: --follow beside the writer, SIGTERM (exit 0), the last copy (exit 0)', async () => {
    const [follow, last] = sectionCommands();
    const dirs = { './data': tempDir() };
    const total = 3000;
    const writer = new SlowWriter({
      dir: dirs['./data'],
      topic: 'orders',
      total,
      perAppend: 20,
      perTick: 5,
      tickMs: 20,
    });
    try {
      await waitForTopic(dirs['./data'], 'orders');
      const mirror = new RunningCli(argsOf(follow!, mock.bootstrap, dirs));
      const deadline = Date.now() + 60_000;
      while ((await kcatRead(mock.bootstrap, 'orders')).length < total) {
        expect(Date.now(), 'every record on the cluster within 60 s').to.be.below(deadline);
        expect(mirror.child.exitCode, mirror.stderr).to.equal(null);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      await writer.finished;
      mirror.child.kill('SIGTERM');
      const exit = await mirror.exited;
      expect(exit.code, mirror.stderr).to.equal(0);
      expect(mirror.stderr, 'quiet when piped').to.equal('');
      const again = await cli(argsOf(last!, mock.bootstrap, dirs), { timeoutMs: 60_000 });
      expect(again.code, again.stderr).to.equal(0);
      expect(again.stdout + again.stderr).to.equal('');
    } finally {
      await writer.close();
    }
    const expected = storeRecords(dirs['./data'], 'orders');
    expect(expected).to.have.length(total);
    const copied = byPartition((await kcatRead(mock.bootstrap, 'orders')).map(fromKcat));
    expect(copied).to.deep.equal(expected);
  });

  it('should pull the topics it names into a new store exactly (--from)', async () => {
    const [, , from] = sectionCommands();
    const dirs = { './edge': path.join(tempDir(), 'edge') };
    for (const topic of ['orders', 'payments'])
      for (let p = 0; p < 4; p++)
        await kcatProduce(
          mock.bootstrap,
          topic,
          p,
          Array.from({ length: 50 }, (_, i) => `${topic}-k${i % 7}\t${topic} ${p} ${i}`),
        );
    await kcatProduce(mock.bootstrap, 'other', 0, ['k\tnot named']);
    const r = await cli(argsOf(from!, mock.bootstrap, dirs), { timeoutMs: 60_000 });
    expect(r.code, r.stderr).to.equal(0);
    for (const topic of ['orders', 'payments']) {
      const pulled = storeRecords(dirs['./edge'], topic);
      expect(pulled).to.have.length(200);
      expect(pulled).to.deep.equal(byPartition((await kcatRead(mock.bootstrap, topic)).map(fromKcat)));
    }
    const store = LogStore.open(dirs['./edge'], { readOnly: true });
    expect(store.topics().map((t) => t.name)).to.deep.equal(['orders', 'payments']);
    await store.close();
  });
});
