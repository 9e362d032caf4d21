/**
 * `logstore <command>`: dispatches to one module per command (loaded on use, so that
 * `logstore --help` and `logstore bench` load nothing they do not need) and owns the exit codes:
 *   0  success (and `tail` ended by SIGINT/SIGTERM or by its output pipe closing)
 *   1  failure: `error: CODE: message`, CODE one of the library's error codes (LogStoreErrors,
 *      the CLI's own checks, I/O errors as LOGSTORE_IO); the stack only with --debug
 *   2  wrong usage: `error: LOGSTORE_INVALID_ARGUMENT: message` and the command's usage on stderr
 */
import { readFileSync } from 'node:fs';
import { LogStoreError } from '../index.js';
import { ioError } from '../errors.js';
import { CliError, UsageError } from './args.js';

export interface Command {
  /** Full usage text, starting with `usage: logstore <name> ...`. */
  usage: string;
  /** Runs the command on the arguments after its name; resolves with the exit code. */
  run(argv: string[]): Promise<number>;
}

interface Entry {
  summary: string;
  load: () => Promise<Command>;
}

const COMMANDS: Record<string, Entry> = {
  tail: {
    summary: 'print records, and follow a live writer',
    load: async () => (await import('./tail.js')).command,
  },
  produce: {
    summary: 'append records read from stdin, one a line',
    load: async () => (await import('./produce.js')).command,
  },
  topics: {
    summary: 'list, create, describe, alter and delete topics',
    load: async () => (await import('./topics.js')).command,
  },
  groups: {
    summary: 'list, describe, reset and delete consumer groups',
    load: async () => (await import('./groups.js')).command,
  },
  serve: {
    summary: 'serve the store to Kafka clients (a one-broker Kafka)',
    load: async () => (await import('./serve.js')).command,
  },
  verify: {
    summary: "check every batch's CRC, offsets and index",
    load: async () => (await import('./verify.js')).command,
  },
  dump: {
    summary: 'segments and batch headers of a partition',
    load: async () => (await import('./dump.js')).command,
  },
  mirror: {
    summary: 'copy topics to a Kafka cluster, or from one into the store',
    load: async () => (await import('./mirror.js')).command,
  },
  bench: {
    summary: 'the benchmark harness, side by side with the peers',
    load: async () => (await import('./bench.js')).command,
  },
  demo: {
    summary: 'write a sample stream to a temp dir, tail it live, summarize',
    load: async () => (await import('./demo.js')).command,
  },
};

const USAGE = `usage: logstore <command> [arguments] [--help] [--debug]

commands:
${Object.entries(COMMANDS)
  .map(([name, e]) => `  ${name.padEnd(9)}${e.summary}`)
  .join('\n')}

  logstore <command> --help   shows a command's arguments and options
  logstore --version          prints the version

Start with: npx logstore demo
`;

/** Runs the CLI on `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const end = argv.includes('--') ? argv.indexOf('--') : argv.length;
  const debug = argv.slice(0, end).includes('--debug');
  let first = 0;
  while (argv[first] === '--debug') first++; // `logstore --debug tail ...`; commands accept it too
  const [name, ...rest] = argv.slice(first);
  if (name === undefined) {
    process.stderr.write(USAGE);
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const target = rest[0] !== undefined ? COMMANDS[rest[0]] : undefined;
    process.stdout.write(target ? (await target.load()).usage : USAGE);
    return 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!entry) {
    process.stderr.write(`error: unknown command '${name}'\n\n${USAGE}`);
    return 2;
  }
  const command = await entry.load();
  try {
    return await command.run(rest);
  } catch (err) {
    return report(err, command, debug);
  }
}

function report(err: unknown, command: Command, debug: boolean): number {
  if (err instanceof UsageError) {
    process.stderr.write(`error: ${err.code}: ${err.message}\n\n${command.usage}`);
    return 2;
  }
  let text: string;
  if (err instanceof LogStoreError || err instanceof CliError) text = `error: ${err.code}: ${err.message}`;
  else if (typeof (err as NodeJS.ErrnoException | undefined)?.code === 'string') {
    // An operating system error the command did not expect (a write to stdout, a file).
    const e = ioError(err, 'logstore');
    text = `error: ${e.code}: ${e.message}${debug ? '' : ' (--debug shows the stack)'}`;
  } else {
    const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    text = `error: UNEXPECTED: ${what}: a bug in logstore, please report it${debug ? '' : ' (--debug shows the stack)'}`;
  }
  process.stderr.write(`${text}\n`);
  if (debug && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return 1;
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
