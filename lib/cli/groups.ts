/**
 * `logstore groups <dir> [list | describe <g> | reset <g> <topic> --to POS]`.
 *
 * list and describe read the committed offsets straight from the catalog (read-only, beside a
 * live writer) and the partitions' end offsets from a read-only store, so they show every group
 * that ever committed, with its lag. reset goes through `store.resetGroup`, which needs the
 * writer lock.
 */
import path from 'node:path';
import { Catalog, type CommittedOffset } from '../catalog/catalog.js';
import type { LogStore } from '../store.js';
import { LogStoreError } from '../errors.js';
import {
  CliError,
  flag,
  parse,
  parseStart,
  printHelp,
  stringOption,
  UsageError,
  type StartArg,
} from './args.js';
import type { Command } from './main.js';
import { CATALOG_FILE, openReadOnly, openWriter, requireStore } from './open.js';
import { colorsFor, renderTable } from './output.js';

const USAGE = `usage: logstore groups <dir> [list] [--json]
       logstore groups <dir> describe <group> [--json]
       logstore groups <dir> reset <group> <topic> --to POS

list and describe show committed offsets and lag (end offset - committed), beside a live
writer; reset moves a group's committed offsets on a topic and needs the writer lock.

options:
  --to POS      reset to earliest | latest | <offset> | <ISO-8601 time>
  --json        print JSON instead of a table
  --help, -h    this help
`;

const OPTIONS = {
  json: { type: 'boolean' },
  to: { type: 'string' },
} as const;

export const command: Command = {
  usage: USAGE,
  async run(argv) {
    const parsed = parse(argv, OPTIONS, { min: 1, max: 4 });
    if (printHelp(parsed, USAGE)) return 0;
    const [dir, action = 'list', group, topic] = parsed.positionals as [string, string?, string?, string?];
    const json = flag(parsed, 'json');
    const to = stringOption(parsed, 'to');
    if (action !== 'reset' && to !== undefined) throw new UsageError(`--to applies to groups reset only`);
    if (action === 'list') {
      if (group !== undefined) throw new UsageError(`unexpected argument '${group}'`);
      return list(dir, json);
    }
    if (action === 'describe') {
      if (group === undefined) throw new UsageError('groups describe needs a group name');
      if (topic !== undefined) throw new UsageError(`unexpected argument '${topic}'`);
      return describe(dir, group, json);
    }
    if (action === 'reset') {
      if (group === undefined || topic === undefined)
        throw new UsageError('groups reset needs a group and a topic');
      if (to === undefined) throw new UsageError('groups reset needs --to earliest|latest|<offset>|<time>');
      return reset(dir, group, topic, parseStart('--to', to), json);
    }
    throw new UsageError(`unknown action '${action}' (list, describe, reset)`);
  },
};

interface GroupOffset extends CommittedOffset {
  /** The partition's end offset now, or null if the topic is gone. */
  endOffset: number | null;
  lag: number | null;
}

/** Every committed offset (of `group`, if given), with the partitions' end offsets. */
async function committed(dir: string, group?: string): Promise<GroupOffset[]> {
  const absolute = requireStore(dir);
  const catalog = Catalog.open(path.join(absolute, CATALOG_FILE), true);
  let rows: CommittedOffset[];
  try {
    rows = catalog.allCommittedOffsets().filter((r) => group === undefined || r.group === group);
  } finally {
    catalog.close();
  }
  const store = openReadOnly(dir);
  try {
    const ends = new Map<string, number[] | null>();
    for (const r of rows) {
      if (!ends.has(r.topic)) ends.set(r.topic, endOffsets(store, r.topic));
    }
    return rows.map((r) => {
      const end = ends.get(r.topic)?.[r.partition] ?? null;
      return { ...r, endOffset: end, lag: end === null ? null : Math.max(0, end - r.offset) };
    });
  } finally {
    await store.close();
  }
}

function endOffsets(store: LogStore, topic: string): number[] | null {
  try {
    return store.describeTopic(topic).partitionDetails.map((d) => d.endOffset);
  } catch (err) {
    if (err instanceof LogStoreError && err.code === 'LOGSTORE_TOPIC_NOT_FOUND') return null;
    throw err;
  }
}

async function list(dir: string, json: boolean): Promise<number> {
  const rows = await committed(dir);
  const groups = new Map<string, GroupOffset[]>();
  for (const r of rows) {
    let g = groups.get(r.group);
    if (!g) groups.set(r.group, (g = []));
    g.push(r);
  }
  const summary = [...groups].map(([name, offsets]) => ({
    group: name,
    topics: [...new Set(offsets.map((o) => o.topic))],
    partitions: offsets.length,
    lag: offsets.reduce((n, o) => n + (o.lag ?? 0), 0),
    lastCommit: Math.max(...offsets.map((o) => o.committedAt)),
  }));
  if (json) {
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } else if (!process.stdout.isTTY) {
    process.stdout.write(summary.map((g) => `${g.group}\n`).join(''));
  } else if (summary.length === 0) {
    process.stdout.write(`no consumer groups have committed offsets in ${dir}\n`);
  } else {
    const colors = colorsFor(process.stdout);
    const table = summary.map((g) => [
      colors.cyan(g.group),
      g.topics.join(', '),
      g.partitions,
      g.lag,
      new Date(g.lastCommit).toISOString(),
    ]);
    process.stdout.write(renderTable(['GROUP', 'TOPICS', 'PARTITIONS', 'LAG', 'LAST COMMIT'], table, colors));
  }
  return 0;
}

async function describe(dir: string, group: string, json: boolean): Promise<number> {
  const rows = await committed(dir, group);
  if (rows.length === 0) throw new CliError(`group '${group}' has no committed offsets in ${dir}`);
  if (json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  const colors = colorsFor(process.stdout);
  const table = rows.map((r) => [
    r.topic,
    r.partition,
    r.offset,
    r.endOffset === null ? '(deleted)' : r.endOffset,
    r.lag === null ? '-' : r.lag,
    new Date(r.committedAt).toISOString(),
  ]);
  process.stdout.write(
    renderTable(['TOPIC', 'PARTITION', 'COMMITTED', 'END', 'LAG', 'COMMITTED AT'], table, colors),
  );
  return 0;
}

async function reset(
  dir: string,
  group: string,
  topic: string,
  to: StartArg,
  json: boolean,
): Promise<number> {
  const store = openWriter(dir, 'groups reset');
  try {
    store.resetGroup(group, topic, to);
  } finally {
    await store.close();
  }
  const rows = (await committed(dir, group)).filter((r) => r.topic === topic);
  if (json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  const colors = colorsFor(process.stdout);
  process.stdout.write(`reset group ${group} on ${topic}\n`);
  if (rows.length > 0) {
    const table = rows.map((r) => [r.partition, r.offset, r.endOffset ?? '-', r.lag ?? '-']);
    process.stdout.write(renderTable(['PARTITION', 'COMMITTED', 'END', 'LAG'], table, colors));
  }
  return 0;
}
