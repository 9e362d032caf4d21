/**
 * `logstore groups <dir> [list | describe <g> | reset <g> <topic> --to POS | delete <g>]`.
 *
 * list and describe show `store.groups()` of a read-only store (beside a live writer): every
 * group that committed offsets, per topic, with the partitions' end offsets and lag; `--json`
 * prints those objects as the library returns them. reset and delete go through
 * `store.resetGroup` and `store.deleteGroup`, which need the writer lock.
 */
import type { GroupDescription } from '../index.js';
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
import { openReadOnly, openWriter, requireTopic } from './open.js';
import { colorsFor, renderTable } from './output.js';

const USAGE = `usage: logstore groups <dir> [list] [--json]
       logstore groups <dir> describe <group> [--json]
       logstore groups <dir> reset <group> <topic> --to POS
       logstore groups <dir> delete <group>

list and describe show committed offsets and lag (end offset - committed), beside a live
writer; reset moves a group's committed offsets on a topic, and delete removes them on every
topic (committed offsets do not expire otherwise); both need the writer lock.

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
      if (!group || !topic) throw new UsageError('groups reset needs a group and a topic');
      if (to === undefined) throw new UsageError('groups reset needs --to earliest|latest|<offset>|<time>');
      return reset(dir, group, topic, parseStart('--to', to), json);
    }
    if (action === 'delete') {
      if (!group) throw new UsageError('groups delete needs a group name');
      if (topic !== undefined) throw new UsageError(`unexpected argument '${topic}'`);
      if (json) throw new UsageError('--json applies to list, describe and reset');
      return remove(dir, group);
    }
    throw new UsageError(`unknown action '${action}' (list, describe, reset, delete)`);
  },
};

/** store.groups() of a read-only store, for one group if given. */
async function describeGroups(dir: string, group?: string): Promise<GroupDescription[]> {
  const store = openReadOnly(dir);
  try {
    return store.groups().filter((g) => group === undefined || g.group === group);
  } finally {
    await store.close();
  }
}

async function list(dir: string, json: boolean): Promise<number> {
  const groups = await describeGroups(dir);
  if (json) {
    process.stdout.write(`${JSON.stringify(groups, null, 2)}\n`);
    return 0;
  }
  const names = [...new Set(groups.map((g) => g.group))];
  if (!process.stdout.isTTY) {
    process.stdout.write(names.map((g) => `${g}\n`).join(''));
  } else if (names.length === 0) {
    process.stdout.write(`no consumer groups have committed offsets in ${dir}\n`);
  } else {
    const colors = colorsFor(process.stdout);
    const table = names.map((name) => {
      const mine = groups.filter((g) => g.group === name);
      const partitions = mine.flatMap((g) => g.partitions);
      return [
        colors.cyan(name),
        mine.map((g) => g.topic).join(', '),
        partitions.length,
        partitions.reduce((n, p) => n + p.lag, 0),
        new Date(Math.max(...partitions.map((p) => p.committedAt))).toISOString(),
      ];
    });
    process.stdout.write(renderTable(['GROUP', 'TOPICS', 'PARTITIONS', 'LAG', 'LAST COMMIT'], table, colors));
  }
  return 0;
}

async function describe(dir: string, group: string, json: boolean): Promise<number> {
  const groups = await describeGroups(dir, group);
  if (groups.length === 0) throw new CliError(`group '${group}' has no committed offsets in ${dir}`);
  if (json) {
    process.stdout.write(`${JSON.stringify(groups, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(offsetTable(groups));
  return 0;
}

function offsetTable(groups: GroupDescription[]): string {
  const colors = colorsFor(process.stdout);
  const table = groups.flatMap((g) =>
    g.partitions.map((p) => [
      g.topic,
      p.partition,
      p.offset,
      p.endOffset,
      p.lag,
      new Date(p.committedAt).toISOString(),
    ]),
  );
  return renderTable(['TOPIC', 'PARTITION', 'COMMITTED', 'END', 'LAG', 'COMMITTED AT'], table, colors);
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
    requireTopic(store, dir, topic);
    store.resetGroup(group, topic, to);
  } finally {
    await store.close();
  }
  const groups = (await describeGroups(dir, group)).filter((g) => g.topic === topic);
  if (json) {
    process.stdout.write(`${JSON.stringify(groups, null, 2)}\n`);
    return 0;
  }
  process.stdout.write(`reset group ${group} on ${topic}\n`);
  process.stdout.write(offsetTable(groups));
  return 0;
}

/** store.deleteGroup: says which topics the group had offsets on; a group without any is an error. */
async function remove(dir: string, group: string): Promise<number> {
  const store = openWriter(dir, 'groups delete');
  let topics: string[];
  try {
    topics = store
      .groups()
      .filter((g) => g.group === group)
      .map((g) => g.topic);
    if (!store.deleteGroup(group)) throw new CliError(`group '${group}' has no committed offsets in ${dir}`);
  } finally {
    await store.close();
  }
  process.stdout.write(`deleted group ${group} (its committed offsets on ${topics.join(', ')})\n`);
  return 0;
}
