import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { removeTempDirs, tempDir } from '../helpers/temp.js';
import { cli, killChildren, ROOT } from './cli-helpers.js';

/** Runs the CLI calls a few at a time: thirty Node processes at once would only measure the machine. */
async function inTurns<T>(calls: (() => Promise<T>)[], width = 4): Promise<T[]> {
  const results: T[] = new Array(calls.length);
  let next = 0;
  const worker = async () => {
    while (next < calls.length) {
      const i = next++;
      results[i] = await calls[i]!();
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return results;
}

describe('logstore usage', function () {
  this.timeout(120_000);
  afterEach(killChildren);
  after(removeTempDirs);

  it('should print the usage and exit 2 on wrong usage of every command', async () => {
    const dir = tempDir();
    const cases: [string[], string][] = [
      [[], 'usage: logstore <command>'],
      [['frobnicate'], 'usage: logstore <command>'],
      [['tail'], 'usage: logstore tail'],
      [['tail', dir, 't', '--bogus'], 'usage: logstore tail'],
      [['tail', dir, 't', '--format', 'xml'], 'usage: logstore tail'],
      [['tail', dir, 't', '--max', 'ten'], 'usage: logstore tail'],
      [['tail', dir, 't', '--from', 'yesterday'], 'usage: logstore tail'],
      [['tail', dir, 't', '--group', 'g', '--partition', '1'], 'usage: logstore tail'],
      [['produce', dir], 'usage: logstore produce'],
      [['produce', dir, 't', '--batch', '0'], 'usage: logstore produce'],
      [['produce', dir, 't', '--json', '--key', 'k'], 'usage: logstore produce'],
      [['produce', dir, 't', '--header', 'novalue'], 'usage: logstore produce'],
      [['topics'], 'usage: logstore topics'],
      [['topics', dir, 'frobnicate'], 'usage: logstore topics'],
      [['topics', dir, 'create'], 'usage: logstore topics'],
      [['topics', dir, 'create', 't', '--partitions', 'many'], 'usage: logstore topics'],
      [['topics', dir, 'create', 't', '--retention-ms', 'soon'], 'usage: logstore topics'],
      [['topics', dir, 'describe', 't', '--partitions', '2'], 'usage: logstore topics'],
      [['topics', dir, 'alter', 't'], 'usage: logstore topics'],
      [['groups'], 'usage: logstore groups'],
      [['groups', dir, 'reset', 'g'], 'usage: logstore groups'],
      [['groups', dir, 'reset', 'g', 't'], 'usage: logstore groups'],
      [['groups', dir, 'list', '--to', 'earliest'], 'usage: logstore groups'],
      [['groups', dir, 'delete'], 'usage: logstore groups'],
      [['groups', dir, 'delete', ''], 'usage: logstore groups'],
      [['groups', dir, 'reset', '', 't', '--to', 'earliest'], 'usage: logstore groups'],
      [['groups', dir, 'delete', 'g', 't'], 'usage: logstore groups'],
      [['groups', dir, 'delete', 'g', '--json'], 'usage: logstore groups'],
      [['verify'], 'usage: logstore verify'],
      [['verify', dir, '--bogus'], 'usage: logstore verify'],
      [['dump', dir], 'usage: logstore dump'],
      [['dump', dir, 't', '--partition', '-1'], 'usage: logstore dump'],
      [['demo', 'extra'], 'usage: logstore demo'],
    ];
    if (fs.existsSync(path.join(ROOT, 'dist', 'bench', 'run.js')))
      cases.push([['bench', '--bogus'], 'usage: logstore bench']);
    const results = await inTurns(
      cases.map(
        ([args]) =>
          () =>
            cli(args),
      ),
    );
    results.forEach((r, i) => {
      const [args, usage] = cases[i]!;
      expect(r.code, `logstore ${args.join(' ')}: ${r.stderr}`).to.equal(2);
      expect(r.stderr, `logstore ${args.join(' ')}`).to.include(usage);
      expect(r.stdout, `logstore ${args.join(' ')}`).to.equal('');
    });
    expect(fs.readdirSync(dir)).to.deep.equal([]); // nothing was created
  });

  it('should print --help of every command on stdout and exit 0', async () => {
    const commands = ['tail', 'produce', 'topics', 'groups', 'verify', 'dump', 'demo', 'bench'];
    const results = await inTurns([() => cli(['--help']), ...commands.map((c) => () => cli([c, '--help']))]);
    expect(results[0]!.code).to.equal(0);
    for (const c of commands) expect(results[0]!.stdout).to.include(`  ${c} `);
    results.slice(1).forEach((r, i) => {
      expect(r.code, commands[i]).to.equal(0);
      expect(r.stdout, commands[i]).to.include(`usage: logstore ${commands[i]}`);
    });
  });

  it('should print the version', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await cli(['--version']);
    expect(r.stdout).to.equal(`${pkg.version}\n`);
  });

  it('should refuse a directory that holds no store without creating one (exit 1)', async () => {
    const dir = tempDir();
    const results = await Promise.all([
      cli(['tail', dir, 't']),
      cli(['verify', dir]),
      cli(['topics', dir]),
      cli(['groups', dir]),
    ]);
    for (const r of results) {
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/^error: (LOGSTORE_INVALID_ARGUMENT: )?no logstore at /i);
    }
    expect(fs.readdirSync(dir)).to.deep.equal([]);
  });
});
