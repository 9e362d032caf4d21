/**
 * `logstore serve` as a child process for the specs: started on a free port (or a given one, to
 * restart on the same address), with the address it printed; stopped with a signal.
 */
import { RunningCli } from '../cli/cli-helpers.js';

export interface ServeProcess {
  cli: RunningCli;
  port: number;
  bootstrap: string;
  /** Sends `signal` and resolves with the exit. */
  stop(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const LISTENING = /^logstore serve: listening on (\S+):(\d+)/;

export async function startServe(dir: string, args: string[] = [], port = 0): Promise<ServeProcess> {
  const cli = new RunningCli(['serve', dir, '--port', String(port), ...args]);
  let exited = false;
  void cli.exited.then(() => (exited = true));
  await cli.waitFor(
    (lines) => exited || lines.some((l) => LISTENING.test(l)),
    30_000,
    'logstore serve to listen',
  );
  const line = cli.lines.find((l) => LISTENING.test(l));
  if (!line) throw new Error(`logstore serve exited before listening: ${cli.stderr}`);
  const [, host, bound] = LISTENING.exec(line)!;
  return {
    cli,
    port: Number(bound),
    bootstrap: `${host}:${bound}`,
    stop: async (signal) => {
      if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill(signal);
      return cli.exited;
    },
  };
}
