/**
 * The descriptors this process holds on given files, found by resolving /proc/self/fd.
 *
 * Counting every descriptor of the process is not a measure of one call: another thread (a
 * worker, libuv's pool, a socket of an earlier test being collected) opens and closes its own
 * meanwhile, which once failed CI with 270 against 274. Asking which descriptors point at the
 * files under test is exact and ignores everything else.
 */
import fs from 'node:fs';

/** The paths of this process's open descriptors that are `target` or lie under it, sorted. */
export function descriptorsOn(target: string): string[] {
  const held: string[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let file: string;
    try {
      file = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed since the listing (the listing's own descriptor is one)
    }
    if (file === target || file.startsWith(`${target}/`)) held.push(file);
  }
  return held.sort();
}
