/**
 * Times `LogStore.open(dir)` in a process that has never touched the store (forked by the
 * open-time case), so no state cached by the writer's process helps. Loading the library happens
 * before the clock starts. Replies over IPC with `ProbeReply`.
 */
import { loadLogStore, TOPIC } from './logstore.js';

export interface ProbeReply {
  seconds: number;
  peakRssBytes: number;
  /** Not timed: what the open found, so that a fast open cannot be an empty or unclean one. */
  endOffset: number;
  clean: boolean;
}

const dir = process.argv[2];
if (dir === undefined || process.send === undefined) throw new Error('usage: fork(open-probe.js, [dir])');
const LogStore = await loadLogStore();
const start = process.hrtime.bigint();
const store = LogStore.open(dir);
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
const reply: ProbeReply = {
  seconds,
  peakRssBytes: process.resourceUsage().maxRSS * 1024,
  endOffset: store.describeTopic(TOPIC).partitionDetails[0]?.endOffset ?? -1,
  clean: store.recovery.clean,
};
await store.close();
process.send(reply);
