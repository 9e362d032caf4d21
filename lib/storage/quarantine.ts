/**
 * The quarantine folder: where an open moves files the catalog does not list and that do not
 * continue a log, instead of deleting them. Each open that sets something aside gets its own
 * folder, `quarantine/<open time>/`, holding `<topic>-<partition>/<file>` as found. Nothing in it
 * is read by the store again; the user decides what to do with it (the open's report and
 * `logstore verify` name every file).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ioError } from '../errors.js';
import { fsyncDir, quarantinePath } from './layout.js';

export class Quarantine {
  private folder: string | null = null;

  constructor(
    private readonly storeDir: string,
    private readonly now: Date = new Date(),
  ) {}

  /**
   * Moves `source` (a file or a directory) to `<this open's folder>/<into>/<its name>` and makes
   * the move durable; returns the new path. A rename: the bytes are not copied.
   */
  move(source: string, into: string): string {
    const target = path.join(this.openFolder(), into);
    const destination = path.join(target, path.basename(source));
    try {
      fs.mkdirSync(target, { recursive: true });
      fs.renameSync(source, destination);
    } catch (err) {
      throw ioError(err, `Cannot move ${source} to ${destination}`);
    }
    fsyncDir(target);
    fsyncDir(path.dirname(target));
    fsyncDir(path.dirname(source));
    return destination;
  }

  private openFolder(): string {
    if (this.folder) return this.folder;
    const root = quarantinePath(this.storeDir);
    const stamp = this.now.toISOString().replace(/[:.]/g, '-');
    let folder = path.join(root, stamp);
    for (let n = 2; fs.existsSync(folder); n++) folder = path.join(root, `${stamp}-${n}`);
    try {
      fs.mkdirSync(folder, { recursive: true });
    } catch (err) {
      throw ioError(err, `Cannot create ${folder}`);
    }
    fsyncDir(root);
    fsyncDir(this.storeDir);
    this.folder = folder;
    return folder;
  }
}
