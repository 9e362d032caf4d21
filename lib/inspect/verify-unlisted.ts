/**
 * `verify`'s findings about files the catalog does not list, named by what the next writer open
 * does with each: segment files of a listed partition (storage/unlisted-files.ts decides, as the
 * open does, which continue the log and are adopted, which are leftovers and which are set aside),
 * partition directories of topics the catalog lost or is deleting, and what earlier opens set
 * aside in quarantine/.
 */
import fs from 'node:fs';
import type { TopicRow } from '../catalog/catalog.js';
import { parsePartitionDirName, quarantinePath, segmentPath } from '../storage/layout.js';
import { surveySegment, unadoptedFate, type DirListing } from '../storage/unlisted-files.js';
import type { Finding } from './finding.js';
import type { SegmentRow, StoreFiles } from './store-files.js';

/**
 * The segment files of a partition that the catalog does not list, as the next writer open will
 * treat them (storage/unlisted-files.ts): those continuing the log from `end` (the walked end of
 * the listed segments) are adopted; leftovers removed; the rest set aside in quarantine/.
 */
export function unlistedFindings(
  files: StoreFiles,
  topic: TopicRow,
  partition: number,
  rows: readonly SegmentRow[],
  listing: DirListing,
  end: number | null,
  prow: { logStartOffset: number },
): Finding[] {
  const findings: Finding[] = [];
  const dir = files.partition(topic.name, partition).dir;
  const gaps = topic.config.cleanupPolicy === 'compact';
  const listed = new Set(rows.map((r) => r.baseOffset));
  const last = rows[rows.length - 1]!.baseOffset;
  const unlisted = [...listing.logs].filter((b) => !listed.has(b)).sort((a, b) => a - b);
  let next = end;
  let adopting = true;
  for (const [k, base] of unlisted.entries()) {
    const file = segmentPath(dir, base, 'log');
    let survey;
    try {
      const following = unlisted[k + 1] ?? Number.POSITIVE_INFINITY;
      survey = surveySegment(dir, base, gaps && following !== Number.POSITIVE_INFINITY, following);
    } catch {
      continue; // gone meanwhile (a live writer's leftover removed, or a roll's file recorded)
    }
    const isLast = k === unlisted.length - 1;
    const continues =
      adopting &&
      base > last &&
      next !== null &&
      (gaps ? base >= next : base === next) &&
      survey.firstOffset >= 0 &&
      (isLast || survey.whole);
    if (continues) {
      findings.push({
        severity: 'damage',
        file,
        kind: 'segments-behind',
        message:
          `the catalog does not list this segment, whose batches continue the log (offsets ${survey.firstOffset} ` +
          `to ${survey.nextOffset - 1}): its commit was lost; the next writer open adopts it`,
      });
      next = survey.nextOffset;
      continue;
    }
    if (base > last) adopting = false;
    const fate = unadoptedFate(survey, prow.logStartOffset);
    findings.push(
      fate.action === 'removed'
        ? {
            severity: 'note',
            file,
            kind: 'stray',
            message: `${fate.reason}; the next writer open removes it`,
          }
        : {
            severity: 'damage',
            file,
            kind: 'unlisted-segment',
            message:
              `the catalog does not list this segment: ${fate.reason}` +
              (survey.firstOffset >= 0
                ? ` (it holds offsets ${survey.firstOffset} to ${survey.nextOffset - 1})`
                : '') +
              '; the next writer open moves it to quarantine/',
          },
    );
  }
  for (const base of listing.cleaned) {
    findings.push({
      severity: 'note',
      file: segmentPath(dir, base, 'cleaned'),
      kind: 'stray',
      message: "a compaction's rewrite not swapped in; the next writer open finishes or removes it",
    });
  }
  return findings;
}

/**
 * Partition directories the catalog does not list (what the next writer open does with each, see
 * topics.ts), and what earlier opens set aside in the quarantine folder.
 */
export function strayFiles(dir: string, topics: TopicRow[], deleting: string[]): Finding[] {
  const findings: Finding[] = [];
  const known = new Set<string>();
  for (const t of topics) for (let p = 0; p < t.partitions; p++) known.add(`${t.name}-${p}`);
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return findings;
  }
  for (const entry of entries) {
    const parsed = entry.isDirectory() ? parsePartitionDirName(entry.name) : null;
    if (!parsed || known.has(entry.name)) continue;
    const file = `${dir}/${entry.name}`;
    if (deleting.includes(parsed.topic)) {
      findings.push({
        severity: 'note',
        file,
        kind: 'stray',
        message: 'a directory of a topic being deleted; the next writer open removes it',
      });
    } else if (!dirHoldsData(file)) {
      findings.push({
        severity: 'note',
        file,
        kind: 'stray',
        message:
          'a partition directory the catalog does not list, holding no data; the next writer open removes it',
      });
    } else {
      findings.push({
        severity: 'damage',
        file,
        kind: 'topic-lost',
        message:
          'a partition directory holding records, of a topic or partition the catalog does not list: the catalog ' +
          'lost it (it is older than the files, or damaged). A writer open refuses the store; restore catalog.sqlite ' +
          'from a backup, or `logstore verify --repair` moves the directory to quarantine/',
      });
    }
  }
  // quarantine/<open time>/<topic>-<partition>/<files>: one note per set-aside directory.
  const quarantine = quarantinePath(dir);
  for (const stamp of listDir(quarantine)) {
    for (const name of listDir(`${quarantine}/${stamp}`)) {
      const logs = listDir(`${quarantine}/${stamp}/${name}`).filter((f) => f.endsWith('.log'));
      findings.push({
        severity: 'note',
        file: `${quarantine}/${stamp}/${name}`,
        kind: 'quarantined',
        message: `${logs.length} segment file${logs.length === 1 ? '' : 's'} set aside by an open (${stamp}); the store does not read them`,
      });
    }
  }
  return findings;
}

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** Whether any segment file in `dir` has a non-zero byte (or the directory holds other files). */
function dirHoldsData(dir: string): boolean {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const name = entry.name;
    if (!entry.isFile()) return true;
    if (name.endsWith('.index') || name.endsWith('.timeindex')) continue;
    if (!name.endsWith('.log') && !name.endsWith('.cleaned')) return true;
    const bytes = fs.readFileSync(`${dir}/${name}`);
    if (bytes.some((b) => b !== 0)) return true;
  }
  return false;
}
