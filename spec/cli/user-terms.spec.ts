/**
 * The CLI speaks the user's language: every error shows its code, no message names a library
 * function or setting (the user typed commands and options), a file given as the directory is
 * "not a directory" from every command, misspelled options get a did-you-mean, every topic
 * setting of the library has its option, and `--json` prints the library's own objects.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { LogStore } from '../../lib/index.js';
import { CONFIG_FLAGS } from '../../lib/cli/topics.js';
import { TOPIC_DEFAULTS } from '../../lib/options.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';
import { cli, killChildren, Writer } from './cli-helpers.js';

/** Names a CLI user never typed: the library's methods and settings in camelCase. */
const LIBRARY_NAMES = [
  ...Object.getOwnPropertyNames(LogStore.prototype).filter((n) => /[a-z][A-Z]/.test(n)),
  ...Object.keys(TOPIC_DEFAULTS).filter((n) => /[a-z][A-Z]/.test(n)),
  'segmentBytes',
  'LogStore.open',
  'readOnly',
];

function expectCliTerms(stderr: string, what: string): void {
  expect(stderr, what).to.match(/^error: LOGSTORE_[A-Z_]+: /);
  for (const name of LIBRARY_NAMES) {
    expect(stderr, `${what} names the library's ${name}`).to.not.match(
      new RegExp(`\\b${name.replace('.', '\\.')}\\b`),
    );
  }
}

