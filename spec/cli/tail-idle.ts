/**
 * What an idle `logstore tail --follow` costs: the CPU time it uses while the writer (another
 * process, holding the store open) appends nothing, read from /proc/<pid>/stat (utime + stime)
 * at the start and the end of the window, after a warm-up that leaves Node's start-up out: V8's
 * memory reducer runs two full collections ~8 s after a process starts (`--trace-gc`: "Mark-Compact
 * (reduce)", 20-60 ms of CPU with their marking), and an 8 s window after a 2 s warm-up read
 * 0.5-1.1% of a core for them (failing the spec's 1% once in CI), against 0-0.1% from 10 s on.
 *
 *   node dist/spec/cli/tail-idle.js [seconds=60] [partitions=1]
 *
 * Also used by tail-idle.spec.ts with a short window.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RunningCli, sleep, Writer } from './cli-helpers.js';

export interface IdleResult {
  /** Seconds measured (after the warm-up). */
  seconds: number;
  /** CPU seconds the tail process used in them (user + system). */
  cpuSeconds: number;
  /** cpuSeconds / seconds, in percent of one core. */
  percentOfCore: number;
  /** Records tail printed (the writer's initial ones): it was following, not failing. */
  printed: number;
}

/** User + system CPU time of `pid` in clock ticks (fields 14 and 15 of /proc/<pid>/stat). */
function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // field 3 onwards
  return Number(fields[11]) + Number(fields[12]);
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticksPerSecond;
}

export async function measureTailIdle(
  seconds: number,
  partitions = 1,
  warmupMs = 10_000,
): Promise<IdleResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logstore-idle-'));
  const writer = new Writer({ dir, topic: 'idle', partitions, initial: 10 });
  let tail: RunningCli | undefined;
  try {
    await writer.ready;
    tail = new RunningCli(['tail', dir, 'idle', '--follow', '--from', 'earliest', '--format', 'json']);
    await tail.waitFor((lines) => lines.length >= 10, 10_000, 'the initial records');
    await sleep(warmupMs);
    const pid = tail.child.pid!;
    const before = cpuTicks(pid);
    const started = process.hrtime.bigint();
    await sleep(seconds * 1000);
    const after = cpuTicks(pid);
    const wall = Number(process.hrtime.bigint() - started) / 1e9;
    const cpuSeconds = (after - before) / clockTicks();
    return {
      seconds: wall,
      cpuSeconds,
      percentOfCore: (100 * cpuSeconds) / wall,
      printed: tail.lines.length,
    };
  } finally {
    tail?.child.kill('SIGKILL');
    await writer.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const seconds = Number(process.argv[2] ?? 60);
  const partitions = Number(process.argv[3] ?? 1);
  const r = await measureTailIdle(seconds, partitions);
  process.stdout.write(
    `idle tail --follow, ${partitions} partition(s): ${r.cpuSeconds.toFixed(2)} s of CPU in ${r.seconds.toFixed(1)} s = ` +
      `${r.percentOfCore.toFixed(3)}% of a core (load average ${os.loadavg()[0]!.toFixed(1)})\n`,
  );
  process.exit(0);
}
