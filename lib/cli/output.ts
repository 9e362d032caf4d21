/**
 * Terminal and pipe output for the CLI: a buffered sink that respects backpressure and notices
 * when the reading end of a pipe goes away (`| head`), ANSI colours only on a TTY (and never
 * with NO_COLOR), tables, a progress bar on stderr that stays silent when stderr is not a TTY, and
 * number formatting.
 */
import type { Writable } from 'node:stream';

/**
 * Buffered output to a stream (stdout). `push` collects; `flush` writes what was collected in one
 * call and waits while the stream's buffer is full. When the reader of a pipe has gone (EPIPE) the
 * sink becomes `closed`, drops further output and calls `onClose` listeners: for `tail` that is a
 * normal way to end.
 */
export class Output {
  closed = false;
  /** The stream error that closed the sink, unless it was the pipe reader leaving (EPIPE). */
  error: Error | null = null;
  private parts: (string | Buffer)[] = [];
  private bytes = 0;
  private readonly listeners: (() => void)[] = [];
  private drainWaiter: (() => void) | null = null;

  constructor(readonly stream: Writable & { isTTY?: boolean } = process.stdout) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') this.error = err;
      this.close();
    });
    stream.on('drain', () => this.wakeDrain());
    if (stream.destroyed) this.closed = true;
  }

  get isTTY(): boolean {
    return this.stream.isTTY === true;
  }

  /** Bytes collected and not yet written. */
  get pending(): number {
    return this.bytes;
  }

  onClose(listener: () => void): void {
    if (this.closed) listener();
    else this.listeners.push(listener);
  }

  push(chunk: string | Buffer): void {
    if (this.closed) return;
    this.parts.push(chunk);
    this.bytes += chunk.length;
  }

  /** Writes what was pushed; resolves when the stream can take more (or the sink closed). */
  async flush(): Promise<void> {
    if (this.closed || this.parts.length === 0) {
      this.parts = [];
      this.bytes = 0;
      return;
    }
    const parts = this.parts;
    this.parts = [];
    this.bytes = 0;
    const data = parts.every((p) => typeof p === 'string')
      ? (parts as string[]).join('')
      : Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
    let ok: boolean;
    try {
      ok = this.stream.write(data);
    } catch {
      this.close();
      return;
    }
    if (!ok && !this.closed) await new Promise<void>((resolve) => (this.drainWaiter = resolve));
  }

  /** Stops waiting for the stream to drain (on a signal): the pending `flush` resolves now. */
  interrupt(): void {
    this.wakeDrain();
  }

  /** Resolves when everything written so far has been handed to the OS (or the sink closed). */
  settle(): Promise<void> {
    if (this.closed || this.stream.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 2000);
      timer.unref();
      this.stream.write('', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.parts = [];
    this.bytes = 0;
    this.wakeDrain();
    for (const listener of this.listeners.splice(0)) listener();
  }

  private wakeDrain(): void {
    const waiter = this.drainWaiter;
    this.drainWaiter = null;
    waiter?.();
  }
}

export interface Colors {
  enabled: boolean;
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  blue(s: string): string;
  magenta(s: string): string;
  cyan(s: string): string;
}

/** Colours for `stream`: on a TTY unless NO_COLOR is set; FORCE_COLOR=1 forces them. */
export function colorsFor(stream: { isTTY?: boolean }): Colors {
  const env = process.env;
  const forced = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  const enabled = forced || (stream.isTTY === true && env.NO_COLOR === undefined && env.TERM !== 'dumb');
  const wrap = (open: number, close: number) => (s: string) =>
    enabled ? `\x1b[${open}m${s}\x1b[${close}m` : s;
  return {
    enabled,
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    blue: wrap(34, 39),
    magenta: wrap(35, 39),
    cyan: wrap(36, 39),
  };
}

// eslint-disable-next-line no-control-regex -- matching the terminal's escape sequences is the point
const ANSI = /\x1b\[[0-9;]*m/g;
const visibleLength = (s: string) => s.replace(ANSI, '').length;

/**
 * A table with a header row; columns are separated by two spaces, numbers are right-aligned.
 * Cells may carry ANSI colours (widths count visible characters only).
 */
export function renderTable(
  header: string[],
  rows: (string | number)[][],
  colors?: Colors,
  indent = '',
): string {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? formatCount(c) : c)));
  const right = header.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => visibleLength(r[i] ?? ''))));
  const line = (r: string[], style?: (s: string) => string) =>
    indent +
    r
      .map((c, i) => {
        const pad = ' '.repeat(Math.max(0, widths[i]! - visibleLength(c)));
        const text = style ? style(c) : c;
        if (i === r.length - 1 && !right[i]) return text;
        return right[i] ? pad + text : text + pad;
      })
      .join('  ');
  return [line(header, colors?.bold), ...cells.map((r) => line(r))].join('\n') + '\n';
}

export function formatCount(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString('en-US') : String(n);
}

export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[i]}`;
}

export function formatDuration(ms: number): string {
  if (ms < 0) return 'forever';
  const units: [number, string][] = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'min'],
    [1000, 's'],
  ];
  for (const [size, unit] of units) if (ms >= size && ms % size === 0) return `${ms / size} ${unit}`;
  return `${ms} ms`;
}

/**
 * A one-line progress bar on stderr, redrawn at most 10 times a second; silent unless stderr is a
 * TTY, so that piped or logged runs stay quiet.
 */
export class Progress {
  private readonly enabled: boolean;
  private last = 0;
  private drawn = false;

  constructor(
    private readonly total: number,
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.enabled = stream.isTTY === true;
  }

  update(done: number, detail = ''): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 100) return;
    this.last = now;
    const width = 30;
    const fraction = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const filled = Math.round(fraction * width);
    const columns = this.stream.columns || 80;
    let text = `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%`;
    if (detail) text += `  ${detail}`;
    if (text.length > columns - 1) text = text.slice(0, columns - 1);
    this.stream.write(`\r${text}\x1b[K`);
    this.drawn = true;
  }

  /** Clears the bar so that what follows starts on a clean line. */
  done(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}
