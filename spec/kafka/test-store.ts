/**
 * The listener's specs run against a real store: a fresh LogStore in a temp directory behind the
 * same StoreBackend that `store.serve()` uses, with two test conveniences on top (counting
 * appends, and listing the stored batches of a partition as separate buffers).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LogStore } from '../../lib/index.js';
import { StoreBackend } from '../../lib/kafka/store-backend.js';

/** The stores open, and their directories (removed when they close). */
const open = new Map<LogStore, string>();

export class TestBackend extends StoreBackend {
  appendCalls = 0;

  constructor(readonly logStore: LogStore) {
    super(
      logStore,
      (
        logStore as unknown as {
          services: { internals(): ConstructorParameters<typeof StoreBackend>[1] };
        }
      ).services.internals(),
    );
  }

  override appendBatches(...args: Parameters<StoreBackend['appendBatches']>) {
    this.appendCalls++;
    return super.appendBatches(...args);
  }

  /** The stored batches of a partition, each its own buffer, oldest first. */
  storedBatches(topic: string, partition: number): Buffer[] {
    const all = this.logStore.readBatches(
      topic,
      partition,
      this.offsets(topic, partition).logStartOffset,
      1 << 30,
    );
    const out: Buffer[] = [];
    for (let pos = 0; pos < all.length; pos += 12 + all.readInt32BE(pos + 8))
      out.push(all.subarray(pos, pos + 12 + all.readInt32BE(pos + 8)));
    return out;
  }
}

/** A backend over a fresh store (closed, and its directory removed, by `closeTestStores`). */
export function testBackend(): TestBackend {
  // Not helpers/temp.ts's tempDir: other spec files remove those when they end, while these
  // stores may still be open.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logstore-kafka-'));
  const store = LogStore.open(dir, { cleanupIntervalMs: 0 });
  open.set(store, dir);
  return new TestBackend(store);
}

export async function closeTestStores(): Promise<void> {
  for (const [store, dir] of open) {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  open.clear();
}

// The stores of a spec run stay open while its listeners may still use them, and close at the end
// (under mocha; the stress script's fuzzing closes its own store).
if (typeof after === 'function') after(closeTestStores);
