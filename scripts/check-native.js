#!/usr/bin/env node
// postinstall: checks that the three native modules logstore loads (its own addon, better-sqlite3,
// fs-ext) load in the Node that ran the install, and repairs the one known cause of failure.
//
// node-gyp compiles against `nodedir` whenever npm's configuration sets one, whichever Node runs
// it (only without it does node-gyp take the headers of the running Node, from process.release).
// A distribution's npm often sets nodedir to the system Node's headers; installing with another
// Node (nvm, a tarball, the node-<os>-<arch> npm packages) then builds better-sqlite3 and fs-ext
// for the wrong ABI, and they fail to load later ("compiled against a different Node.js version
// using NODE_MODULE_VERSION 115"). logstore's own addon uses Node-API and loads either way.
//
// When a module fails to load, was built against headers of another Node version, and this
// Node's headers sit beside its binary (bin/node + include/node, as in the official builds),
// the module is rebuilt against them. Otherwise the install fails here, saying what to run,
// rather than at the first LogStore.open().
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const running = process.versions.node;

/** The Node version whose headers are in `dir` (include/node/node_version.h), or undefined. */
function headersVersion(dir) {
  const file = path.join(dir, 'include', 'node', 'node_version.h');
  if (!dir || !existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8');
  const part = (name) => new RegExp(`#define NODE_${name}_VERSION (\\d+)`).exec(text)?.[1];
  return `${part('MAJOR')}.${part('MINOR')}.${part('PATCH')}`;
}

/** The nodedir a package's last node-gyp configure used (from build/config.gypi), or undefined. */
function builtAgainst(packageDir) {
  const file = path.join(packageDir, 'build', 'config.gypi');
  if (!existsSync(file)) return undefined;
  return /"nodedir": "([^"]*)"/.exec(readFileSync(file, 'utf8'))?.[1];
}

/** The folder of an installed package (walking up from its main file to its package.json). */
function packageDir(name) {
  let dir = path.dirname(require.resolve(name));
  while (!existsSync(path.join(dir, 'package.json')) || path.basename(dir) !== name) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`logstore: cannot find the folder of ${name}`);
    dir = parent;
  }
  return dir;
}

/** Loads a module in a child process (a bad binary may crash rather than throw); '' when it works. */
function probe(code) {
  const wrapped = `try { ${code} } catch (e) { process.stderr.write(String(e?.message ?? e)); process.exit(1) }`;
  const child = spawnSync(process.execPath, ['-e', wrapped], { cwd: root, encoding: 'utf8' });
  if (child.status === 0) return '';
  if (child.signal) return `the process died of ${child.signal} while loading it`;
  return child.stderr.replace(/\s+/g, ' ').trim() || `exit ${child.status}`;
}

const modules = [
  {
    name: 'logstore_native (build/Release)',
    code: `require(${JSON.stringify(path.join(root, 'build', 'Release', 'logstore_native.node'))})`,
  },
  {
    name: 'better-sqlite3',
    code: "new (require('better-sqlite3'))(':memory:').close()",
    dir: () => packageDir('better-sqlite3'),
    rebuild: ['rebuild', '--release'],
  },
  { name: 'fs-ext', code: "require('fs-ext')", dir: () => packageDir('fs-ext'), rebuild: ['rebuild'] },
];

// The official layout: <prefix>/bin/node beside <prefix>/include/node.
const ownHeaders = path.resolve(path.dirname(process.execPath), '..');
const ownHeadersFit = headersVersion(ownHeaders) === running;
const nodeGyp = process.env.npm_config_node_gyp ?? tryResolve('node-gyp/bin/node-gyp.js');

function tryResolve(name) {
  try {
    return require.resolve(name);
  } catch {
    return undefined;
  }
}

const failures = [];
for (const mod of modules) {
  let error = probe(mod.code);
  if (!error) continue;
  const dir = mod.dir?.();
  const usedDir = dir && builtAgainst(dir);
  const usedVersion = usedDir && headersVersion(usedDir);
  const wrongHeaders = usedVersion !== undefined && usedVersion !== running;
  if (wrongHeaders && ownHeadersFit && nodeGyp && mod.rebuild) {
    process.stderr.write(
      `logstore: ${mod.name} was built against Node ${usedVersion}'s headers (nodedir=${usedDir}) ` +
        `but runs on Node ${running}: rebuilding it against ${ownHeaders}\n`,
    );
    const args = [nodeGyp, ...mod.rebuild, `--nodedir=${ownHeaders}`];
    const build = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8' });
    if (build.status !== 0) process.stderr.write(build.stderr.split('\n').slice(-30).join('\n'));
    error = build.status === 0 ? probe(mod.code) : `the rebuild failed (node-gyp exit ${build.status})`;
    if (!error) continue;
  }
  const why = wrongHeaders ? ` It was built against Node ${usedVersion}'s headers (nodedir=${usedDir}).` : '';
  failures.push(`- ${mod.name}: ${error}${why}`);
}

if (failures.length > 0) {
  process.stderr.write(
    `logstore: native modules do not load in Node ${running} (${process.execPath}):\n${failures.join('\n')}\n` +
      `If npm's configuration sets nodedir (npm config get nodedir), point it at this Node's headers, ` +
      `a folder holding include/node/node_version.h for ${running}, or remove it so node-gyp takes the ` +
      `headers of the running Node, then rebuild: npm_config_nodedir=<folder> npm rebuild\n`,
  );
  process.exit(1);
}
