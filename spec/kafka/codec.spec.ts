/**
 * The codec against real clients' bytes: every request kafkajs, kcat (librdkafka), kafka-python
 * and confluent-kafka sent in the captured sessions (spec/kafka/fixtures/frames.json, written by
 * spec/kafka/tools/capture.ts) decodes and re-encodes to the same bytes, and so does every
 * response the clients accepted. Then every API and version of the tables round-trips random
 * messages, and malformed input fails with a typed error, never an allocation beyond its size.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MalformedFrameError } from '../../lib/kafka/codec/malformed.js';
import {
  decodeRequest,
  decodeResponse,
  encodeRequest,
  encodeResponse,
} from '../../lib/kafka/codec/messages.js';
import { ByteReader, decodeStruct } from '../../lib/kafka/codec/reader.js';
import { ByteWriter, encodeStruct } from '../../lib/kafka/codec/writer.js';
import { APIS, apiByKey } from '../../lib/kafka/schema/index.js';
import { planOf } from '../../lib/kafka/schema/plan.js';
import type { Struct } from '../../lib/kafka/schema/types.js';
import { struct } from './arbitrary.js';
import type { Fixture } from './tools/capture.js';

const FIXTURES: Fixture[] = JSON.parse(
  fs.readFileSync(
    path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../spec/kafka/fixtures/frames.json'),
    'utf8',
  ),
);

const join = (chunks: Buffer[]): Buffer => Buffer.concat(chunks);

describe('Kafka codec', () => {
  describe('frames captured from real clients', () => {
    it('covers every served API, from at least two clients each where they use it', () => {
      const clientsPerApi = new Map<string, Set<string>>();
      for (const f of FIXTURES) {
        if (!clientsPerApi.has(f.api)) clientsPerApi.set(f.api, new Set());
        clientsPerApi.get(f.api)!.add(f.client);
      }
      expect([...clientsPerApi.keys()].sort()).to.deep.equal(APIS.map((a) => a.name).sort());
      for (const [api, clients] of clientsPerApi) {
        if (api !== 'DeleteGroups') expect(clients.size, api).to.be.at.least(2);
      }
      const clients = new Set(FIXTURES.map((f) => f.client));
      expect([...clients].sort()).to.deep.equal(['confluent-kafka', 'kafka-python', 'kafkajs', 'kcat']);
    });

    for (const f of FIXTURES) {
      it(`${f.client} ${f.api} v${f.version}: request and response re-encode byte for byte`, () => {
        const bytes = Buffer.from(f.request, 'hex');
        const { header, api, body } = decodeRequest(bytes);
        expect(api?.name).to.equal(f.api);
        expect(header.apiVersion).to.equal(f.version);
        expect(
          join(encodeRequest(api!, f.version, header.correlationId, header.clientId, body!)),
        ).to.deep.equal(bytes);
        if (f.response !== null) {
          const res = Buffer.from(f.response, 'hex');
          const decoded = decodeResponse(api!, f.version, res);
          expect(decoded.correlationId).to.equal(header.correlationId);
          expect(join(encodeResponse(api!, f.version, decoded.correlationId, decoded.body))).to.deep.equal(
            res,
          );
        }
      });
    }

    it('decodes what the clients meant: kcat produce v7 with a key and a header, in a v2 batch', () => {
      const f = FIXTURES.find((x) => x.client === 'kcat' && x.api === 'Produce')!;
      const { header, body } = decodeRequest(Buffer.from(f.request, 'hex'));
      expect(header.clientId).to.equal('rdkafka');
      expect(body!.acks).to.equal(-1);
      const topic = (
        body!.topicData as { name: string; partitionData: { index: number; records: Buffer }[] }[]
      )[0]!;
      expect(topic.name).to.equal('kc');
      const records = topic.partitionData[0]!.records;
      expect(records.readInt8(16), 'magic').to.equal(2);
      expect(records.includes(Buffer.from('none'))).to.equal(true);
    });

    it('reads librdkafka flexible ApiVersions v3 (compact strings, tagged fields)', () => {
      const f = FIXTURES.find((x) => x.client === 'kcat' && x.api === 'ApiVersions')!;
      const { header, body } = decodeRequest(Buffer.from(f.request, 'hex'));
      expect(header.apiVersion).to.equal(3);
      expect(body!.clientSoftwareName).to.equal('librdkafka');
      expect(body!.clientSoftwareVersion).to.match(/^2\.0\./);
    });
  });

  it('keeps tagged fields it does not know, so re-encoding gives the same bytes', () => {
    const api = apiByKey(18)!;
    const known = Buffer.concat(
      encodeRequest(api, 3, 9, 'c', { clientSoftwareName: 'x', clientSoftwareVersion: '1' }),
    );
    // Replace the body's empty tagged section (the last byte) by two unknown tags, 5 and 9.
    const withTags = Buffer.concat([
      known.subarray(0, known.length - 1),
      Buffer.from([2, 5, 1, 0xaa, 9, 2, 0xbb, 0xcc]),
    ]);
    const { body } = decodeRequest(withTags);
    expect(body!.unknownTaggedFields).to.deep.equal([
      [5, Buffer.from([0xaa])],
      [9, Buffer.from([0xbb, 0xcc])],
    ]);
    expect(Buffer.concat(encodeRequest(api, 3, 9, 'c', body!))).to.deep.equal(withTags);
  });

  describe('every API and version of the tables', () => {
    for (const api of APIS) {
      for (let v = api.versions[0]; v <= api.versions[1]; v++) {
        const flexible = v >= api.flexible;
        it(`${api.name} v${v}: random requests and responses round-trip`, () => {
          for (const [fields, label] of [
            [api.request, 'request'],
            [api.response, 'response'],
          ] as const) {
            const plan = planOf(fields, v, flexible);
            fc.assert(
              fc.property(struct(plan), (s: Struct) => {
                const w = new ByteWriter();
                encodeStruct(w, plan, s);
                const bytes = w.toBuffer();
                const r = new ByteReader(bytes);
                const back = decodeStruct(r, plan);
                expect(r.remaining, label).to.equal(0);
                const again = new ByteWriter();
                encodeStruct(again, plan, back);
                expect(again.toBuffer(), label).to.deep.equal(bytes);
              }),
              { numRuns: 25 },
            );
          }
        });
      }
    }
  });

  describe('malformed input', () => {
    const metadataV1 = (topics: number): Buffer => {
      const w = new ByteWriter();
      w.int16(3);
      w.int16(1);
      w.int32(7);
      w.int16(-1); // clientId null
      w.int32(topics);
      return w.toBuffer();
    };

    it('refuses an array count larger than the bytes left, before allocating it', () => {
      const err = expectMalformed(() => decodeRequest(metadataV1(2_000_000_000)));
      expect(err.message).to.match(/2000000000 elements cannot fit/);
    });

    it('refuses a string length past the end', () => {
      const w = new ByteWriter();
      w.int16(3); // Metadata
      w.int16(1);
      w.int32(7); // correlation id
      w.int16(200); // a clientId of 200 bytes, with 3 there
      w.raw(Buffer.from('abc'));
      expectMalformed(() => decodeRequest(w.toBuffer()));
    });

    it('refuses bytes left over after a request', () => {
      expectMalformed(() => decodeRequest(Buffer.concat([metadataV1(0), Buffer.from([1])])));
    });

    it('refuses a null where the version has no nullable field', () => {
      // Metadata v0: topics is not nullable.
      const w = new ByteWriter();
      for (const n of [3, 0]) w.int16(n);
      w.int32(1);
      w.int16(-1);
      w.int32(-1);
      expectMalformed(() => decodeRequest(w.toBuffer()));
    });

    it('refuses a varint longer than 5 bytes', () => {
      const r = new ByteReader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01]));
      expectMalformed(() => r.uvarint());
    });

    it('returns a header without a body for an API it does not serve', () => {
      const w = new ByteWriter();
      for (const n of [999, 0]) w.int16(n);
      w.int32(42);
      const d = decodeRequest(w.toBuffer());
      expect(d.header).to.deep.include({ apiKey: 999, apiVersion: 0, correlationId: 42 });
      expect(d.api).to.equal(undefined);
      expect(d.body).to.equal(undefined);
      expect(apiByKey(999)).to.equal(undefined);
    });
  });
});

function expectMalformed(fn: () => unknown): MalformedFrameError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(MalformedFrameError);
    expect((err as MalformedFrameError).code).to.equal('LOGSTORE_INVALID_ARGUMENT');
    return err as MalformedFrameError;
  }
  throw new Error('expected a MalformedFrameError');
}
