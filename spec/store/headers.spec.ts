/**
 * Headers are Kafka's: an ordered list of (key, bytes-or-null) pairs, keys may repeat. Every
 * shape `append` takes round-trips exactly through `headerList`, and `headers` is kafkajs's shape.
 */
import { expect } from 'chai';
import { LogStore, type AppendRecord, type LogRecord } from '../../lib/index.js';
import { encodeBatch } from '../../lib/format/batch-encoder.js';
import { kafkaDecodeBatch } from '../format/kafkajs.js';
import { expectCode, removeTempDirs, tempDir } from '../helpers/temp.js';

function roundTrip(record: AppendRecord): Promise<LogRecord> {
  const store = LogStore.open(tempDir());
  store.createTopic('h');
  store.append('h', record);
  const [read] = store.reader('h').read(1);
  return store.close().then(() => read!);
}

const text = (list: LogRecord['headerList']) => list.map(([k, v]) => [k, v === null ? null : v.toString()]);

describe('Headers', () => {
  after(removeTempDirs);

  it('should keep a list with repeated keys, nulls and number-like keys, in order', async () => {
    const rec = await roundTrip({
      value: 'v',
      headers: [
        ['k', 'first'],
        ['k', 'second'],
        ['2', 'two'],
        ['other', null],
        ['1', 'one'],
        ['k', 'third'],
      ],
    });
    expect(text(rec.headerList)).to.deep.equal([
      ['k', 'first'],
      ['k', 'second'],
      ['2', 'two'],
      ['other', null],
      ['1', 'one'],
      ['k', 'third'],
    ]);
    expect(rec.headers.other).to.equal(null);
    expect((rec.headers.k as Buffer[]).map(String)).to.deep.equal(['first', 'second', 'third']);
    expect(String(rec.headers['2'])).to.equal('two');
  });

  it("should take kafkajs's object shape, arrays giving repeated keys in order", async () => {
    const rec = await roundTrip({ value: 'v', headers: { a: ['x', Buffer.from('y')], b: null, c: 'z' } });
    expect(text(rec.headerList)).to.deep.equal([
      ['a', 'x'],
      ['a', 'y'],
      ['b', null],
      ['c', 'z'],
    ]);
  });

  it('should take a Map in its order', async () => {
    const headers = new Map<string, string | null | string[]>([
      ['z', 'last-key-first'],
      ['a', ['1', '2']],
      ['m', null],
    ]);
    const rec = await roundTrip({ value: 'v', headers });
    expect(text(rec.headerList)).to.deep.equal([
      ['z', 'last-key-first'],
      ['a', '1'],
      ['a', '2'],
      ['m', null],
    ]);
  });

  it('should keep a header named __proto__ as a header', async () => {
    const rec = await roundTrip({ value: 'v', headers: [['__proto__', 'p']] });
    expect(Object.keys(rec.headers)).to.deep.equal(['__proto__']);
    expect(String(Object.getOwnPropertyDescriptor(rec.headers, '__proto__')!.value)).to.equal('p');
  });

  it('should refuse numbers, nested objects and malformed pairs with LOGSTORE_INVALID_ARGUMENT, writing nothing', async () => {
    const store = LogStore.open(tempDir());
    store.createTopic('h');
    const bad: unknown[] = [
      { n: 1 },
      { nested: { a: 'b' } },
      [['only-key']],
      [['k', ['nested', 'array']]],
      [[1, 'numeric key']],
      'a string',
      Buffer.from('bytes'),
    ];
    for (const headers of bad) {
      expectCode(
        () => store.append('h', { value: 'v', headers } as AppendRecord),
        'LOGSTORE_INVALID_ARGUMENT',
      );
    }
    expect(store.describeTopic('h').partitions[0]!.endOffset).to.equal(0);
    await store.close();
  });

  it("should write header lists kafkajs's batch decoder reads with repeats and nulls", async () => {
    const batch = encodeBatch(
      0,
      [
        {
          value: 'v',
          headers: [
            ['k', 'a'],
            ['k', 'b'],
            ['n', null],
          ],
          timestamp: 5,
        },
      ],
      5,
    );
    const decoded = await kafkaDecodeBatch(batch);
    const headers = decoded.records[0]!.headers as Record<string, unknown>;
    expect((headers.k as Buffer[]).map(String)).to.deep.equal(['a', 'b']);
    expect(headers.n).to.equal(null);
  });
});
