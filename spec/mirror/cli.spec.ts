/**
 * `logstore mirror` as a command: usage errors exit 2 with the usage and create nothing, `--help`,
 * a clear one-line error and exit 1 when the cluster cannot be reached or the store is missing,
 * and a `--from` that holds the store's lock refused with a hint.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { LogStore } from '../../lib/index.js';
import { cli, killChildren } from '../cli/cli-helpers.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';
import { closedPort } from './helpers.js';

describe('logstore mirror (command)', function () {
  this.timeout(30_000);
  afterEach(killChildren);
  after(removeTempDirs);

  it('should exit 2 with the usage on wrong usage, creating nothing', async () => {
    const parent = tempDir();
    const dir = path.join(parent, 'new');
    const cases = [
      ['mirror'],
      ['mirror', dir],
      ['mirror', dir, '--to', 'a:1', '--from', 'b:2'],
      ['mirror', dir, '--from', 'nohost'],
      ['mirror', dir, '--from', 'a:0'],
      ['mirror', dir, '--to', 'a:1', '--group', 'g'],
      ['mirror', dir, '--from', 'a:1', '--topics', 'a,,b'],
      ['mirror', dir, '--from', 'a:1', '--retry-timeout', 'soon'],
      ['mirror', dir, '--from', 'a:1', '--sasl-mechanism', 'GSSAPI', '--sasl-username', 'u'],
      ['mirror', dir, '--from', 'a:1', '--sasl-username', 'u'],
      ['mirror', dir, '--from', 'a:1', '--tls-cert', 'c.pem'],
      ['mirror', dir, '--from', 'a:1', '--bogus'],
    ];
    const results = await Promise.all(cases.map((args) => cli(args)));
    results.forEach((r, i) => {
      expect(r.code, `${cases[i]!.join(' ')}: ${r.stderr}`).to.equal(2);
      expect(r.stderr).to.include('usage: logstore mirror');
      expect(r.stdout).to.equal('');
    });
    expect(fs.readdirSync(parent)).to.deep.equal([]);
  });

  it('should print --help on stdout and list the command in the main usage', async () => {
    const [help, main] = await Promise.all([cli(['mirror', '--help']), cli(['--help'])]);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.include('usage: logstore mirror <dir> --to host:port');
    expect(help.stdout).to.include('exit codes: 0 done');
    expect(main.stdout).to.match(/^ {2}mirror +copy topics to a Kafka cluster/m);
  });

  it('should exit 1 with one clear line when no broker answers (and nothing is written to stdout)', async () => {
    const dir = tempDir();
    const store = LogStore.open(dir);
    store.createTopic('t', { partitions: 1 });
    await store.close();
    const port = await closedPort();
    const r = await cli(['mirror', dir, '--to', `127.0.0.1:${port}`, '--retry-timeout', '300ms']);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.equal('');
    expect(r.stderr.trim().split('\n')).to.have.length(1);
    expect(r.stderr).to.match(
      /^error: LOGSTORE_IO: Connecting to the cluster kept failing for \d+\.\d s \(the cluster at 127\.0\.0\.1:\d+; last error: .*ECONNREFUSED/,
    );
  });

  it('should refuse --to on a directory without a store (exit 1), and --from while another process writes the store', async () => {
    const empty = tempDir();
    const r = await cli(['mirror', empty, '--to', '127.0.0.1:1']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/^error: no logstore at /);
    const dir = tempDir();
    const store = LogStore.open(dir); // this process holds the lock
    try {
      const locked = await cli(['mirror', dir, '--from', '127.0.0.1:1']);
      expect(locked.code).to.equal(1);
      expect(locked.stderr).to.match(/^error: LOGSTORE_LOCKED: mirror --from needs the store's writer lock/);
      expect(locked.stderr).to.include('store.mirror({ from })');
    } finally {
      await store.close();
    }
  });
});
