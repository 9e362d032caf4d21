/**
 * The benchmark list, in the order the runner runs and prints it. Each entry is one case file;
 * entries the harness cannot measure yet are listed as TODOs so the table says so rather than
 * leaving a figure of the spec silently out.
 */
import type { BenchCase, TodoCase } from '../case.js';
import batchedAppend from './batched-append.js';
import durableSingleAppend from './durable-single-append.js';
import groupCommit from './group-commit.js';
import liveLatency from './live-latency.js';
import openTime from './open-time.js';
import readerFanout from './reader-fanout.js';
import sequentialRead from './sequential-read.js';
import singleAppend from './single-append.js';

export const CASES: BenchCase[] = [
  batchedAppend,
  singleAppend,
  sequentialRead,
  durableSingleAppend,
  groupCommit,
  liveLatency,
  ...readerFanout,
  openTime,
];

export const TODO_CASES: TodoCase[] = [
  {
    name: 'tail-follow-latency',
    measures: 'append -> `logstore tail --follow` latency in another process',
    target: 'p99 < 50 ms',
    todo: 'needs the CLI tail command and a read-only open that follows a live writer',
  },
  {
    name: 'recovery-after-kill',
    measures: 'open after `kill -9` of a writer: recovery time and bytes cut',
    todo: 'needs a writer child killed mid-append and recovery reporting from open',
  },
  {
    name: 'open-time-10gib',
    measures: 'open after clean close of a 10 GiB store',
    target: '< 1 s',
    todo: 'open-time measures 20M records (~2 GB); 10 GiB needs ~100M records and the disk time to write them',
  },
  {
    name: 'rss-streaming-10gib',
    measures: 'peak RSS while streaming 10 GiB through write and read',
    target: '< 256 MiB',
    todo: 'needs a streaming writer+reader over 10 GiB with RSS sampled during the run',
  },
];

export function findCase(name: string): BenchCase | undefined {
  return CASES.find((c) => c.name === name);
}
