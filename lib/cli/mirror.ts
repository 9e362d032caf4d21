/**
 * `logstore mirror <dir> --to|--from host:port[,...]`: copies topics to a Kafka cluster or from
 * one into the store (`store.mirror()`, lib/mirror/), keeping the position in the store's catalog:
 * stopped (Ctrl-C) or killed and started again, it resumes with nothing lost or copied twice.
 *
 * `--to` runs beside a live writer: when another process holds the store's lock, the store is
 * opened read-only and followed (only the mirror's positions are written to the catalog).
 * `--from` appends, so it needs the lock.
 *
 * Output: a progress line on stderr when it is a terminal (records, records/s, MB/s, lag), nothing
 * when piped; `--json` prints every event as one JSON object a line on stdout. Exit 0 when done
 * (or stopped by SIGINT/SIGTERM), 1 on an error (the position is saved: run again to resume),
 * 2 on wrong usage.
 */
import fs from 'node:fs';
import path from 'node:path';
import type tls from 'node:tls';
import { LogStore, LogStoreError, type MirrorEvent, type MirrorOptions } from '../index.js';
import { SASL_CLIENT_MECHANISMS, type SaslClientMechanism } from '../kafka/sasl/client.js';
import { parseBrokers } from '../mirror/cluster.js';
import { flag, parse, parseDuration, printHelp, stringOption, UsageError } from './args.js';
import type { Command } from './main.js';
import { openWriter, requireStore } from './open.js';
import { certificateOptions, CERTIFICATE_OPTIONS, readOptionFile } from './option-files.js';
import { formatBytes, formatCount } from './output.js';
import { Stopper } from './stop.js';

const USAGE = `usage: logstore mirror <dir> --to host:port[,host:port...] [options]
       logstore mirror <dir> --from host:port[,host:port...] [options]

Copies topics to a Kafka cluster (--to) or from one into the store (--from), with the same
partition numbers, keys, values, headers and timestamps. The position is kept in the store's
catalog: stopped or killed and started again, the mirror resumes with nothing lost and nothing
copied twice. Without --follow it copies what is there and exits; with it, it keeps copying new
records until Ctrl-C.

--to creates missing topics on the cluster with the store's partition counts (where the cluster
allows it) and refuses a topic whose partition count differs. It runs beside a live writer (it
then follows the store read-only). --from creates missing topics in the store (the directory is
created if needed) and needs the store's writer lock.

options:
  --to BROKERS          copy the store's topics to this cluster
  --from BROKERS        copy this cluster's topics into the store
  --topics A,B          only these topics (default: every topic; for --from, every topic
                        of the cluster but its internal ones)
  --follow, -f          keep copying new records until interrupted
  --group G             (--from) start where consumer group G is on the cluster when the store
                        has no position yet, and commit the positions to G too
  --reset               forget this mirror's positions for the topics and copy from the start
  --json                every event as one JSON object a line on stdout
  --retry-timeout DUR   give up when the cluster stays unreachable this long (default 30s)
  --client-id ID        the client id the cluster sees (default logstore-mirror)
  --tls                 connect with TLS
  --tls-ca FILE         trust this CA certificate (PEM) for TLS (implies --tls)
  --tls-cert FILE       client certificate (PEM) for TLS (with --tls-key)
  --tls-key FILE        client key (PEM) for TLS
  --sasl-mechanism M    PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (with --sasl-username)
  --sasl-username U     the SASL user; the password is read from --sasl-password-file, or
                        from the LOGSTORE_SASL_PASSWORD environment variable
  --sasl-password-file FILE
  --help, -h            this help

exit codes: 0 done (or stopped), 1 error (the position is saved: run again to resume), 2 usage

examples:
  logstore mirror ./data --to kafka1:9092,kafka2:9092 --follow
  logstore mirror ./edge --from kafka1:9092 --topics orders,payments --group edge-replay
`;

const OPTIONS = {
  to: { type: 'string' },
  from: { type: 'string' },
  topics: { type: 'string' },
  follow: { type: 'boolean', short: 'f' },
  group: { type: 'string' },
  reset: { type: 'boolean' },
  json: { type: 'boolean' },
  'retry-timeout': { type: 'string' },
  'client-id': { type: 'string' },
  tls: { type: 'boolean' },
  'tls-ca': { type: 'string' },
  ...CERTIFICATE_OPTIONS,
  'sasl-mechanism': { type: 'string' },
  'sasl-username': { type: 'string' },
  'sasl-password-file': { type: 'string' },
} as const;

