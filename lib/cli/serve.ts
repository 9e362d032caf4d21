/**
 * `logstore serve <dir>`: the store as a standalone Kafka broker. It opens the directory as its
 * writer (creating the store when the directory is new or empty), serves it with `store.serve()`,
 * prints where it listens, and runs until SIGINT/SIGTERM; then it closes the listener (answering
 * what it received), closes the store cleanly (the next open finds a clean shutdown) and exits 0.
 *
 * A non-loopback address is refused before anything is opened unless clients must authenticate
 * (--sasl-users) or the user accepts an open port (--insecure): the store would otherwise be
 * readable and writable by anyone who can reach it.
 *
 * The process is the broker's own, so it tunes the C allocator for a server
 * (kafka/broker-process.ts); `store.serve()` leaves its host application's allocator alone.
 */
import { tuneAllocatorForBroker } from '../kafka/broker-process.js';
import { isLoopback } from '../kafka/server-options.js';
import type { KafkaServer, LogStore, ServeOptions } from '../index.js';
import { CliError, flag, intOption, parse, printHelp, stringOption, UsageError } from './args.js';
import type { Command } from './main.js';
import { openWriter } from './open.js';
import { certificateOptions, CERTIFICATE_OPTIONS, readOptionFile } from './option-files.js';
import { Stopper } from './stop.js';

const USAGE = `usage: logstore serve <dir> [options]

Serves the store in <dir> to Kafka clients (kafkajs, librdkafka/kcat, kafka-python, Java...)
over Kafka's wire protocol, as one broker that leads every partition and coordinates every
group. Creates the store when <dir> is new or empty. Runs until Ctrl-C (SIGINT) or SIGTERM,
then closes the connections and the store cleanly and exits 0.

options:
  --host H                  address to bind (default 127.0.0.1); anything but loopback needs
                            --sasl-users or --insecure
  --port N                  TCP port (default 9092; 0 picks a free one, printed at start)
  --advertised-host H       host name given to clients (default: --host, or this machine's
                            name when --host is 0.0.0.0 or ::)
  --advertised-port N       port given to clients, behind a proxy or port mapping (default:
                            the bound port)
  --auto-create-topics B    true (default) | false: a producer's or consumer's first request
                            for an unknown topic creates it
  --default-partitions N    partitions of auto-created topics (default 1)
  --tls-cert F --tls-key F  serve TLS with this PEM certificate chain and key
  --sasl-users F            require SASL (PLAIN or SCRAM-SHA-256); F holds one name:password a
                            line ('#' comments)
  --insecure                allow a non-loopback --host without SASL
  --help, -h                this help

examples:
  logstore serve ./data
  logstore serve ./data --port 9093 --default-partitions 4
  logstore serve ./data --host 0.0.0.0 --sasl-users users.txt --tls-cert cert.pem --tls-key key.pem
  kcat -b 127.0.0.1:9092 -P -t orders <<< 'hello'
`;

const OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  'advertised-host': { type: 'string' },
  'advertised-port': { type: 'string' },
  'auto-create-topics': { type: 'string' },
  'default-partitions': { type: 'string' },
  ...CERTIFICATE_OPTIONS,
  'sasl-users': { type: 'string' },
  insecure: { type: 'boolean' },
} as const;

export const command: Command = {
  usage: USAGE,
  async run(argv) {
    const parsed = parse(argv, OPTIONS, { min: 1, max: 1 });
    if (printHelp(parsed, USAGE)) return 0;
    const [dir] = parsed.positionals as [string];
    const options = serveOptions(parsed);
    if (!isLoopback(options.host!) && options.sasl === undefined && options.insecure !== true) {
      throw new CliError(
        `refusing to listen on ${options.host} without authentication: anyone who can reach the port ` +
          'could read and write the store. Pass --sasl-users FILE (clients log in with SASL PLAIN or ' +
          'SCRAM-SHA-256), or --insecure to accept that.',
      );
    }
    return serve(dir, options);
  },
};

function serveOptions(parsed: ReturnType<typeof parse>): ServeOptions {
  const autoCreate = stringOption(parsed, 'auto-create-topics');
  if (autoCreate !== undefined && autoCreate !== 'true' && autoCreate !== 'false') {
    throw new UsageError(`--auto-create-topics expects true or false, got '${autoCreate}'`);
  }
  const certificate = certificateOptions(parsed);
  const users = stringOption(parsed, 'sasl-users');
  const options: ServeOptions = {
    host: stringOption(parsed, 'host') ?? '127.0.0.1',
    port: intOption(parsed, 'port', 0, 65535) ?? 9092,
    autoCreateTopics: autoCreate !== 'false',
    defaultPartitions: intOption(parsed, 'default-partitions', 1, 10_000) ?? 1,
    insecure: flag(parsed, 'insecure'),
  };
  const advertised = stringOption(parsed, 'advertised-host');
  if (advertised !== undefined) options.advertisedHost = advertised;
  const advertisedPort = intOption(parsed, 'advertised-port', 1, 65535);
  if (advertisedPort !== undefined) options.advertisedPort = advertisedPort;
  if (certificate !== undefined) options.tls = certificate;
  if (users !== undefined) {
    readOptionFile('--sasl-users', users); // a clear message for a missing file; the listener parses it
    options.sasl = { users };
  }
  return options;
}

async function serve(dir: string, options: ServeOptions): Promise<number> {
  tuneAllocatorForBroker();
  const store = openWriter(dir, 'serve', true);
  const stopper = new Stopper();
  let server: KafkaServer | undefined;
  try {
    server = await listen(store, options);
    const { host, port } = server.address();
    const topics = store.topics().length;
    process.stdout.write(
      `logstore serve: listening on ${host}:${port}${options.tls ? ' (TLS)' : ''}` +
        `${options.sasl ? ' (SASL)' : ''}, store ${store.dir} (${topics} topic${topics === 1 ? '' : 's'}); ` +
        'Ctrl-C stops\n',
    );
    await new Promise<void>((resolve) => {
      if (stopper.stopped) resolve();
      stopper.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    process.stderr.write(`logstore serve: ${stopper.reason}: closing the listener and the store\n`);
    await server.close();
  } finally {
    try {
      await store.close();
    } finally {
      stopper.dispose();
    }
  }
  process.stdout.write('logstore serve: stopped; the store was closed cleanly\n');
  return 0;
}

/** store.serve(), with the listen errors a user can fix said in the CLI's terms. */
async function listen(store: LogStore, options: ServeOptions): Promise<KafkaServer> {
  try {
    return await store.serve(options);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const where = `${options.host}:${options.port}`;
    if (code === 'EADDRINUSE')
      throw new CliError(`${where} is in use (another broker?); pick another port with --port`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
      throw new CliError(`cannot listen on ${where}: ${options.host} is not an address of this machine`);
    if (code === 'EACCES')
      throw new CliError(`cannot listen on ${where}: permission denied (a port below 1024?)`);
    throw err;
  }
}
