import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { defineCase, since } from '../case.js';
import { latencyPercentiles } from '../stats.js';

/** The repository root (this file is dist/bench/cases/tail-follow-latency.js) and the CLI. */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = fileURLToPath(new URL('../../../bin/logstore.js', import.meta.url));

/**
 * Append -> `logstore tail --follow --format json` latency across processes, as
 * spec/cli/tail-latency.ts measures it. This process is the writer (durability 'none', the
 * topic's default segments); `node bin/logstore.js tail <dir> bench --follow --format json` runs
 * in another process (read-only, polling). One record is appended at a time, at irregular gaps of
 * `minGapMs`..`maxGapMs` (a fixed LCG, so that the writes do not fall into step with the
 * follower's 5 ms poll), each value the writer's `process.hrtime.bigint()` as a decimal string
 * (CLOCK_MONOTONIC: one clock for all processes). The latency is this process's hrtime when the
 * JSON line arrives minus that, so it includes the tail's formatting and the pipe back. The
 * first `warmup` lines (the tail's start-up) are not counted.
 */
export default defineCase({
  name: 'tail-follow-latency',
  measures:
    'append -> `logstore tail --follow --format json` line in another process, one record every 1-10 ms',
  target: 'p99 < 50 ms',
  goal: { of: 'median', below: 50 },
  unit: 'latency',
  sizes: {
    quick: { samples: 300, warmup: 50, minGapMs: 1, maxGapMs: 10 },
    full: { samples: 3_000, warmup: 100, minGapMs: 1, maxGapMs: 10 },
  },
  subjects: {
    async logstore({ samples, warmup, minGapMs, maxGapMs }, dir) {
      const { openStore, TOPIC } = await import('../logstore.js');
      const store = await openStore(dir, { durability: 'none' });
      const latencies = new Float64Array(samples);
      let received = 0;
      /** Lines received before the measured appends began (the tail's start-up); -1: not yet. */
      let base = -1;
      let waiting: (() => void) | null = null;

      const tail = spawn(
        process.execPath,
        [BIN, 'tail', dir, TOPIC, '--follow', '--from', 'earliest', '--format', 'json'],
        { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stderr = '';
      let exited = false;
      const exit = new Promise<void>((resolve) =>
        tail.on('exit', () => {
          exited = true;
          waiting?.();
          resolve();
        }),
      );
      tail.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
      let pending = '';
      tail.stdout.setEncoding('utf8').on('data', (d: string) => {
        const now = process.hrtime.bigint();
        pending += d;
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          const sent = BigInt((JSON.parse(line) as { value: string }).value);
          const i = received - base - warmup;
          if (base >= 0 && i >= 0 && i < samples) latencies[i] = Number(now - sent) / 1e6;
          received++;
        }
        waiting?.();
      });
      const append = () => store.append(TOPIC, { value: String(process.hrtime.bigint()) }, { partition: 0 });

      try {
        const until = async (done: () => boolean, ms: number, what: string) => {
          const deadline = Date.now() + ms;
          while (!done()) {
            if (exited || Date.now() > deadline) throw new Error(`${what}: ${received} lines; ${stderr}`);
            await new Promise<void>((resolve) => {
              waiting = resolve;
              setTimeout(resolve, 20);
            });
          }
        };
        // Until the tail prints its first line it is still starting: one record every 20 ms,
        // then wait for all of them, so that none of the start-up backlog is measured.
        let appended = 0;
        await until(
          () => {
            if (received > 0) return true;
            append();
            appended++;
            return false;
          },
          30_000,
          'tail did not start',
        );
        await until(() => received === appended, 10_000, 'tail did not catch up');
        base = received;
        const total = base + warmup + samples;
        let seed = 12345;
        const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
        const start = process.hrtime.bigint();
        for (; appended < total; appended++) {
          await sleep(minGapMs + random() * (maxGapMs - minGapMs));
          append();
        }
        await until(() => received >= total, 10_000, `tail printed fewer than ${total} records`);
        const seconds = since(start);
        return {
          ops: samples,
          seconds,
          bytes: 0,
          latencyMs: latencyPercentiles(latencies),
          note: `${samples} records`,
        };
      } finally {
        tail.kill('SIGINT');
        const killTimer = setTimeout(() => tail.kill('SIGKILL'), 2000);
        await exit;
        clearTimeout(killTimer);
        await store.close();
      }
    },
  },
});