export const command: Command = {
  usage: USAGE,
  async run(argv) {
    const parsed = parse(argv, OPTIONS, { min: 1, max: 1 });
    if (printHelp(parsed, USAGE)) return 0;
    const to = stringOption(parsed, 'to');
    const from = stringOption(parsed, 'from');
    if ((to === undefined) === (from === undefined))
      throw new UsageError('give exactly one of --to and --from');
    try {
      parseBrokers((to ?? from)!);
    } catch (err) {
      throw new UsageError(`${to !== undefined ? '--to' : '--from'}: ${(err as Error).message}`);
    }
    const group = stringOption(parsed, 'group');
    if (group !== undefined && from === undefined)
      throw new UsageError('--group is for --from (a group on the cluster)');
    const topicsText = stringOption(parsed, 'topics');
    const topics = topicsText?.split(',').map((t) => t.trim());
    if (topics?.some((t) => t === ''))
      throw new UsageError(`--topics expects names separated by commas, got '${topicsText}'`);
    const retry = stringOption(parsed, 'retry-timeout');
    const json = flag(parsed, 'json');
    const tty = process.stderr.isTTY === true && !json;
    const options: MirrorOptions = {
      ...(to !== undefined ? { to } : { from: from! }),
      topics,
      follow: flag(parsed, 'follow'),
      group,
      reset: flag(parsed, 'reset'),
      clientId: stringOption(parsed, 'client-id'),
      retryTimeoutMs: retry === undefined ? undefined : parseDuration('--retry-timeout', retry, false),
      tls: tlsOptions(parsed),
      sasl: saslOptions(parsed),
      progressIntervalMs: tty ? 250 : 1000,
    };
    for (const key of Object.keys(options) as (keyof MirrorOptions)[])
      if (options[key] === undefined) delete options[key];

    const dir = parsed.positionals[0]!;
    const store = to !== undefined ? openForOut(dir) : openForIn(dir);
    const stopper = new Stopper();
    const line = new ProgressLine(tty);
    try {
      const mirror = store.mirror({ ...options, signal: stopper.signal });
      for await (const event of mirror) {
        if (json) process.stdout.write(`${JSON.stringify(event)}\n`);
        else line.show(event);
      }
      return 0;
    } finally {
      line.clear();
      stopper.dispose();
      await store.close();
    }
  },
};

/** Writer if free; else read-only beside the writer (a mirror out only reads the log). */
function openForOut(dir: string): LogStore {
  const absolute = requireStore(dir);
  try {
    return LogStore.open(absolute, {});
  } catch (err) {
    if (err instanceof LogStoreError && err.code === 'LOGSTORE_LOCKED')
      return LogStore.open(absolute, { readOnly: true });
    throw err;
  }
}

function openForIn(dir: string): LogStore {
  fs.mkdirSync(path.resolve(dir), { recursive: true });
  try {
    return openWriter(dir, 'mirror --from', true);
  } catch (err) {
    if (err instanceof LogStoreError && err.code === 'LOGSTORE_LOCKED') {
      throw new LogStoreError(
        'LOGSTORE_LOCKED',
        `${err.message} An application that holds the lock can run the mirror itself: store.mirror({ from }).`,
        { cause: err },
      );
    }
    throw err;
  }
}

function tlsOptions(parsed: ReturnType<typeof parse>): tls.ConnectionOptions | boolean | undefined {
  const ca = stringOption(parsed, 'tls-ca');
  const certificate = certificateOptions(parsed);
  if (ca === undefined && certificate === undefined) return flag(parsed, 'tls') ? true : undefined;
  return { ...(ca !== undefined ? { ca: readOptionFile('--tls-ca', ca) } : {}), ...certificate };
}

function saslOptions(parsed: ReturnType<typeof parse>): MirrorOptions['sasl'] {
  const mechanism = stringOption(parsed, 'sasl-mechanism');
  const username = stringOption(parsed, 'sasl-username');
  const file = stringOption(parsed, 'sasl-password-file');
  if (mechanism === undefined && username === undefined && file === undefined) return undefined;
  if (mechanism === undefined || username === undefined)
    throw new UsageError('SASL needs --sasl-mechanism and --sasl-username');
  if (!SASL_CLIENT_MECHANISMS.includes(mechanism as SaslClientMechanism))
    throw new UsageError(`--sasl-mechanism expects ${SASL_CLIENT_MECHANISMS.join(', ')}, got '${mechanism}'`);
  const password =
    file !== undefined
      ? readOptionFile('--sasl-password-file', file)
          .toString('utf8')
          .replace(/\r?\n$/, '')
      : process.env.LOGSTORE_SASL_PASSWORD;
  if (password === undefined || password === '')
    throw new UsageError('SASL needs a password: --sasl-password-file FILE or LOGSTORE_SASL_PASSWORD');
  return { mechanism: mechanism as SaslClientMechanism, username, password };
}

/** The one-line progress display on a terminal's stderr (nothing otherwise). */
class ProgressLine {
  private drawn = false;
  private retry = '';

  constructor(private readonly enabled: boolean) {}

  show(e: MirrorEvent): void {
    if (!this.enabled) return;
    if (e.type === 'retry') {
      this.retry = e.reason;
      return;
    }
    if (e.type === 'warning') {
      this.clear();
      process.stderr.write(`warning: ${e.message}\n`);
      return;
    }
    if (e.type === 'start') {
      const arrow = e.direction === 'to' ? '->' : '<-';
      const topics = e.topics
        .map((t) => `${t.topic} (${t.partitions})${t.created ? ' created' : ''}`)
        .join(', ');
      process.stderr.write(`mirror: store ${arrow} ${e.cluster}: ${topics}\n`);
      return;
    }
    if (e.type === 'done') {
      this.clear();
      process.stderr.write(
        `mirror: ${formatCount(e.records)} records (${formatBytes(e.bytes)}) copied in ${(e.elapsedMs / 1000).toFixed(1)} s; lag ${formatCount(e.lag)}\n`,
      );
      return;
    }
    const columns = process.stderr.columns || 80;
    let text =
      `mirror: ${formatCount(e.records)} records  ${formatCount(e.recordsPerSecond)} rec/s  ` +
      `${formatBytes(e.bytesPerSecond)}/s  lag ${formatCount(e.lag)}`;
    if (this.retry) text += `  retrying: ${this.retry}`;
    this.retry = '';
    if (text.length > columns - 1) text = text.slice(0, columns - 1);
    process.stderr.write(`\r${text}\x1b[K`);
    this.drawn = true;
  }

  clear(): void {
    if (this.drawn) process.stderr.write('\r\x1b[K');
    this.drawn = false;
  }
}
