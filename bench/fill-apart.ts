/**
 * Fills a read case's data in another process, forked from this file. The reads are what a read
 * case times; filling in the measuring process would leave it the fill's garbage, and V8 then
 * collects that (a marking cycle, promoted pages) during the timed reads: a store filled
 * in-process read 5-20x slower on a loaded 2-core machine than the same store filled apart,
 * while the plain-file peer, whose fill allocates little, hardly changed. Both logstore and the
 * fs-framing ceiling fill this way, so they start from the same clean heap.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type FillKind = 'logstore' | 'frames';

/** Forks this file to write `records` 100-byte values into `dir`; resolves when it is done. */
export function fillApart(kind: FillKind, dir: string, records: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [kind, dir, String(records)], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`fill of ${dir} exited with code ${code}`)),
    );
  });
}

async function fill(kind: FillKind, dir: string, records: number): Promise<void> {
  if (kind === 'logstore') {
    const { fillStore } = await import('./logstore.js');
    await fillStore(dir, records);
    return;
  }
  const { FrameWriter } = await import('./peers/fs-framing.js');
  const { recordBatches, valuePool } = await import('./values.js');
  const batches = recordBatches(valuePool(), 1000).map((b) => b.map((r) => r.value));
  const w = new FrameWriter(dir);
  for (let i = 0; i * 1000 < records; i++) w.appendBatch(batches[i % batches.length]!);
  w.close();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [kind, dir, records] = process.argv.slice(2);
  await fill(kind as FillKind, dir!, Number(records));
}
