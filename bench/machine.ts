/** What the figures were measured on, printed above every table and stored in the JSON. */
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  os: string;
  tmpdir: string;
  date: string;
  /**
   * 1-minute load average when the run began: on a shared machine, a load near or above the core
   * count means other work competed with the bench (for the disk too, as a rule).
   */
  loadAverage: number;
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
    loadAverage: Math.round(loadavg()[0]! * 100) / 100,
  };
}
