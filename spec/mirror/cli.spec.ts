/**
 * `logstore mirror` as a command: usage errors exit 2 with the usage and create nothing, `--help`,
 * a clear one-line error and exit 1 when the cluster cannot be reached or the store is missing,
 * and a `--from` that holds the store's lock refused with a hint; on a terminal, the line saying
 * what is copied where, the progress line and the summary.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { LogStore } from '../../lib/index.js';
import { BIN, cli, killChildren } from '../cli/cli-helpers.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';
import { run } from '../kafka/clients.js';
import { appendRange, byPartition, closedPort, fromKcat, storeRecords } from './helpers.js';
import { kcatRead, useMockCluster } from './mock-cluster.js';

describe('logstore mirror (command)', function () {
  this.timeout(60_000);
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
    const results = [];
    for (const args of cases) results.push(await cli(args)); // one at a time: the machine may be loaded
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
    expect(r.stderr).to.match(/^error: LOGSTORE_INVALID_ARGUMENT: no logstore at /);
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

  it('should exit 1 naming an unreadable --tls-ca or --sasl-password-file (as serve does), creating nothing', async () => {
    const parent = tempDir();
    const dir = path.join(parent, 'new');
    const missing = path.join(parent, 'no-such-file');
    const ca = await cli(['mirror', dir, '--from', '127.0.0.1:1', '--tls-ca', missing]);
    const password = await cli([
      'mirror',
      dir,
      '--from',
      '127.0.0.1:1',
      '--sasl-mechanism',
      'PLAIN',
      '--sasl-username',
      'u',
      '--sasl-password-file',
      missing,
    ]);
    expect(ca.code).to.equal(1);
    expect(ca.stderr).to.match(/^error: LOGSTORE_INVALID_ARGUMENT: --tls-ca \S+no-such-file: ENOENT/);
    expect(password.code).to.equal(1);
    expect(password.stderr).to.match(
      /^error: LOGSTORE_INVALID_ARGUMENT: --sasl-password-file \S+no-such-file: ENOENT/,
    );
    expect(fs.readdirSync(parent)).to.deep.equal([]);
  });
});

describe('logstore mirror (command) on a terminal (librdkafka mock cluster)', function () {
  this.timeout(60_000);
  const mock = useMockCluster(3);

  it('should show where it copies, a progress line (records, rec/s, MB/s, lag) and a summary on a TTY', async function () {
    if (!fs.existsSync('/usr/bin/script')) {
      console.log('      (skipped: util-linux `script` is not installed: no terminal to run the command on)');
      this.skip();
    }
    const dir = tempDir();
    const store = LogStore.open(dir);
    store.createTopic('orders', { partitions: 4 });
    appendRange(store, 'orders', 0, 1200);
    await store.close();
    // `script` runs the command on a pseudo-terminal; SIGINT after 6 s ends the --follow mirror.
    const command = [
      'timeout --preserve-status -s INT 6',
      JSON.stringify(process.execPath),
      JSON.stringify(BIN),
      `mirror ${JSON.stringify(dir)} --to ${mock.bootstrap} --follow`,
    ].join(' ');
    const r = await run('/usr/bin/script', ['-qec', command, '/dev/null'], { timeoutMs: 30_000 });
    expect(r.code, r.stdout).to.equal(0);
    // ESC [ K (erase to the end of the line) written as <EL>; the terminal turns \n into \r\n.
    const screen = r.stdout.replace(/\r\n/g, '\n').replaceAll('\u001b[K', '<EL>');
    const shown = JSON.stringify(screen);
    expect(screen, shown).to.match(/^mirror: store -> \S+: orders \(4\)( created)?\n/m);
    expect(screen, shown).to.match(
      /\rmirror: [\d,]+ records {2}[\d,]+ rec\/s {2}[\d.]+ (B|KiB|MiB)\/s {2}lag 0<EL>/,
    );
    expect(screen, shown).to.match(
      /\r<EL>mirror: 1,200 records \([\d.]+ (B|KiB|MiB)\) copied in [\d.]+ s; lag 0\n/,
    );
    const copied = byPartition((await kcatRead(mock.bootstrap, 'orders')).map(fromKcat));
    expect(copied).to.deep.equal(storeRecords(dir, 'orders'));
  });
});
