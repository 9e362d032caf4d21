/**
 * The process-wide bound on mapped closed segments: an LRU, so that a store of thousands of
 * partitions and segments keeps only the ones being read mapped.
 *
 * Why a bound: every mapping is a VMA of the kernel (`vm.max_map_count`, 65,530 by default, is
 * per process), takes page tables, and counts its length as V8 external memory. Active segments
 * (one per partition: the one appends go to) are not counted here and stay mapped; closed ones
 * are mapped on first use and unmapped again, least recently used first, once more than the
 * bound are mapped. 1,024 closed segments plus the active segments plus Node's own few hundred
 * VMAs stay far below the kernel's default limit up to ~60,000 partitions.
 *
 * The bound is `DEFAULT_MAX_MAPPED_SEGMENTS`, or the environment variable
 * `LOGSTORE_MAX_MAPPED_SEGMENTS` (read once, when logstore loads). Use is counted with a clock
 * (one increment per access), and eviction sorts once per batch of evictions, so a read pays
 * no list operation.
 */
import { LogStoreError } from '../errors.js';
import * as native from './native.js';

/** Closed segments that may stay mapped at once in a process (see above for why 1,024). */
export const DEFAULT_MAX_MAPPED_SEGMENTS = 1024;

/** What the cache can unmap: a mapped file (mapped-file.ts). */
export interface Evictable {
  /** The cache's clock at the last use. */
  lastUse: number;
  /** Unmaps now; false when it cannot (views of it are lent out: it stays mapped). */
  evict(): boolean;
}

function boundFromEnvironment(): number {
  const raw = process.env.LOGSTORE_MAX_MAPPED_SEGMENTS;
  if (raw === undefined || raw === '') return DEFAULT_MAX_MAPPED_SEGMENTS;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RangeError(`LOGSTORE_MAX_MAPPED_SEGMENTS must be an integer >= 1, got ${JSON.stringify(raw)}`);
  }
  return n;
}

export class MappingCache {
  private readonly entries = new Set<Evictable>();
  private clock = 0;
  /** Mappings this cache has released since it was made (for tests and figures). */
  evictions = 0;

  constructor(public bound: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** Marks `entry` as just used. */
  use(entry: Evictable): void {
    entry.lastUse = ++this.clock;
  }

  /** `entry` was just mapped: counted, and the least recently used others are unmapped if needed. */
  add(entry: Evictable): void {
    entry.lastUse = ++this.clock;
    this.entries.add(entry);
    if (this.entries.size > this.bound) this.shrinkTo(Math.floor((this.bound * 7) / 8), entry);
  }

  /** `entry` was unmapped, released, or became active: no longer counted. */
  remove(entry: Evictable): void {
    this.entries.delete(entry);
  }

  /**
   * Unmaps the least recently used entries (never `keep`) until at most `target` remain; one
   * sort per call, so going down to 7/8 of the bound makes evictions cheap on average.
   */
  shrinkTo(target: number, keep?: Evictable): void {
    const excess = this.entries.size - Math.max(target, keep ? 1 : 0);
    if (excess <= 0) return;
    const oldest = [...this.entries].sort((a, b) => a.lastUse - b.lastUse);
    let evicted = 0;
    for (const entry of oldest) {
      if (evicted >= excess) break;
      if (entry === keep || !entry.evict()) continue;
      this.entries.delete(entry);
      this.evictions++;
      evicted++;
    }
  }
}

/** The one cache of the process. */
export const mappingCache = new MappingCache(boundFromEnvironment());

/**
 * Maps the whole file at `file`; when the kernel refuses another mapping (ENOMEM:
 * `vm.max_map_count`), unmaps half of the closed files mapped and tries once more.
 */
export function mapMakingRoom(file: string, writable: boolean): Buffer {
  try {
    return native.mapPath(file, writable);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOMEM') throw err;
    mappingCache.shrinkTo(Math.floor(mappingCache.size / 2));
    try {
      return native.mapPath(file, writable);
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code !== 'ENOMEM') throw again;
      throw new LogStoreError(
        'LOGSTORE_IO',
        `Cannot map ${file}: the kernel refused another memory mapping (ENOMEM). This process ` +
          `has reached vm.max_map_count or its memory limit: raise vm.max_map_count (sysctl), or ` +
          `set LOGSTORE_MAX_MAPPED_SEGMENTS lower than ${mappingCache.bound}.`,
        { cause: again },
      );
    }
  }
}
