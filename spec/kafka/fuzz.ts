/**
 * Fuzzing of the Kafka protocol side, in two forms that share this code: a short one in
 * `npm test` (fuzz.spec.ts) and a long one for the stress script:
 *
 *   import { runKafkaFuzz } from '../kafka/fuzz.js';
 *   const figures = await runKafkaFuzz({ decoderRuns: 200_000, liveFrames: 50_000, seed: 1 });
 *   // { decoderFrames, decoderUntypedErrors: 0, decoderOverAllocations: 0,
 *   //   liveFrames, liveConnections, crashes: 0, connectionsThatBrokeTheServer: 0 }
 *
 *   node dist/spec/kafka/fuzz.js [--decoder N] [--live N] [--seed S]   (prints the figures as JSON)
 *
 * The decoder fuzz feeds every served API and version random bodies, truncations and mutations
 * of valid messages and of the real clients' captured frames: the only acceptable failure is a
 * MalformedFrameError, and what a decode returns is never larger than its input. The live fuzz
 * sends random and mutated frames to a running listener over many connections; after each
 * connection a canary connection must still be answered, and the process must see no uncaught
 * error.
 */
import fc from 'fast-check';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MalformedFrameError } from '../../lib/kafka/codec/malformed.js';
import { decodeRequest, encodeRequest } from '../../lib/kafka/codec/messages.js';
import { KafkaClient } from '../../lib/kafka/client.js';
import { APIS } from '../../lib/kafka/schema/index.js';
import { planOf } from '../../lib/kafka/schema/plan.js';
import { struct } from './arbitrary.js';
import { startBroker } from './clients.js';
import type { Fixture } from './tools/capture.js';

export interface KafkaFuzzFigures {
  decoderFrames: number;
  decoderUntypedErrors: number;
  decoderOverAllocations: number;
  liveFrames: number;
  liveConnections: number;
  crashes: number;
  connectionsThatBrokeTheServer: number;
  /** The first problems seen, for the report. */
  problems: string[];
}

export function emptyFigures(): KafkaFuzzFigures {
  return {
    decoderFrames: 0,
    decoderUntypedErrors: 0,
    decoderOverAllocations: 0,
    liveFrames: 0,
    liveConnections: 0,
    crashes: 0,
    connectionsThatBrokeTheServer: 0,
    problems: [],
  };
}

export function capturedFrames(): Buffer[] {
  const file = path.resolve(
    path.dirname(fileURLToPath(import.meta.url)),
    '../../../spec/kafka/fixtures/frames.json',
  );
  const fixtures = JSON.parse(fs.readFileSync(file, 'utf8')) as Fixture[];
  return fixtures.map((f) => Buffer.from(f.request, 'hex'));
}

/** A valid request frame (no size prefix) of any served API and version. */
export const validFrame: fc.Arbitrary<Buffer> = fc
  .constantFrom(
    ...APIS.flatMap((api) =>
      Array.from(
        { length: api.versions[1] - api.versions[0] + 1 },
        (_, i) => [api, api.versions[0] + i] as const,
      ),
    ),
  )
  .chain(([api, version]) =>
    struct(planOf(api.request, version, version >= api.flexible)).map((body) =>
      Buffer.concat(encodeRequest(api, version, 1, 'fuzz', body)),
    ),
  );

/** Hostile variants of a frame: truncated, bytes overwritten, lengths made huge, tail garbage. */
export function mutations(seeds: Buffer[]): fc.Arbitrary<Buffer> {
  const seed = fc.oneof(fc.constantFrom(...seeds), validFrame);
  return fc.oneof(
    fc.uint8Array({ minLength: 0, maxLength: 64 }).map((b) => Buffer.from(b)),
    seed.chain((f) => fc.nat(f.length).map((n) => f.subarray(0, n))),
    seed.chain((f) =>
      fc
        .array(fc.tuple(fc.nat(Math.max(0, f.length - 1)), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 6,
        })
        .map((edits) => {
          const copy = Buffer.from(f);
          for (const [at, value] of edits) if (at < copy.length) copy[at] = value;
          return copy;
        }),
    ),
    seed.chain((f) =>
      fc
        .tuple(
          fc.nat(Math.max(0, f.length - 4)),
          fc.constantFrom(0x7fffffff, 0x80000000, 0xffffffff, 0x00ffffff),
        )
        .map(([at, value]) => {
          const copy = Buffer.from(f);
          if (at + 4 <= copy.length) copy.writeUInt32BE(value, at);
          return copy;
        }),
    ),
    seed.chain((f) => fc.uint8Array({ minLength: 1, maxLength: 16 }).map((tail) => Buffer.concat([f, tail]))),
  );
}

