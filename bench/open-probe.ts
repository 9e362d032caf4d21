/**
 * Times `LogStore.open(dir)` in a process that has never touched the store (forked by the
 * open-time and recovery-time cases), so no state cached by the writer's process helps. Loading
 * the library happens before the clock starts. Replies over IPC with `ProbeReply`.
 */
import { fork } from 'node:child_process';
import { loadLogStore, partitionSize } from './logstore.js';

export interface ProbeReply {
  seconds: number;
  /** CPU time (user + system) of the open: what it costs, whatever the machine's load. */
  cpuSeconds: number;
  peakRssBytes: number;
  /** Not timed: what the open found, so that a fast open cannot be an empty or unclean one. */
  endOffset: number;
  clean: boolean;
  /** The partition after the open: bytes of batches and segments. */
  bytes: number;
  segments: number;
  /** From `store.recovery`: torn tails cut and their bytes. */
  truncated: number;
  bytesCut: number;
}

/** Forks this file on `dir` and resolves with its reply. */
export function openInFreshProcess(dir: string): Promise<ProbeReply> {
  return new Promise((resolve, reject) => {
    const child = fork(new URL('./open-probe.js', import.meta.url), [dir], { stdio: 'inherit' });
    let reply: ProbeReply | undefined;
    child.on('message', (m) => (reply = m as ProbeReply));
    child.on('error', reject);
    child.on('exit', (code) =>
      reply ? resolve(reply) : reject(new Error(`open probe exited with code ${code} before replying`)),
    );
  });
}

async function probe(dir: string, send: (reply: ProbeReply) => void): Promise<void> {
  const LogStore = await loadLogStore();
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const store = LogStore.open(dir);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const { user, system } = process.cpuUsage(cpu);
  const peakRssBytes = process.resourceUsage().maxRSS * 1024;
  const { bytes, segments, endOffset } = partitionSize(store);
  const reply: ProbeReply = {
    seconds,
    cpuSeconds: (user + system) / 1e6,
    peakRssBytes,
    endOffset,
    clean: store.recovery.clean,
    bytes,
    segments,
    truncated: store.recovery.truncated.length,
    bytesCut: store.recovery.bytesCut,
  };
  await store.close();
  send(reply);
}

// Forked with a directory and an IPC channel: probe it. Imported (by a case): nothing to do.
if (
  process.send !== undefined &&
  process.argv[2] !== undefined &&
  process.argv[1]?.endsWith('open-probe.js')
) {
  const send = process.send.bind(process);
  await probe(process.argv[2], (reply) => send(reply));
}