describe('logstore errors in the user terms', function () {
  this.timeout(60_000);
  afterEach(killChildren);
  after(removeTempDirs);

  it('should say "not a directory", with its code, for a file given as the directory, in every command', async () => {
    const file = path.join(tempDir(), 'a-file');
    fs.writeFileSync(file, 'not a store\n');
    const commands = [
      ['tail', file, 't'],
      ['tail', file, 't', '--follow'],
      ['produce', file, 't'],
      ['topics', file],
      ['topics', file, 'create', 't'],
      ['topics', file, 'describe', 't'],
      ['topics', file, 'alter', 't', '--retention-ms', '1h'],
      ['topics', file, 'delete', 't'],
      ['groups', file],
      ['groups', file, 'reset', 'g', 't', '--to', 'earliest'],
      ['groups', file, 'delete', 'g'],
      ['verify', file],
      ['dump', file, 't'],
      ['topics', path.join(file, 'below'), 'create', 't'],
      ['tail', path.join(file, 'below'), 't'],
    ];
    const results = await Promise.all(commands.map((args) => cli(args, { input: 'x\n', timeoutMs: 20_000 })));
    results.forEach((r, i) => {
      const what = `logstore ${commands[i]!.join(' ')}`;
      expect(r.code, `${what}: ${r.stderr}`).to.equal(1);
      expect(r.stderr, what).to.match(/^error: LOGSTORE_INVALID_ARGUMENT: \S+ is not a directory/);
    });
    expect(fs.readFileSync(file, 'utf8')).to.equal('not a store\n');
  });

  it('should show a code on every error and never name a library function or setting', async () => {
    const dir = tempDir();
    expect((await cli(['topics', dir, 'create', 'orders', '--partitions', '2'])).code).to.equal(0);
    expect((await cli(['produce', dir, 'orders', '--partition', '0'], { input: 'a\nb\n' })).code).to.equal(0);
    const cases = [
      ['tail', dir, 'nope'],
      ['tail', dir, 'nope', '--group', 'g'],
      ['tail', dir, 'orders', '--partition', '5'],
      ['tail', dir, 'orders', '--partition', '0', '--from', '7'],
      ['tail', dir, 'orders', '--folow'],
      ['produce', dir, 'nope'],
      ['produce', dir, 'orders', '--partition', '9'],
      ['topics', dir, 'create', 'orders'],
      ['topics', dir, 'create', 'bad/name'],
      ['topics', dir, 'create', 'small', '--segment-bytes', '100'],
      ['topics', dir, 'describe', 'nope'],
      ['topics', dir, 'alter', 'nope', '--retention-ms', '1h'],
      ['topics', dir, 'alter', 'orders', '--partitions', '3'],
      ['topics', dir, 'alter', 'orders', '--max-record-bytes', '0'],
      ['topics', dir, 'delete', 'nope'],
      ['groups', dir, 'describe', 'nobody'],
      ['groups', dir, 'reset', 'g', 'nope', '--to', 'earliest'],
      ['groups', dir, 'reset', 'g', 'orders', '--to', '99'],
      ['dump', dir, 'nope'],
      ['verify', path.join(dir, 'missing')],
    ];
    // One at a time: the writing commands would otherwise refuse each other the lock.
    const results = [];
    for (const args of cases) results.push(await cli(args, { input: '', timeoutMs: 20_000 }));
    results.forEach((r, i) => {
      const what = `logstore ${cases[i]!.join(' ')}`;
      expect(r.code, `${what}: ${r.stderr}`).to.be.oneOf([1, 2]);
      expectCliTerms(r.stderr, what);
    });
    // The codes the library gives for the same failures.
    const codes = results.map((r) => /^error: (\w+):/.exec(r.stderr)?.[1]);
    expect(codes).to.deep.equal([
      'LOGSTORE_TOPIC_NOT_FOUND',
      'LOGSTORE_TOPIC_NOT_FOUND',
      'LOGSTORE_INVALID_ARGUMENT',
      'LOGSTORE_OFFSET_OUT_OF_RANGE',
      'LOGSTORE_INVALID_ARGUMENT',
      'LOGSTORE_TOPIC_NOT_FOUND',
      'LOGSTORE_INVALID_ARGUMENT',
      'LOGSTORE_TOPIC_EXISTS',
      'LOGSTORE_INVALID_ARGUMENT',
      'LOGSTORE_INVALID_ARGUMENT',
      'LOGSTORE_TOPIC_NOT_FOUND',
      'LOGSTORE_TOPIC_NOT_FOUND',
      'LOGSTORE_INVALID_ARGUMENT',
      'LOGSTORE_INVALID_ARGUMENT',
      'LOGSTORE_TOPIC_NOT_FOUND',
      'LOGSTORE_INVALID_ARGUMENT',
      'LOGSTORE_TOPIC_NOT_FOUND',
      'LOGSTORE_OFFSET_OUT_OF_RANGE',
      'LOGSTORE_TOPIC_NOT_FOUND',
      'LOGSTORE_INVALID_ARGUMENT',
    ]);
  });

  it('should name the writer lock in CLI terms while another process writes', async () => {
    const dir = tempDir();
    const writer = new Writer({ dir, topic: 'orders', initial: 1 });
    await writer.ready;
    try {
      const cases = [
        ['produce', dir, 'orders'],
        ['topics', dir, 'alter', 'orders', '--retention-ms', '1h'],
        ['verify', dir, '--repair'],
      ];
      const results = await Promise.all(cases.map((args) => cli(args, { input: 'x\n', timeoutMs: 20_000 })));
      results.forEach((r, i) => {
        const what = `logstore ${cases[i]!.join(' ')}`;
        // verify finds no damage, so it never asks for the lock: exit 0.
        if (cases[i]![0] === 'verify') return expect(r.code, `${what}: ${r.stderr}`).to.equal(0);
        expect(r.code, what).to.equal(1);
        expect(r.stderr, what).to.match(/^error: LOGSTORE_LOCKED: \S+( \S+)? needs the store's writer lock/);
        expectCliTerms(r.stderr, what);
      });
    } finally {
      await writer.close();
    }
  });

  it('should suggest the option meant for a misspelled one (exit 2, with the usage)', async () => {
    const dir = tempDir();
    const cases: [string[], string][] = [
      [['tail', dir, 't', '--folow'], 'unknown option --folow; did you mean --follow?'],
      [['tail', dir, 't', '--Partition', '1'], 'unknown option --Partition; did you mean --partition?'],
      [
        ['topics', dir, 'create', 't', '--partiton', '2'],
        'unknown option --partiton; did you mean --partitions?',
      ],
      [['topics', dir, 'create', 't', '--retain-for-group'], 'did you mean --retain-for-groups?'],
      [['produce', dir, 't', '--jsn'], 'unknown option --jsn; did you mean --json?'],
      [['groups', dir, 'reset', 'g', 't', '--too', '0'], 'unknown option --too; did you mean --to?'],
      [['tail', dir, 't', '--zzzzzz'], 'unknown option --zzzzzz\n'],
      [['tail', dir, 't', '--max'], '--max needs a value'],
      [['tail', dir, 't', '--follow=yes'], '--follow takes no value'],
      [['tail', dir, 't', '-x'], 'unknown option -x; the short options are -h (--help), -f (--follow)'],
    ];
    const results = await Promise.all(cases.map(([args]) => cli(args)));
    results.forEach((r, i) => {
      const [args, message] = cases[i]!;
      expect(r.code, `logstore ${args.join(' ')}: ${r.stderr}`).to.equal(2);
      expect(r.stderr).to.match(/^error: LOGSTORE_INVALID_ARGUMENT: /);
      expect(r.stderr).to.include(message).and.include(`usage: logstore ${args[0]}`);
      expect(r.stderr).to.not.include('To specify a positional argument'); // parseArgs' own text
    });
  });

  it('should have an option for every topic setting of the library, each listed in --help', async () => {
    const settings = [...Object.keys(TOPIC_DEFAULTS), 'segmentBytes'].sort();
    expect(CONFIG_FLAGS.map((c) => c.key).sort()).to.deep.equal(settings);
    const help = (await cli(['topics', '--help'])).stdout;
    for (const c of CONFIG_FLAGS) expect(help).to.include(`--${c.flag}`);

    const dir = tempDir();
    const created = await cli([
      ...['topics', dir, 'create', 'all', '--json', '--partitions', '2', '--retention-ms', '2h'],
      ...['--retention-bytes', '1MiB', '--segment-bytes', '64KiB', '--cleanup-policy', 'compact'],
      ...['--delete-retention-ms', '5m', '--max-record-bytes', '4KiB', '--retain-for-groups'],
      ...['--compression-type', 'lz4'],
    ]);
    expect(created.code, created.stderr).to.equal(0);
    const config = {
      retentionMs: 7_200_000,
      retentionBytes: 1_048_576,
      segmentBytes: 65_536,
      cleanupPolicy: 'compact',
      deleteRetentionMs: 300_000,
      maxRecordBytes: 4096,
      retainForGroups: true,
      compressionType: 'lz4',
    };
    const topic = JSON.parse(created.stdout) as { partitionCount: number; config: object };
    expect(topic.partitionCount).to.equal(2);
    expect(topic.config).to.deep.equal(config);
    const altered = await cli([
      ...[
        'topics',
        dir,
        'alter',
        'all',
        '--json',
        '--no-retain-for-groups',
        '--compression-type',
        'producer',
      ],
      ...['--cleanup-policy', 'delete'],
    ]);
    expect(altered.code, altered.stderr).to.equal(0);
    expect((JSON.parse(altered.stdout) as { config: object }).config).to.deep.equal({
      ...config,
      retainForGroups: false,
      compressionType: 'producer',
      cleanupPolicy: 'delete',
    });
  });

  it("should print the library's objects with --json", async () => {
    const dir = tempDir();
    expect((await cli(['topics', dir, 'create', 'a', '--partitions', '2'])).code).to.equal(0);
    expect((await cli(['topics', dir, 'create', 'b'])).code).to.equal(0);
    expect((await cli(['produce', dir, 'a', '--key', 'k'], { input: '1\n2\n3\n' })).code).to.equal(0);
    expect((await cli(['groups', dir, 'reset', 'billing', 'a', '--to', 'latest'])).code).to.equal(0);
    const [topics, describe, groups] = await Promise.all([
      cli(['topics', dir, 'list', '--json']),
      cli(['topics', dir, 'describe', 'a', '--json']),
      cli(['groups', dir, 'list', '--json']),
    ]);
    const store = LogStore.open(dir, { readOnly: true });
    try {
      const same = (x: unknown) => JSON.parse(JSON.stringify(x)) as unknown;
      expect(JSON.parse(topics.stdout)).to.deep.equal(same(store.topics()));
      expect(JSON.parse(describe.stdout)).to.deep.equal(same(store.describeTopic('a')));
      expect(JSON.parse(groups.stdout)).to.deep.equal(same(store.groups()));
    } finally {
      await store.close();
    }
  });
});
