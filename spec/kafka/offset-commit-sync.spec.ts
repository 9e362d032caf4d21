/**
 * A Kafka client's OffsetCommit is synced to disk before it is answered only when the store syncs
 * every append (`durability: 'always'`); otherwise it is answered once it is in the catalog's WAL
 * (kafkajs commits after every fetched batch, and a synced commit would hold the event loop, every
 * connection with it, for an fsync). Either way the commit is in the catalog at once (the store's
 * groups and a second connection see it) and the catalog is back to synchronous=FULL afterwards.
 */
import { expect } from 'chai';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { GroupOffsets } from '../../lib/catalog/group-offsets.js';
import { LogStore, type Durability } from '../../lib/index.js';
import { StoreBackend, type StoreInternals } from '../../lib/kafka/store-backend.js';
import { removeTempDirs, tempDir } from '../helpers/temp.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as typeof import('better-sqlite3');

/** SQLite's `PRAGMA synchronous` values. */
const NORMAL = 1;
const FULL = 2;

/** What the listener's backend gets from the store beyond its public API. */
const internalsOf = (store: LogStore): StoreInternals =>
  (store as unknown as { services: { internals(): StoreInternals } }).services.internals();

/** A backend over `store` that records the `sync` option of each group commit it makes. */
function observedBackend(store: LogStore): { backend: StoreBackend; syncs: unknown[]; groups: GroupOffsets } {
  const internals = internalsOf(store);
  const groups = internals.groups;
  const syncs: unknown[] = [];
  const observing = Object.create(groups) as GroupOffsets;
  observing.commit = (entries, now, options) => {
    syncs.push(options?.sync);
    groups.commit(entries, now, options);
  };
  return { backend: new StoreBackend(store, { ...internals, groups: observing }), syncs, groups };
}

function synchronousOf(groups: GroupOffsets): number {
  const db = (groups as unknown as { db: import('better-sqlite3').Database }).db;
  return db.pragma('synchronous', { simple: true }) as number;
}

describe('Kafka OffsetCommit durability', () => {
  after(removeTempDirs);

  for (const [durability, sync] of [
    ['interval', false],
    ['none', false],
    ['always', true],
  ] as [Durability, boolean][]) {
    it(`durability '${durability}': commits ${sync ? 'synced' : 'to the WAL only'}, visible at once, catalog back to FULL`, async () => {
      const dir = tempDir('logstore-commit-sync-');
      const store = LogStore.open(dir, { durability, cleanupIntervalMs: 0 });
      try {
        store.createTopic('t', { partitions: 2 });
        const { backend, syncs, groups } = observedBackend(store);
        backend.commitOffsets('g', [
          { topic: 't', partition: 0, offset: 7, metadata: 'm0' },
          { topic: 't', partition: 1, offset: 3, metadata: '' },
        ]);
        expect(syncs).to.deep.equal([sync]);
        expect(synchronousOf(groups)).to.equal(FULL);
        expect(backend.committedOffsets('g')).to.deep.equal([
          { topic: 't', partition: 0, offset: 7, metadata: 'm0' },
          { topic: 't', partition: 1, offset: 3, metadata: '' },
        ]);
        const other = new Database(path.join(dir, 'catalog.sqlite'), { readonly: true });
        try {
          const rows = other
            .prepare('SELECT partition, next_offset FROM group_offsets WHERE group_id = ? ORDER BY partition')
            .all('g');
          expect(rows).to.deep.equal([
            { partition: 0, next_offset: 7 },
            { partition: 1, next_offset: 3 },
          ]);
        } finally {
          other.close();
        }
      } finally {
        await store.close();
      }
    });
  }

  it('GroupOffsets.commit with sync: false runs its transaction with synchronous=NORMAL, then restores FULL', async () => {
    const dir = tempDir('logstore-commit-sync-');
    const store = LogStore.open(dir, { cleanupIntervalMs: 0 });
    try {
      store.createTopic('t');
      const internals = internalsOf(store);
      const groups = internals.groups;
      const db = (groups as unknown as { db: import('better-sqlite3').Database }).db;
      const seen: number[] = [];
      const stmts = (groups as unknown as { stmts: { commit: { run: (...a: unknown[]) => unknown } } }).stmts;
      const run = stmts.commit.run.bind(stmts.commit);
      stmts.commit.run = (...args: unknown[]) => {
        seen.push(db.pragma('synchronous', { simple: true }) as number);
        return run(...args);
      };
      groups.commit([{ group: 'g', topic: 't', partition: 0, offset: 1 }], 1, { sync: false });
      groups.commit([{ group: 'g', topic: 't', partition: 0, offset: 2 }], 2);
      expect(seen).to.deep.equal([NORMAL, FULL]);
      expect(db.pragma('synchronous', { simple: true })).to.equal(FULL);
      expect(groups.of('g').map((c) => c.offset)).to.deep.equal([2]);
    } finally {
      await store.close();
    }
  });
});
