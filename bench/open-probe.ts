/**
 * Times `LogStore.open(dir)` in a process that has never touched the store (forked by the
 * open-time case), so no cached state of the writer's process helps. Loading the library is done
 * before the clock starts. Replies over IPC: { seconds, peakRssBytes, endOffset }.
 */
import { loadLogStore, TOPIC } from './logstore.js';

const dir = process.argv[2];
if (dir === undefined || process.send === undefined) throw new Error('usage: fork(open-probe.js, [dir])');
const LogStore = await loadLogStore();
const start = process.hrtime.bigint();
const store = await LogStore.open(dir);
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
// Not timed: proof that the open saw the data, so a fast open cannot be an empty one.
const described = store.describeTopic(TOPIC);
await store.close();
process.send({ seconds, peakRssBytes: process.resourceUsage().maxRSS * 1024, described });
