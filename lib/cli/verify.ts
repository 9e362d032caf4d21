/**
 * `logstore verify <dir>`: checks a store as it is on disk (the inspection API's `verifyStore`:
 * every batch walked with the store's own checks, segment extents, trailing zeros, index files,
 * the catalog's quick_check), beside a live writer or on a damaged store. Exit 0: healthy (torn
 * tails that the next writer open cuts are reported but are not damage); exit 1: damage found.
 * `--repair` cuts each damaged log at its first damage (it takes the writer lock).
 */
import { LogStore } from '../index.js';
import { verifyStore, type Severity, type VerifyResult } from '../inspect/index.js';
import { flag, parse, printHelp, stringOption } from './args.js';
import type { Command } from './main.js';
import { lockedInCliTerms, requireStore } from './open.js';
import { colorsFor, formatBytes, formatCount, Progress } from './output.js';

const USAGE = `usage: logstore verify <dir> [--topic T] [--repair]

Checks every batch of every segment: structure, CRC32C, offset order, that a closed segment
ends where the catalog says and is followed by zeros, and the index files. Runs beside a live
writer. Exit 0: healthy (torn tails that the next writer open cuts are reported but are not
damage); exit 1: damage found, each place named by file and byte position.

options:
  --topic T     only topic T
  --repair      cut each damaged log at its first damage (drops what follows; takes the lock)
  --help, -h    this help
`;

const OPTIONS = {
  topic: { type: 'string' },
  repair: { type: 'boolean' },
} as const;

export const command: Command = {
  usage: USAGE,
  async run(argv) {
    const parsed = parse(argv, OPTIONS, { min: 1, max: 1 });
    if (printHelp(parsed, USAGE)) return 0;
    const dir = requireStore(parsed.positionals[0]!);
    const topic = stringOption(parsed, 'topic');
    const result = await verifyWithProgress(dir, topic);
    process.stdout.write(renderResult(result, colorsFor(process.stdout)));
    const damaged = result.findings.some((f) => f.severity === 'damage');
    if (damaged && flag(parsed, 'repair')) {
      const report = await LogStore.repair(dir).catch((err: unknown) => {
        throw lockedInCliTerms(err, dir, 'verify --repair');
      });
      for (const cut of report.truncated) {
        process.stdout.write(
          `repaired ${cut.file}: cut at position ${cut.position} (${formatBytes(cut.bytesCut)} dropped): ${cut.reason}\n`,
        );
      }
      for (const f of report.files) {
        const where = f.movedTo ? ` to ${f.movedTo}` : '';
        process.stdout.write(`${f.action} ${f.file}${where}: ${f.reason}\n`);
      }
      const after = await verifyStore(dir, { topic });
      process.stdout.write(renderResult(after, colorsFor(process.stdout)));
      return after.findings.some((f) => f.severity === 'damage') ? 1 : 0;
    }
    return damaged ? 1 : 0;
  },
};

export function renderResult(r: VerifyResult, colors = colorsFor(process.stdout)): string {
  const label: Record<Severity, string> = {
    damage: colors.red('DAMAGE   '),
    'torn-tail': colors.yellow('TORN TAIL'),
    note: colors.dim('note     '),
  };
  let text = '';
  for (const f of r.findings) {
    const where = f.position === undefined ? f.file : `${f.file} at position ${f.position}`;
    text += `${label[f.severity]} ${where} [${f.kind}]: ${f.message}\n`;
  }
  const damage = r.findings.filter((f) => f.severity === 'damage').length;
  const torn = r.findings.filter((f) => f.severity === 'torn-tail').length;
  const summary =
    `checked ${r.topics} topic${r.topics === 1 ? '' : 's'}, ${r.partitions} partitions, ${r.segments} segments, ` +
    `${formatCount(r.batches)} batches, ${formatCount(r.records)} records, ${formatBytes(r.bytes)} in ${(r.ms / 1000).toFixed(2)} s`;
  const verdict =
    damage > 0
      ? colors.red(`damage found in ${damage} place${damage === 1 ? '' : 's'}`)
      : colors.green('healthy') +
        (torn > 0 ? ` (the next writer open cuts ${torn} torn tail${torn === 1 ? '' : 's'})` : '');
  return `${text}${summary}: ${verdict}\n`;
}

/** verifyStore with a progress line on a TTY (quiet when piped). */
async function verifyWithProgress(dir: string, topic: string | undefined): Promise<VerifyResult> {
  let progress: Progress | undefined;
  const result = await verifyStore(dir, {
    topic,
    onProgress: (done, total, where) => {
      progress ??= new Progress(total, 'verify', process.stderr);
      progress.update(done, where);
    },
  });
  progress?.done();
  return result;
}
