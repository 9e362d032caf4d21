/**
 * The records every subject writes: 100-byte random values (random so that no subject gains from
 * compression), generated once before the timed section. A pool of 64Ki distinct values (6.5 MB)
 * is cycled instead of allocating one per record, so a 20M-record run does not spend gigabytes of
 * heap on inputs; the pool is larger than any batch and than the CPU caches.
 */
import { randomFillSync } from 'node:crypto';

export const VALUE_BYTES = 100;
const POOL_SIZE = 1 << 16;

/** `POOL_SIZE` distinct random values, views into one buffer. Index with `i & (length - 1)`. */
export function valuePool(size = VALUE_BYTES): Buffer[] {
  const all = randomFillSync(Buffer.allocUnsafe(POOL_SIZE * size));
  const pool: Buffer[] = [];
  for (let i = 0; i < POOL_SIZE; i++) pool.push(all.subarray(i * size, (i + 1) * size));
  return pool;
}

/** The pool's value for record number `i`. */
export function valueAt(pool: Buffer[], i: number): Buffer {
  return pool[i & (pool.length - 1)]!;
}

/**
 * `{ value }` arrays of `batch` records, built once and reused cyclically, so that batched
 * appends time the store rather than the caller's object allocation.
 */
export function recordBatches(pool: Buffer[], batch: number): { value: Buffer }[][] {
  const batches: { value: Buffer }[][] = [];
  for (let start = 0; start < pool.length; start += batch) {
    const records: { value: Buffer }[] = [];
    for (let i = 0; i < batch; i++) records.push({ value: valueAt(pool, start + i) });
    batches.push(records);
  }
  return batches;
}
