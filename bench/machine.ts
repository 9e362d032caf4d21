/** What the figures were measured on, printed above every table and stored in the JSON. */
import { cpus, release, tmpdir, totalmem } from 'node:os';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  os: string;
  tmpdir: string;
  date: string;
}

export function describeMachine(): Machine {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    os: `${process.platform} ${release()}`,
    tmpdir: tmpdir(),
    date: new Date().toISOString(),
  };
}
