/**
 * Peer: LevelDB (classic-level) with 8-byte big-endian sequence numbers as keys, so that key order
 * is append order, and raw buffer values. Writes are not synced (LevelDB's default `sync: false`).
 */
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';

export type Level = ClassicLevel<Buffer, Buffer>;

export async function openDb(dir: string): Promise<Level> {
  const db = new ClassicLevel<Buffer, Buffer>(join(dir, 'leveldb'), {
    keyEncoding: 'buffer',
    valueEncoding: 'buffer',
  });
  await db.open();
  return db;
}

export function keyOf(i: number): Buffer {
  const key = Buffer.allocUnsafe(8);
  key.writeBigUInt64BE(BigInt(i));
  return key;
}

/** Reads every entry with `nextv(1000)`; returns entries and value bytes seen. */
export async function readAll(db: Level): Promise<{ ops: number; bytes: number }> {
  let ops = 0;
  let bytes = 0;
  // highWaterMarkBytes above 1000 entries, or nextv stops early at its 16 KiB default.
  const it = db.iterator({ highWaterMarkBytes: 1000 * 128 });
  try {
    for (;;) {
      const entries = await it.nextv(1000);
      if (entries.length === 0) break;
      for (const [, value] of entries) bytes += value.length;
      ops += entries.length;
    }
  } finally {
    await it.close();
  }
  return { ops, bytes };
}
