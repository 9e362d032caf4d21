/**
 * Argument parsing for the CLI: a thin layer over `node:util` parseArgs that adds `--help` and
 * `--debug` to every command, turns parseArgs' errors into a UsageError (exit 2, usage on
 * stderr), and parses the value forms the commands share (integers, sizes, durations, start
 * positions). Nothing here touches the store.
 */
import { parseArgs } from 'node:util';
import type { ErrorCode } from '../index.js';
import { closestName } from '../options.js';

/**
 * Wrong usage: main prints `error: LOGSTORE_INVALID_ARGUMENT: message` and the command's usage on
 * stderr, and exits 2.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code: ErrorCode = 'LOGSTORE_INVALID_ARGUMENT';
}

/**
 * A failure the CLI itself detects (not a LogStoreError): `error: CODE: message`, exit 1. The
 * code is one of the library's, so that a script sees the same code from the CLI and the API.
 */
export class CliError extends Error {
  override readonly name = 'CliError';

  constructor(
    message: string,
    readonly code: ErrorCode = 'LOGSTORE_INVALID_ARGUMENT',
  ) {
    super(message);
  }
}

type OptionSpec = { type: 'string' | 'boolean'; short?: string; multiple?: boolean };
export type OptionSpecs = Record<string, OptionSpec>;

const COMMON: OptionSpecs = {
  help: { type: 'boolean', short: 'h' },
  debug: { type: 'boolean' },
};

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  help: boolean;
}

/**
 * Parses `argv` strictly against `options` (plus --help and --debug). A string option followed by
 * a negative number (`--retention-ms -1`) takes it as its value, which parseArgs alone refuses.
 */
export function parse(
  argv: readonly string[],
  options: OptionSpecs,
  positionals: { min: number; max: number },
): Parsed {
  const specs = { ...COMMON, ...options };
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const name = arg.startsWith('--') ? arg.slice(2) : undefined;
    if (name !== undefined && specs[name]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      args.push(`${arg}=${next}`);
      i++;
    } else args.push(arg);
  }
  checkOptionNames(args, specs);
  let result;
  try {
    result = parseArgs({ args, options: specs, allowPositionals: true, strict: true });
  } catch (err) {
    throw usageOf(err, specs);
  }
  const help = result.values.help === true;
  if (!help) {
    if (result.positionals.length < positionals.min) throw new UsageError('missing arguments');
    if (result.positionals.length > positionals.max) {
      throw new UsageError(`unexpected argument '${result.positionals[positionals.max]}'`);
    }
  }
  return { values: result.values as Parsed['values'], positionals: result.positionals, help };
}

/** Refuses an unknown option with the closest known one (`--folow`: did you mean --follow?). */
function checkOptionNames(args: readonly string[], specs: OptionSpecs): void {
  const longs = Object.keys(specs);
  for (const arg of args) {
    if (arg === '--') return; // the rest are positionals
    if (arg.startsWith('--')) {
      const name = arg.slice(2).split('=')[0]!;
      if (Object.hasOwn(specs, name)) continue;
      const close = closestName(name, longs);
      throw new UsageError(`unknown option --${name}${close ? `; did you mean --${close}?` : ''}`);
    }
    if (/^-[^-\d]/.test(arg)) {
      const shorts = Object.entries(specs).filter(([, spec]) => spec.short !== undefined);
      for (const letter of arg.slice(1).split('=')[0]!) {
        if (shorts.some(([, spec]) => spec.short === letter)) continue;
        const known = shorts.map(([name, spec]) => `-${spec.short} (--${name})`).join(', ');
        throw new UsageError(`unknown option -${letter}${known ? `; the short options are ${known}` : ''}`);
      }
    }
  }
}

/** parseArgs' other complaints, in the CLI's words. */
function usageOf(err: unknown, specs: OptionSpecs): UsageError {
  const message = (err as Error).message;
  // "Option '-f, --follow' does not take an argument", "Option '--max <value>' argument missing"
  const name = /'(?:-\w, )?--([\w-]+)/.exec(message)?.[1];
  const spec = name === undefined ? undefined : specs[name];
  if ((err as { code?: string }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && spec) {
    return new UsageError(spec.type === 'string' ? `--${name} needs a value` : `--${name} takes no value`);
  }
  return new UsageError(message.split('\n')[0]!);
}

export function stringOption(parsed: Parsed, name: string): string | undefined {
  const v = parsed.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function flag(parsed: Parsed, name: string): boolean {
  return parsed.values[name] === true;
}

/** An integer option within [min, max], or undefined when absent. */
export function intOption(
  parsed: Parsed,
  name: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  const v = stringOption(parsed, name);
  if (v === undefined) return undefined;
  return parseIntArg(`--${name}`, v, min, max);
}

export function parseIntArg(what: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^-?\d+$/.test(text)) throw new UsageError(`${what} expects an integer, got '${text}'`);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`${what} expects an integer ${range}, got '${text}'`);
  }
  return n;
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
};

/** Bytes: `4096`, `64KiB`, `128M` (binary), `1GB` (decimal); `-1` where "no limit" is allowed. */
export function parseSize(what: string, text: string, allowUnlimited: boolean): number {
  if (allowUnlimited && text === '-1') return -1;
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text);
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new UsageError(
      `${what} expects a size such as 4096, 64KiB or 1GiB${allowUnlimited ? ' (or -1)' : ''}, got '${text}'`,
    );
  }
  const n = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(n)) throw new UsageError(`${what}: ${text} is too large`);
  return n;
}

const DURATION_UNITS: Record<string, number> = {
  '': 1,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Milliseconds: `60000`, `90s`, `15m`, `7d`; `-1` where "forever" is allowed. */
export function parseDuration(what: string, text: string, allowUnlimited: boolean): number {
  if (allowUnlimited && text === '-1') return -1;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|)$/i.exec(text);
  if (!m) {
    throw new UsageError(
      `${what} expects a duration such as 60000, 90s, 15m or 7d${allowUnlimited ? ' (or -1)' : ''}, got '${text}'`,
    );
  }
  const n = Math.round(Number(m[1]) * DURATION_UNITS[m[2]!.toLowerCase()]!);
  if (!Number.isSafeInteger(n)) throw new UsageError(`${what}: ${text} is too large`);
  return n;
}

/** Where a read starts, as the library takes it. */
export type StartArg = 'earliest' | 'latest' | number | { timestamp: number };

/**
 * `earliest`, `latest`, an offset, or an ISO-8601 time (`2024-05-01`, `2024-05-01T12:00:00Z`,
 * `2024-05-01T14:00:00+02:00`; without a zone a date-time is local time, as in JavaScript).
 */
export function parseStart(what: string, text: string): StartArg {
  if (text === 'earliest' || text === 'latest') return text;
  if (/^\d+$/.test(text)) return parseIntArg(what, text, 0);
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:\d{2})?$/i.test(text)) {
    const ms = Date.parse(text.replace(' ', 'T'));
    if (Number.isFinite(ms)) return { timestamp: ms };
  }
  throw new UsageError(`${what} expects earliest, latest, an offset or an ISO-8601 time, got '${text}'`);
}

/** Prints `usage` on stdout and returns true when --help was given; commands call it after parsing. */
export function printHelp(parsed: Parsed, usage: string): boolean {
  if (parsed.help) process.stdout.write(usage);
  return parsed.help;
}
