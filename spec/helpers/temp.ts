/** Temporary store directories, removed after each test file. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const made: string[] = [];

export function tempDir(prefix = 'logstore-spec-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

/** The error if it is a LogStoreError with `code`; throws a descriptive failure otherwise. */
function withCode(err: unknown, code: string): Error & { code: string } {
  const e = err as Error & { code: string };
  if (e?.name !== 'LogStoreError' || e.code !== code) {
    throw new Error(`expected LogStoreError ${code}, got ${e?.name} ${e?.code}: ${e?.message}`);
  }
  return e;
}

/** Asserts that `fn` throws a LogStoreError with `code`; returns it for further checks. */
export function expectCode(fn: () => unknown, code: string): Error & { code: string } {
  try {
    fn();
  } catch (err) {
    return withCode(err, code);
  }
  throw new Error(`expected LogStoreError ${code}, but nothing was thrown`);
}

export async function expectCodeAsync(
  fn: () => Promise<unknown>,
  code: string,
): Promise<Error & { code: string }> {
  try {
    await fn();
  } catch (err) {
    return withCode(err, code);
  }
  throw new Error(`expected LogStoreError ${code}, but nothing was thrown`);
}
