/**
 * The benchmark list, in the order the runner runs and prints it. Each entry is one case file;
 * entries the harness cannot measure yet are listed as TODOs so the table says so rather than
 * leaving a figure of the spec silently out.
 */
import type { BenchCase, TodoCase } from '../case.js';
import batchedAppend from './batched-append.js';
import codecs from './codecs.js';
import compaction from './compaction.js';
import durableSingleAppend from './durable-single-append.js';
import groupCommit from './group-commit.js';
import kafkaConsume from './kafka-consume.js';
import kafkaLatency from './kafka-latency.js';
import kafkaProduce from './kafka-produce.js';
import liveLatency from './live-latency.js';
import manyPartitions from './many-partitions.js';
import mirrorIn from './mirror-in.js';
import mirrorOut from './mirror-out.js';
import openTime from './open-time.js';
import readerFanout from './reader-fanout.js';
import recoveryTime from './recovery-time.js';
import sequentialRead from './sequential-read.js';
import singleAppend from './single-append.js';
import streamingRss from './streaming-rss.js';
import tailFollowLatency from './tail-follow-latency.js';

export const CASES: BenchCase[] = [
  batchedAppend,
  singleAppend,
  ...sequentialRead,
  durableSingleAppend,
  groupCommit,
  liveLatency,
  tailFollowLatency,
  ...readerFanout,
  openTime,
  recoveryTime,
  streamingRss,
  compaction,
  ...manyPartitions,
  ...codecs,
  kafkaProduce,
  kafkaConsume,
  kafkaLatency,
  mirrorOut,
  mirrorIn,
];

/** Figures of the spec that no case measures yet (none at the moment). */
export const TODO_CASES: TodoCase[] = [];

export function findCase(name: string): BenchCase | undefined {
  return CASES.find((c) => c.name === name);
}
