import { expect } from 'chai';
import { removeTempDirs, tempDir } from '../helpers/temp.js';
import { cli, killChildren, Writer } from './cli-helpers.js';

describe('logstore topics', function () {
  this.timeout(15_000);
  afterEach(killChildren);
  after(removeTempDirs);

  it('should create, list, describe and delete topics', async () => {
    const dir = tempDir();
    const created = await cli([
      'topics',
      dir,
      'create',
      'orders',
      '--partitions',
      '3',
      '--retention-ms',
      '7d',
      '--segment-bytes',
      '64KiB',
      '--json',
    ]);
    expect(created.code, created.stderr).to.equal(0);
    const info = JSON.parse(created.stdout) as {
      name: string;
      partitionCount: number;
      config: Record<string, unknown>;
      partitions: { partition: number }[];
    };
    expect(info).to.include({ name: 'orders', partitionCount: 3 });
    expect(info.partitions.map((p) => p.partition)).to.deep.equal([0, 1, 2]);
    expect(info.config).to.include({ retentionMs: 7 * 86_400_000, segmentBytes: 65_536, retentionBytes: -1 });
    expect(
      (await cli(['topics', dir, 'create', 'audit', '--cleanup-policy', 'compact', '--retention-bytes=-1']))
        .stdout,
    ).to.equal('created topic audit (1 partition)\n');

    const [list, listJson, describe, describeJson] = await Promise.all([
      cli(['topics', dir]),
      cli(['topics', dir, 'list', '--json']),
      cli(['topics', dir, 'describe', 'orders']),
      cli(['topics', dir, 'describe', 'orders', '--json']),
    ]);
    expect(list.stdout).to.equal('audit\norders\n'); // piped: names one a line
    expect((JSON.parse(listJson.stdout) as { name: string }[]).map((t) => t.name)).to.deep.equal([
      'audit',
      'orders',
    ]);
    expect(describe.code, describe.stderr).to.equal(0);
    expect(describe.stdout)
      .to.match(/^topic +orders$/m)
      .and.match(/^PARTITION +START +END +RECORDS +SIZE +SEGMENTS$/m);
    const d = JSON.parse(describeJson.stdout) as {
      partitions: { partition: number; endOffset: number }[];
    };
    expect(d.partitions.map((p) => p.partition)).to.deep.equal([0, 1, 2]);

    const deleted = await cli(['topics', dir, 'delete', 'audit']);
    expect(deleted.stdout).to.equal('deleted topic audit\n');
    expect((await cli(['topics', dir])).stdout).to.equal('orders\n');
  });

  it('should report library errors by code: an existing topic, an unknown one', async () => {
    const dir = tempDir();
    await cli(['topics', dir, 'create', 'orders']);
    const [exists, missing] = await Promise.all([
      cli(['topics', dir, 'create', 'orders']),
      cli(['topics', dir, 'describe', 'nope']),
    ]);
    expect(exists.code).to.equal(1);
    expect(exists.stderr).to.match(/^error: LOGSTORE_TOPIC_EXISTS: /);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/^error: LOGSTORE_TOPIC_NOT_FOUND: /);
  });

  it('should list and describe beside a live writer, and refuse to create while it holds the lock', async () => {
    const dir = tempDir();
    const w = new Writer({ dir, topic: 'events', initial: 7, partitions: 2 });
    await w.ready;
    try {
      const [list, describe, create] = await Promise.all([
        cli(['topics', dir]),
        cli(['topics', dir, 'describe', 'events', '--json']),
        cli(['topics', dir, 'create', 'other']),
      ]);
      expect(list.stdout).to.equal('events\n');
      const d = JSON.parse(describe.stdout) as { partitions: { endOffset: number }[] };
      expect(d.partitions.reduce((n, p) => n + p.endOffset, 0)).to.equal(7);
      expect(create.code).to.equal(1);
      expect(create.stderr).to.match(/^error: LOGSTORE_LOCKED: topics create needs the store's writer lock/);
    } finally {
      await w.close();
    }
  });

  it('should alter a topic', async () => {
    const dir = tempDir();
    await cli(['topics', dir, 'create', 'orders']);
    const r = await cli(['topics', dir, 'alter', 'orders', '--retention-ms', '1h', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect((JSON.parse(r.stdout) as { config: { retentionMs: number } }).config.retentionMs).to.equal(
      3_600_000,
    );
    const d = await cli(['topics', dir, 'describe', 'orders', '--json']);
    expect((JSON.parse(d.stdout) as { config: { retentionMs: number } }).config.retentionMs).to.equal(
      3_600_000,
    );
  });
});

describe('logstore groups', function () {
  this.timeout(15_000);
  afterEach(killChildren);
  after(removeTempDirs);

  it('should list no groups on a fresh store, and refuse to describe an unknown group', async () => {
    const dir = tempDir();
    await cli(['topics', dir, 'create', 'orders']);
    const [list, json, describe] = await Promise.all([
      cli(['groups', dir]),
      cli(['groups', dir, 'list', '--json']),
      cli(['groups', dir, 'describe', 'billing']),
    ]);
    expect(list.code, list.stderr).to.equal(0);
    expect(list.stdout).to.equal('');
    expect(JSON.parse(json.stdout)).to.deep.equal([]);
    expect(describe.code).to.equal(1);
    expect(describe.stderr).to.include("group 'billing' has no committed offsets");
  });

  it('should reset a group to earliest, latest or an offset, and show it', async () => {
    const dir = tempDir();
    await cli(['topics', dir, 'create', 'orders']);
    const produced = await cli(['produce', dir, 'orders'], { input: 'a\nb\nc\n' });
    expect(produced.code, produced.stderr).to.equal(0);
    const committedOffset = async () => {
      const r = await cli(['groups', dir, 'describe', 'billing', '--json']);
      expect(r.code, r.stderr).to.equal(0);
      const groups = JSON.parse(r.stdout) as { partitions: { offset: number }[] }[];
      return groups.flatMap((g) => g.partitions.map((p) => p.offset));
    };
    expect((await cli(['groups', dir, 'reset', 'billing', 'orders', '--to', 'latest'])).code).to.equal(0);
    expect(await committedOffset()).to.deep.equal([3]);
    expect((await cli(['groups', dir, 'reset', 'billing', 'orders', '--to', '1'])).code).to.equal(0);
    expect(await committedOffset()).to.deep.equal([1]);
    const tail = await cli(['tail', dir, 'orders', '--group', 'billing', '--format', 'json']);
    expect(tail.code, tail.stderr).to.equal(0);
    expect(
      tail.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { value: string }).value),
    ).to.deep.equal(['b', 'c']);
    expect(await committedOffset()).to.deep.equal([3]);
    const beyond = await cli(['groups', dir, 'reset', 'billing', 'orders', '--to', '9']);
    expect(beyond.code).to.equal(1);
    expect(beyond.stderr).to.include('LOGSTORE_OFFSET_OUT_OF_RANGE');
  });

  it('should delete a group on every topic, and exit 1 for a group without offsets', async () => {
    const dir = tempDir();
    await cli(['topics', dir, 'create', 'orders']);
    await cli(['topics', dir, 'create', 'refunds']);
    for (const args of [
      ['billing', 'orders'],
      ['billing', 'refunds'],
      ['audit', 'orders'],
    ]) {
      const reset = await cli(['groups', dir, 'reset', ...args, '--to', 'earliest']);
      expect(reset.code, reset.stderr).to.equal(0);
    }
    const deleted = await cli(['groups', dir, 'delete', 'billing']);
    expect(deleted.code, deleted.stderr).to.equal(0);
    expect(deleted.stdout).to.equal('deleted group billing (its committed offsets on orders, refunds)\n');
    expect((await cli(['groups', dir])).stdout).to.equal('audit\n');
    const again = await cli(['groups', dir, 'delete', 'billing']);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.include("group 'billing' has no committed offsets");
  });
});
