import { defineCase, since, startTimer, type BenchCase } from '../case.js';
import { fillApart } from '../fill-apart.js';

/**
 * Several independent readers of one partition in one process, e.g. several consumer groups
 * catching up. Each reader reads the whole partition; they take turns by `read(10000)`, so they
 * share the mapping and the page cache but not their positions. The figure is the aggregate:
 * records delivered by all readers together per second. One case per reader count. The store is
 * filled in a forked process (fill-apart.ts), as for sequential-read.
 */
function fanout(readers: number): BenchCase {
  return defineCase({
    name: `reader-fanout-${readers}`,
    measures: `${readers} reader(s) each reading the whole partition from earliest; aggregate rec/s`,
    unit: 'rec/s',
    sizes: { quick: { records: 200_000, readers }, full: { records: 1_000_000, readers } },
    subjects: {
      async logstore({ records, readers }, dir) {
        const { openStore, TOPIC } = await import('../logstore.js');
        await fillApart('logstore', dir, records);
        const store = await openStore(dir);
        const open = Array.from({ length: readers }, () =>
          store.reader(TOPIC, { partition: 0, from: 'earliest' }),
        );
        let ops = 0;
        let bytes = 0;
        const start = startTimer();
        let active = open;
        while (active.length > 0) {
          active = active.filter((reader) => {
            const recs = reader.read(10_000);
            for (const rec of recs) bytes += rec.value!.length;
            ops += recs.length;
            return recs.length > 0;
          });
        }
        const seconds = since(start);
        for (const reader of open) reader.close();
        await store.close();
        if (ops !== records * readers) throw new Error(`read ${ops} records, expected ${records * readers}`);
        return { ops, seconds, bytes };
      },
    },
  });
}

export default [fanout(1), fanout(4), fanout(16)];