/** Elements a decoded value holds (array slots, string characters, object keys): bounded by the input. */
function footprint(value: unknown, depth = 0): number {
  if (depth > 64) return 0;
  if (typeof value === 'string') return value.length;
  if (Buffer.isBuffer(value)) return 1;
  if (Array.isArray(value)) return value.reduce((s: number, v) => s + 1 + footprint(v, depth + 1), 1);
  if (value && typeof value === 'object') {
    let n = 1;
    for (const v of Object.values(value)) n += 1 + footprint(v, depth + 1);
    return n;
  }
  return 1;
}

/**
 * Decodes `frame`; returns a problem description or undefined. The bound on what comes out: a
 * struct costs its fields even when they are absent from the bytes, so the allowance is per API,
 * measured as the footprint of an empty message, plus a few elements per input byte.
 */
export function checkDecode(frame: Buffer): string | undefined {
  try {
    const d = decodeRequest(frame);
    const size = footprint(d.body);
    if (size > 64 + 8 * frame.length)
      return `decoded footprint ${size} for a ${frame.length}-byte frame (${frame.toString('hex').slice(0, 80)})`;
  } catch (err) {
    if (!(err instanceof MalformedFrameError))
      return `untyped error ${(err as Error)?.stack ?? String(err)} for ${frame.toString('hex').slice(0, 80)}`;
  }
  return undefined;
}

export function fuzzDecoder(runs: number, seed: number, figures: KafkaFuzzFigures): void {
  const seeds = capturedFrames();
  fc.assert(
    fc.property(mutations(seeds), (frame) => {
      figures.decoderFrames++;
      const problem = checkDecode(frame);
      if (problem) {
        if (problem.startsWith('untyped')) figures.decoderUntypedErrors++;
        else figures.decoderOverAllocations++;
        if (figures.problems.length < 5) figures.problems.push(problem);
      }
    }),
    { numRuns: runs, seed },
  );
}

function sizePrefixed(frame: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeInt32BE(frame.length);
  return Buffer.concat([head, frame]);
}

export async function fuzzLive(frames: number, seed: number, figures: KafkaFuzzFigures): Promise<void> {
  const crashes: string[] = [];
  const onCrash = (err: unknown): void => void crashes.push(String((err as Error)?.stack ?? err));
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  const b = await startBroker({ maxRequestBytes: 1 << 20 });
  b.backend.createTopic('fuzz', 2, {});
  try {
    const samples = fc.sample(fc.array(mutations(capturedFrames()), { minLength: 1, maxLength: 8 }), {
      numRuns: Math.ceil(frames / 4),
      seed,
    });
    let sent = 0;
    for (const batch of samples) {
      if (sent >= frames) break;
      const socket = net.connect({ host: '127.0.0.1', port: b.port });
      socket.on('error', () => undefined);
      socket.on('data', () => undefined);
      await new Promise<void>((resolve) => {
        socket.once('connect', () => resolve());
        socket.once('close', () => resolve());
      });
      // Occasionally a raw, unframed blob instead of frames.
      for (const f of batch) socket.write(f.length % 7 === 3 ? f : sizePrefixed(f));
      sent += batch.length;
      figures.liveFrames += batch.length;
      figures.liveConnections++;
      await new Promise((r) => setTimeout(r, 5));
      socket.destroy();
      if (figures.liveConnections % 25 === 0 || sent >= frames) {
        const canary = await KafkaClient.connect({ host: '127.0.0.1', port: b.port });
        const answered = await Promise.race([
          canary.apiVersions().then(
            () => true,
            () => false,
          ),
          new Promise<boolean>((r) => setTimeout(() => r(false), 5000)),
        ]);
        canary.close();
        if (!answered) {
          figures.connectionsThatBrokeTheServer++;
          if (figures.problems.length < 5)
            figures.problems.push(`canary unanswered after connection ${figures.liveConnections}`);
        }
      }
    }
  } finally {
    await b.server.close();
    await b.backend.logStore.close();
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
  }
  figures.crashes += crashes.length;
  for (const c of crashes.slice(0, 5 - Math.min(5, figures.problems.length))) figures.problems.push(c);
}

export async function runKafkaFuzz(
  options: { decoderRuns?: number; liveFrames?: number; seed?: number } = {},
): Promise<KafkaFuzzFigures> {
  const figures = emptyFigures();
  const seed = options.seed ?? 1;
  fuzzDecoder(options.decoderRuns ?? 200_000, seed, figures);
  await fuzzLive(options.liveFrames ?? 50_000, seed, figures);
  return figures;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name: string, fallback: number): number => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : fallback;
  };
  const figures = await runKafkaFuzz({
    decoderRuns: arg('--decoder', 200_000),
    liveFrames: arg('--live', 50_000),
    seed: arg('--seed', 1),
  });
  process.stdout.write(JSON.stringify(figures, null, 2) + '\n');
  const bad =
    figures.decoderUntypedErrors +
    figures.decoderOverAllocations +
    figures.crashes +
    figures.connectionsThatBrokeTheServer;
  process.exit(bad === 0 ? 0 : 1);
}
