/**
 * Partition directories the catalog does not list, as a writer's open finds them, and the marker
 * that lets it tell what each one is.
 *
 * A topic's files are created before its catalog rows, and its rows are deleted before its files,
 * in the transaction that records the deletion in the catalog's `meta` (`deleting_topics`, kept
 * here). Either way a crash leaves only directories the catalog does not list: those holding no
 * data (a creation cut short) and those of a topic being deleted are removed. Any other holds
 * records of a topic the catalog lost (a catalog gone back in time): the open refuses the store,
 * and a repair moves it to the quarantine folder; never deleted.
 */
import fs from 'node:fs';
import type { Catalog, TopicRow } from './catalog/catalog.js';
import { LogStoreError } from './errors.js';
import { fsyncDir, parsePartitionDirName, parseSegmentFileName } from './storage/layout.js';
import type { OpenReport } from './storage/open-report.js';
import type { Quarantine } from './storage/quarantine.js';

/**
 * The meaning of the index files this logstore writes: 2 is Kafka's (an offset entry names a
 * batch's last offset); format 1 named its base offset. Older files are removed at a writer open.
 */
const INDEX_FORMAT = '2';

/** Catalog `meta` key: a JSON list of the topics whose deletion has not removed all their files yet. */
const DELETING_TOPICS = 'deleting_topics';

/**
 * Partition directories the catalog does not list: removed when they are a topic deletion's
 * (recorded in `meta`) or hold no data (a creation cut short). Any other holds records of a
 * topic the catalog lost: the open is refused (LOGSTORE_CORRUPT naming them) unless it is a
 * repair, which moves them to the quarantine folder and reports them (`topic-lost`). Also
 * removes index files of an older meaning (a cache, rebuilt on first use).
 */
export function settleDirectories(
  dir: string,
  catalog: Catalog,
  rows: TopicRow[],
  report: OpenReport,
  quarantine: Quarantine,
  repair: boolean,
): void {
  const oldIndexes = catalog.getMeta('index_format') !== INDEX_FORMAT;
  const known = new Set<string>();
  for (const row of rows) for (let p = 0; p < row.partitions; p++) known.add(`${row.name}-${p}`);
  const deleting = new Set(deletingTopics(catalog));
  // In directory order; `reason` null: records of a topic the catalog lost.
  const unknown: { full: string; topic: string; partition: number; reason: string | null }[] = [];
  const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    const parsed = entry.isDirectory() ? parsePartitionDirName(entry.name) : null;
    if (!parsed) continue;
    const full = `${dir}/${entry.name}`;
    if (known.has(entry.name)) {
      if (!oldIndexes) continue;
      for (const file of fs.readdirSync(full)) {
        const kind = parseSegmentFileName(file)?.kind;
        if (kind === 'index' || kind === 'timeindex') fs.rmSync(`${full}/${file}`, { force: true });
      }
      continue;
    }
    const reason = deleting.has(parsed.topic)
      ? 'a deletion of its topic in progress'
      : holdsNoData(full)
        ? 'holds no data (a topic creation before its catalog rows)'
        : null;
    unknown.push({ full, ...parsed, reason });
  }
  const lost = unknown.filter((u) => u.reason === null);
  // Decided before anything is touched: a refused open leaves every file as it was.
  if (lost.length > 0 && !repair) {
    throw new LogStoreError(
      'LOGSTORE_CORRUPT',
      `The catalog does not list ${lost.map((l) => `${l.topic}-${l.partition}`).join(', ')}, but ` +
        `${lost.length === 1 ? 'its directory holds' : 'their directories hold'} records: the catalog lost ` +
        `${lost.length === 1 ? 'that topic' : 'those topics'} (it is older than the files, or damaged). ` +
        'Restore catalog.sqlite from a backup, or run `logstore verify --repair` to move the directories ' +
        'to quarantine/ and open without them.',
      { details: { file: lost[0]!.full, kind: 'topic-lost' } },
    );
  }
  for (const { full, topic, partition, reason } of unknown) {
    if (reason !== null) {
      fs.rmSync(full, { recursive: true, force: true });
      report.files.push({ action: 'removed', file: full, topic, partition, reason });
      continue;
    }
    const movedTo = quarantine.move(full, '');
    report.files.push({
      action: 'quarantined',
      file: full,
      movedTo,
      topic,
      partition,
      reason: 'a partition directory holding records, of a topic or partition the catalog does not list',
    });
    report.catalog.push({
      code: 'topic-lost',
      topic,
      partition,
      file: full,
      message:
        `the catalog does not list ${topic}-${partition}, but its directory holds records: the catalog lost ` +
        `the topic (or this partition); the directory is set aside in ${movedTo}`,
    });
  }
  fsyncDir(dir);
  if (deleting.size > 0) catalog.setMeta(DELETING_TOPICS, '[]');
  if (oldIndexes) catalog.setMeta('index_format', INDEX_FORMAT);
}

/** Records that `name`'s files are being deleted (in the transaction that deletes its rows). */
export function markDeleting(catalog: Catalog, name: string): void {
  catalog.setMeta(DELETING_TOPICS, JSON.stringify([...deletingTopics(catalog), name]));
}

/** `name`'s files are gone. */
export function unmarkDeleting(catalog: Catalog, name: string): void {
  catalog.setMeta(DELETING_TOPICS, JSON.stringify(deletingTopics(catalog).filter((n) => n !== name)));
}

function deletingTopics(catalog: Catalog): string[] {
  const value = catalog.getMeta(DELETING_TOPICS);
  if (!value) return [];
  try {
    const names: unknown = JSON.parse(value);
    return Array.isArray(names) ? names.filter((n): n is string => typeof n === 'string') : [];
  } catch {
    return []; // a damaged marker: the directories it named are quarantined instead of removed
  }
}

/** Whether a directory holds nothing but segment and index files with no non-zero byte in them. */
function holdsNoData(dir: string): boolean {
  const chunk = Buffer.alloc(1 << 16);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const kind = entry.isFile() ? parseSegmentFileName(entry.name)?.kind : undefined;
    if (!kind) return false;
    if (kind === 'index' || kind === 'timeindex') continue;
    const fd = fs.openSync(`${dir}/${entry.name}`, 'r');
    try {
      for (let position = 0; ; position += chunk.length) {
        const n = fs.readSync(fd, chunk, 0, chunk.length, position);
        if (n === 0) break;
        for (let i = 0; i < n; i++) if (chunk[i] !== 0) return false;
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  return true;
}
