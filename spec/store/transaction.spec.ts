import { expect } from 'chai';
import { LogStore } from '../../lib/index.js';
import { expectCode, removeTempDirs, tempDir } from '../helpers/temp.js';

/** A store with a topic of three records, the application's table, and a consumer. */
function setup() {
  const store = LogStore.open(tempDir());
  store.createTopic('t');
  store.append('t', [{ value: 'a' }, { value: 'b' }, { value: 'c' }]);
  store.transaction((db) => db.exec('CREATE TABLE seen (value TEXT PRIMARY KEY)'));
  const consumer = store.consumer('t', { group: 'g', autoCommit: false });
  const seen = () =>
    store.transaction((db) => db.prepare<{ value: string }>('SELECT value FROM seen ORDER BY value').all());
  return { store, consumer, seen };
}

describe('LogStore#transaction()', () => {
  after(removeTempDirs);

  it("should return fn's result and commit the application's writes with the consumer's offsets", async () => {
    const { store, consumer, seen } = setup();
    const [a] = consumer.read(1);
    const result = store.transaction((db) => {
      db.prepare('INSERT INTO seen VALUES (?)').run(a!.value!.toString());
      consumer.commit(a!);
      return 'done';
    });
    expect(result).to.equal('done');
    expect(seen()).to.deep.equal([{ value: 'a' }]);
    expect(consumer.committed()).to.deep.equal([{ partition: 0, offset: 1 }]);
    await store.close();
  });

  it("should let the application's own error out unchanged, after rolling back its writes and commits", async () => {
    const { store, consumer, seen } = setup();
    const [a] = consumer.read(1);
    class AppError extends Error {}
    const thrown = new AppError('boom');
    let caught: unknown;
    try {
      store.transaction((db) => {
        db.prepare('INSERT INTO seen VALUES (?)').run(a!.value!.toString());
        consumer.commit(a!);
        throw thrown;
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).to.equal(thrown); // the same object: not wrapped, not LOGSTORE_IO
    expect(seen()).to.deep.equal([]);
    expect(consumer.committed()).to.deep.equal([{ partition: 0, offset: null }]);
    await store.close();
  });

  it("should let the application's SQL errors out as SQLite reported them (a typo, a UNIQUE violation)", async () => {
    const { store, consumer, seen } = setup();
    const [a] = consumer.read(1);
    const sqlError = (fn: () => void) => {
      try {
        fn();
      } catch (err) {
        return { name: (err as Error).name, code: (err as { code?: string }).code };
      }
      throw new Error('nothing was thrown');
    };
    expect(sqlError(() => store.transaction((db) => db.exec('INSERT INTO seen VALUS (1)')))).to.deep.equal({
      name: 'SqliteError',
      code: 'SQLITE_ERROR',
    });
    expect(
      sqlError(() =>
        store.transaction((db) => {
          consumer.commit(a!);
          db.prepare('INSERT INTO seen VALUES (?)').run('x');
          db.prepare('INSERT INTO seen VALUES (?)').run('x');
        }),
      ),
    ).to.deep.equal({ name: 'SqliteError', code: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
    expect(seen()).to.deep.equal([]);
    expect(consumer.committed()).to.deep.equal([{ partition: 0, offset: null }]);
    await store.close();
  });

  it('should refuse an async fn with LOGSTORE_INVALID_ARGUMENT before running any of it', async () => {
    const { store, seen } = setup();
    let ran = false;
    expectCode(
      () =>
        store.transaction(async (db) => {
          ran = true;
          db.prepare('INSERT INTO seen VALUES (?)').run('async');
          await Promise.resolve();
        }),
      'LOGSTORE_INVALID_ARGUMENT',
    );
    expect(ran).to.equal(false);
    expect(seen()).to.deep.equal([]);
    await store.close();
  });

  it('should roll back and refuse a fn that returns a promise, with LOGSTORE_INVALID_ARGUMENT', async () => {
    const { store, seen } = setup();
    expectCode(
      () =>
        store.transaction((db) => {
          db.prepare('INSERT INTO seen VALUES (?)').run('then');
          return Promise.resolve(1);
        }),
      'LOGSTORE_INVALID_ARGUMENT',
    );
    expect(seen()).to.deep.equal([]);
    expectCode(() => store.transaction('not a function' as never), 'LOGSTORE_INVALID_ARGUMENT');
    await store.close();
    expectCode(() => store.transaction(() => 1), 'LOGSTORE_CLOSED');
  });
});
