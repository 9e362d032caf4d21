/**
 * librdkafka's mock cluster driven through its C API (spec/mirror/mock-control.py, Python's ctypes
 * over librdkafka.so.1): the broker kcat runs, plus what kcat cannot do, for the specs of the
 * cluster side of a mirror: move a partition's leader, take a broker down and up, make requests
 * fail with a given Kafka error.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../cli/cli-helpers.js';
import { MISSING, PYTHON } from '../kafka/clients.js';
import { removeTempDirs } from '../helpers/temp.js';

const SCRIPT = path.join(ROOT, 'spec', 'mirror', 'mock-control.py');

function missing(): string | undefined {
  if (MISSING.kcat) return MISSING.kcat;
  try {
    execFileSync(PYTHON, ['-c', 'import ctypes; ctypes.CDLL("librdkafka.so.1")'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return `${PYTHON} cannot load librdkafka.so.1 with ctypes (apt-get install python3 librdkafka1)`;
  }
}

export class ControlledMock {
  private readonly answers: ((line: string) => void)[] = [];
  private stderr = '';

  private constructor(
    readonly bootstrap: string,
    private readonly child: ChildProcess,
  ) {}

  static start(brokers: number): Promise<ControlledMock> {
    const child = spawn(PYTHON, [SCRIPT, String(brokers)], { stdio: ['pipe', 'pipe', 'pipe'] });
    return new Promise((resolve, reject) => {
      let mock: ControlledMock | undefined;
      let pending = '';
      child.stderr!.setEncoding('utf8').on('data', (d: string) => {
        if (mock) mock.stderr = (mock.stderr + d).slice(-2000);
      });
      child.stdout!.setEncoding('utf8').on('data', (d: string) => {
        pending += d;
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          if (!mock) {
            mock = new ControlledMock(line, child);
            resolve(mock);
          } else mock.answers.shift()?.(line);
        }
      });
      child.on('exit', (code) => reject(new Error(`the mock cluster exited (${code})`)));
    });
  }

  /** Runs one command of mock-control.py (`leader t 0 2`, `down 1`, ...); throws unless `ok`. */
  async command(line: string): Promise<void> {
    const answer = await new Promise<string>((resolve) => {
      this.answers.push(resolve);
      this.child.stdin!.write(`${line}\n`);
    });
    if (answer !== 'ok') throw new Error(`mock-control ${line}: ${answer} ${this.stderr}`);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.on('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }
}

/** In a `describe`: a fresh controlled mock per test (skipped, saying why, where it cannot run). */
export function useControlledMock(brokers = 3): { readonly mock: ControlledMock } {
  let current: ControlledMock | undefined;
  before(function () {
    const why = missing();
    if (why) {
      console.log(`      (skipped: ${why})`);
      this.skip();
    }
  });
  beforeEach(async () => {
    current = await ControlledMock.start(brokers);
  });
  afterEach(async () => {
    await current?.stop();
    current = undefined;
  });
  after(removeTempDirs);
  return {
    get mock() {
      return current!;
    },
  };
}
