/**
 * What `logstore serve` does to its own process because it is a broker's: glibc's allocator tuned
 * for a server. Freed C memory (the socket's read buffers: 64 KiB a read, freed only when the
 * garbage collector drops their Buffers) is kept for the next request rather than handed back to
 * the kernel and faulted in again, and the heap those buffers need under a producer's full load
 * is faulted in at start instead of by its first megabytes. Under kcat -P this took the broker's
 * CPU from 0.7-0.9 s to 0.4-0.5 s a run (page faults: ~1,000 instead of 9,000-15,000).
 *
 * Process-wide, so only a command that owns its process calls it; `store.serve()` inside an
 * application never does (the README gives the GLIBC_TUNABLES equivalent).
 */
import { keepFreedMemory } from '../storage/native.js';

/**
 * Freed C heap kept at its top before glibc trims it, the headroom each growth adds, and the heap
 * faulted in at start: what a producer's back-to-back 1 MB requests keep in read buffers between
 * two garbage collections (about 32 MiB under kcat -P, from the page faults of its first run).
 */
const KEEP_FREED_BYTES = 64 * 1024 * 1024;
const TOP_PAD_BYTES = 8 * 1024 * 1024;
const PREFAULT_BYTES = 32 * 1024 * 1024;

/** Tunes the allocator; false, changing nothing, where the C library is not glibc. */
export function tuneAllocatorForBroker(): boolean {
  return keepFreedMemory(KEEP_FREED_BYTES, TOP_PAD_BYTES, PREFAULT_BYTES);
}
