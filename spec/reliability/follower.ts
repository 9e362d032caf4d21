/**
 * Follower under churn (issue 7, item 7). A writer child appends to `t` (2 partitions, small
 * segments, retentionBytes: segments roll and are deleted all the time) and to a compacted `c`
 * (compacted in a loop: segments rewritten and swapped), while a read-only follower in another
 * child (follower-child.ts) follows all three partitions with `for await`. With `tail`, the CLI
 * (`logstore tail --follow --format json`) follows `c` as well; a CLI that cannot run counts as
 * a crash of it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FollowerReport } from './follower-child.js';
import { exitWithin, spawnNode, SCRIPTS } from './proc.js';
import { formatEnds, prng, recordProblem } from './records.js';
import { startWriter } from './writer.js';

export interface FollowerFigures {
  runs: number;
  recordsWritten: number;
  recordsRead: number;
  /** Followers that threw something other than a LogStoreError, died, or did not report. */
  crashes: number;
  garbage: number;
  duplicates: number;
  missed: number;
  /** Times retention deleted a follower's position (it then went on from 'earliest'). */
  resets: number;
  /** LogStoreErrors other than OFFSET_OUT_OF_RANGE seen by a follower. */
  errors: number;
  /** Partitions whose follower did not reach the writer's end before its deadline. */
  behind: number;
  /** `logstore tail --follow` beside the follower (null when not asked for). */
  tail: { runs: number; records: number; garbage: number; outOfOrder: number; crashes: number } | null;
  failures: string[];
}

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/logstore.js');

export async function runFollower(options: {
  iterations: number;
  root: string;
  seed?: number;
  records?: number;
  tail?: boolean;
}): Promise<FollowerFigures> {
  const f: FollowerFigures = {
    runs: 0,
    recordsWritten: 0,
    recordsRead: 0,
    crashes: 0,
    garbage: 0,
    duplicates: 0,
    missed: 0,
    resets: 0,
    errors: 0,
    behind: 0,
    tail: options.tail ? { runs: 0, records: 0, garbage: 0, outOfOrder: 0, crashes: 0 } : null,
    failures: [],
  };
  const fail = (what: string) => f.failures.length < 20 && f.failures.push(what);
  const rand = prng(options.seed ?? 1);
  for (let i = 0; i < options.iterations; i++) {
    const dir = path.join(options.root, `follow-${i}`);
    const seed = Math.floor(rand() * 2 ** 31);
    const writer = startWriter({
      dir,
      durability: 'none',
      segmentBytes: 16384,
      topics: [
        { name: 't', partitions: 2, weight: 3, retentionBytes: 65536 },
        { name: 'c', partitions: 1, weight: 1, segmentBytes: 8192 },
      ],
      work: {
        kind: 'random',
        seed,
        weights: { append: 100, compact: 3, retention: 2, flush: 1, yield: 5, sleep: 4 },
        maxBatch: 8,
        maxRecords: options.records ?? 20_000,
      },
      end: 'close',
    });
    const { ledger } = writer;
    await writer.until('ack');
    let report: FollowerReport | null = null;
    const follower = spawnNode(
      SCRIPTS.follower,
      [JSON.stringify({ dir, partitions: ['t:0', 't:1', 'c:0'], deadlineMs: 60_000 })],
      { onLine: (line) => (report = JSON.parse(line) as FollowerReport) },
    );
    let tailLines: string[] = [];
    const tail = f.tail
      ? spawnNode(CLI, ['tail', dir, 'c', '--follow', '--from', 'earliest', '--format', 'json'], {
          onLine: (line) => tailLines.push(line),
        })
      : null;
    const wexit = await writer.exit(120_000);
    f.runs++;
    if (wexit.code !== 0)
      fail(
        `run ${i} (seed ${seed}): writer exited with ${wexit.code ?? wexit.signal}: ${wexit.stderr.slice(0, 300)}`,
      );
    f.recordsWritten += ledger.recordsAcked;
    follower.send(`end ${formatEnds(ledger.acked)}`);
    const fexit = await exitWithin(follower, 90_000);
    const rep = report as FollowerReport | null;
    if (!rep || rep.crash || fexit.code !== 0) {
      f.crashes++;
      fail(
        `run ${i} (seed ${seed}): follower ${rep?.crash ?? `exited with ${fexit.code ?? fexit.signal}: ${fexit.stderr.slice(0, 3000)}`}`,
      );
    }
    for (const [key, p] of Object.entries(rep?.partitions ?? {})) {
      f.recordsRead += p.read;
      f.garbage += p.garbage;
      f.duplicates += p.duplicates;
      f.missed += p.missed;
      f.resets += p.resets;
      f.errors += p.errors.length;
      if (!p.reachedEnd) f.behind++;
      if (p.garbage || p.duplicates || p.missed || p.errors.length || !p.reachedEnd) {
        fail(`run ${i} (seed ${seed}) ${key}: ${JSON.stringify(p).slice(0, 400)}`);
      }
    }
    if (tail && f.tail) {
      // Give tail its 50 ms to show the last records, then stop it as a user would.
      await new Promise((resolve) => setTimeout(resolve, 300));
      tail.kill('SIGINT');
      const texit = await exitWithin(tail, 10_000);
      f.tail.runs++;
      if (texit.code !== 0) {
        f.tail.crashes++;
        fail(`run ${i}: tail exited with ${texit.code ?? texit.signal}: ${texit.stderr.slice(0, 300)}`);
      }
      let last = -1;
      for (const line of tailLines) {
        let rec: {
          topic: string;
          partition: number;
          offset: number;
          timestamp: number;
          key: unknown;
          value: unknown;
        };
        try {
          rec = JSON.parse(line);
        } catch {
          f.tail.garbage++;
          continue;
        }
        f.tail.records++;
        if (rec.offset <= last) f.tail.outOfOrder++;
        last = rec.offset;
        const asBuffer = (v: unknown): Buffer | null =>
          v === null
            ? null
            : typeof v === 'string'
              ? Buffer.from(v, 'utf8')
              : Buffer.from((v as { base64: string }).base64, 'base64');
        const problem = recordProblem(
          {
            topic: rec.topic,
            partition: rec.partition,
            offset: rec.offset,
            timestamp: rec.timestamp,
            key: asBuffer(rec.key),
            value: asBuffer(rec.value),
            headers: Object.fromEntries(
              Object.entries((rec as { headers?: Record<string, unknown> }).headers ?? {}).map(([k, v]) => [
                k,
                asBuffer(v)!,
              ]),
            ),
          },
          'c',
          0,
        );
        if (problem) {
          f.tail.garbage++;
          if (f.tail.garbage < 3) fail(`run ${i}: tail printed ${problem}`);
        }
      }
      tailLines = [];
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return f;
}
