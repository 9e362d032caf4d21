/**
 * Independent encoders and decoders for the codec specs: the compression plug-ins of kafkajs, and
 * kafka-python's `kafka.codec` functions (Debian's python3-kafka, with python3-snappy, python3-lz4
 * and python3-zstandard), run by /usr/bin/python3.
 *
 * - kafkajs: gzip is built in (node:zlib); snappy is `kafkajs-snappy` (the pure JS snappyjs, raw
 *   blocks out, raw or xerial in); lz4 is `kafkajs-lz4` (node-lz4: liblz4's block code with its own
 *   frame writer, 4 MiB blocks and a content checksum by default). No kafkajs zstd plug-in installs
 *   here: `@kafkajs/zstd` needs cppzst, which does not build on Node 20, and
 *   `@sensejs/kafkajs-zstd-support` needs zstd-napi 0.0.x, whose install downloads prebuilt binaries.
 *   zstd is covered by python-zstandard (libzstd) below.
 * - kafka-python: every call of a test goes to one python3 process (its start-up costs ~100 ms).
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export type PeerCodec = 'gzip' | 'snappy' | 'lz4' | 'zstd';

interface KafkajsCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

/** Why a kafkajs plug-in is missing here, by codec name (a native one may not load in this Node). */
export const kafkajsMissing: Partial<Record<PeerCodec, string>> = {
  zstd: 'no kafkajs zstd plug-in installs here (see spec/format/codec-peers.ts)',
};

function plugin(codec: PeerCodec, load: () => KafkajsCodec): KafkajsCodec | undefined {
  try {
    return load();
  } catch (err) {
    kafkajsMissing[codec] =
      `the kafkajs ${codec} plug-in does not load: ${(err as Error).message.split('\n')[0]}`;
    return undefined;
  }
}

/** The kafkajs codec plug-ins that install here, by codec name. */
export const kafkajsCodecs: Partial<Record<PeerCodec, KafkajsCodec>> = {
  gzip: plugin('gzip', () => require('kafkajs/src/protocol/message/compression/gzip.js') as KafkajsCodec),
  snappy: plugin('snappy', () => (require('kafkajs-snappy') as () => KafkajsCodec)()),
  lz4: plugin('lz4', () => new (require('kafkajs-lz4') as new () => { codec(): KafkajsCodec })().codec()),
};

export const PYTHON = '/usr/bin/python3';

/** One call of a kafka.codec function (or of python-lz4 / python-zstandard for frame variants). */
export interface PythonCall {
  fn: string;
  data: Buffer;
  /** Keyword arguments, as JSON. */
  kwargs?: Record<string, unknown>;
}

const SCRIPT = String.raw`
import base64, json, sys
import kafka.codec as codec
out = []
for call in json.load(sys.stdin):
    data = base64.b64decode(call['data'])
    try:
        fn = call['fn']
        if fn.startswith('lz4.frame.'):
            import lz4.frame
            result = getattr(lz4.frame, fn[len('lz4.frame.'):])(data, **call['kwargs'])
        elif fn == 'zstandard.stream':
            import zstandard, io
            buf = io.BytesIO()
            params = call['kwargs']
            cctx = zstandard.ZstdCompressor(level=params.get('level', 3), write_checksum=params.get('checksum', False))
            with cctx.stream_writer(buf, closefd=False) as w:
                for i in range(0, len(data), params.get('chunk', 1 << 30)):
                    w.write(data[i:i + params.get('chunk', 1 << 30)])
                    if params.get('flush'):
                        w.flush(zstandard.FLUSH_BLOCK)
            result = buf.getvalue()
        else:
            result = getattr(codec, fn)(data, **call['kwargs'])
        out.append({'ok': base64.b64encode(bytes(result)).decode()})
    except Exception as e:
        out.append({'error': '%s: %s' % (type(e).__name__, e)})
json.dump(out, sys.stdout)
`;

export interface PythonResult {
  ok?: Buffer;
  error?: string;
}

/** Runs the calls in one python3 process; a call that raised comes back as `error`. */
export function python(calls: PythonCall[]): PythonResult[] {
  const input = JSON.stringify(
    calls.map((c) => ({ fn: c.fn, data: c.data.toString('base64'), kwargs: c.kwargs ?? {} })),
  );
  const run = spawnSync(PYTHON, ['-c', SCRIPT], { input, maxBuffer: 1 << 30, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`python3 failed (${run.status}): ${run.stderr}`);
  const results = JSON.parse(run.stdout) as { ok?: string; error?: string }[];
  return results.map((r) => (r.ok !== undefined ? { ok: Buffer.from(r.ok, 'base64') } : { error: r.error! }));
}

/** Runs one call and returns its bytes; a Python exception fails the test with its message. */
export function python1(fn: string, data: Buffer, kwargs?: Record<string, unknown>): Buffer {
  const [result] = python([{ fn, data, kwargs }]);
  if (!result?.ok) throw new Error(`python ${fn}: ${result?.error}`);
  return result.ok;
}

/**
 * Why kafka-python cannot run the given codec here (the reason the spec prints when it skips),
 * or undefined when it can.
 */
export function pythonMissing(codec: PeerCodec): string | undefined {
  missingByCodec ??= probePython();
  return missingByCodec[codec];
}

let missingByCodec: Record<PeerCodec, string | undefined> | undefined;

function probePython(): Record<PeerCodec, string | undefined> {
  const probe = spawnSync(
    PYTHON,
    ['-c', 'import kafka.codec as c, json; print(json.dumps([c.has_snappy(), c.has_lz4(), c.has_zstd()]))'],
    { encoding: 'utf8' },
  );
  if (probe.error || probe.status !== 0) {
    const why = `${PYTHON} cannot import kafka.codec (apt-get install python3-kafka): ${probe.error?.message ?? probe.stderr.trim()}`;
    return { gzip: why, snappy: why, lz4: why, zstd: why };
  }
  const [snappy, lz4, zstd] = JSON.parse(probe.stdout) as boolean[];
  return {
    gzip: undefined,
    snappy: snappy ? undefined : 'kafka-python has no snappy module (apt-get install python3-snappy)',
    lz4: lz4 ? undefined : 'kafka-python has no lz4 module (apt-get install python3-lz4)',
    zstd: zstd ? undefined : 'kafka-python has no zstd module (apt-get install python3-zstandard)',
  };
}
