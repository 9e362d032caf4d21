/**
 * The parent's side of the writer child (writer-child.ts): starts it on a plan, feeds every line it
 * prints to a Ledger as the line arrives, lets the scenario wait for a moment of its run (opened,
 * first acknowledgement, work done), kills it, and hands back how it ended. Every scenario of the
 * suite that needs a writer in another process goes through `startWriter`.
 */
import { Ledger } from './ledger.js';
import { exitWithin, spawnNode, SCRIPTS, type Exit, type Proc } from './proc.js';
import type { ScriptStep, WriterPlan } from './writer-child.js';

export interface WriterOptions {
  /** Crash points and fault injection, read by the library: LOGSTORE_CRASH_AT, LOGSTORE_FAIL_SYNC. */
  env?: Record<string, string | undefined>;
  /** Runs the child under `ulimit -f <KiB>`. */
  fileSizeLimitKiB?: number;
  /** Keep every line printed (for a failure report); the ledger keeps only what it understands. */
  keepLines?: boolean;
  /**
   * Feed this ledger instead of a fresh one: the children that write one store in turn (kill,
   * restart, kill...) add up to one account of what it must hold.
   */
  ledger?: Ledger;
}

/** Moments of a writer's run a scenario can wait for. */
export type Moment = 'open' | 'ack' | 'done';

const MOMENT_OF: Record<Moment, (line: string) => boolean> = {
  open: (line) => line.startsWith('open '),
  ack: (line) => line.startsWith('a '),
  done: (line) => line === 'done',
};

export class WriterProcess {
  readonly ledger: Ledger;
  readonly lines: string[] = [];
  readonly proc: Proc;
  private readonly seen = new Set<Moment>();
  /** The child has exited and its output is read. */
  private gone = false;
  private readonly waiters: { moment: Moment; resolve: (seen: boolean) => void }[] = [];

  constructor(
    readonly plan: WriterPlan,
    options: WriterOptions = {},
  ) {
    this.ledger = options.ledger ?? new Ledger();
    this.proc = spawnNode(SCRIPTS.writer, [JSON.stringify(plan)], {
      ...(options.env ? { env: options.env } : {}),
      ...(options.fileSizeLimitKiB !== undefined ? { fileSizeLimitKiB: options.fileSizeLimitKiB } : {}),
      onLine: (line) => {
        if (options.keepLines) this.lines.push(line);
        this.ledger.feed(line);
        for (const moment of Object.keys(MOMENT_OF) as Moment[]) {
          if (!this.seen.has(moment) && MOMENT_OF[moment](line)) this.seen.add(moment);
        }
        this.wake();
      },
    });
    void this.proc.exited.then(() => {
      this.gone = true;
      this.wake();
    });
  }

  private wake(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (this.gone || this.seen.has(w.moment)) {
        this.waiters.splice(i, 1);
        w.resolve(this.seen.has(w.moment));
      }
    }
  }

  /**
   * Resolves once the child has reached `moment` (true), or exited or `timeoutMs` passed without
   * reaching it (false).
   */
  until(moment: Moment, timeoutMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    if (this.seen.has(moment)) return Promise.resolve(true);
    if (this.gone) return Promise.resolve(false);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter = {
        moment,
        resolve: (seen: boolean) => {
          clearTimeout(timer);
          resolve(seen);
        },
      };
      this.waiters.push(waiter);
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          resolve(false);
        }, timeoutMs);
      }
    });
  }

  /** SIGKILLs the child now; resolves once it is gone and every line it printed is read. */
  async kill(): Promise<Exit> {
    this.proc.kill('SIGKILL');
    return this.proc.exited;
  }

  /** Waits for the child to exit on its own; after `ms` it is killed (`timedOut`). */
  exit(ms: number): Promise<Exit & { timedOut: boolean }> {
    return exitWithin(this.proc, ms);
  }
}

export function startWriter(plan: WriterPlan, options: WriterOptions = {}): WriterProcess {
  return new WriterProcess(plan, options);
}

/**
 * A scripted writer: opens `dir` (creating `topics`), runs `steps`, then ends as `end` says (by
 * default SIGKILL: a crash right after its last acknowledgement). Resolves once it is gone.
 */
export async function runScript(
  dir: string,
  topics: WriterPlan['topics'],
  steps: ScriptStep[],
  more: Partial<WriterPlan> = {},
  options: WriterOptions = {},
): Promise<Exit & { timedOut: boolean; ledger: Ledger }> {
  const writer = startWriter(
    {
      dir,
      durability: 'none',
      segmentBytes: 1 << 20,
      topics,
      work: { kind: 'script', steps },
      end: 'kill',
      ...more,
    },
    options,
  );
  return { ...(await writer.exit(60_000)), ledger: writer.ledger };
}
