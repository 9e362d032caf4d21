/**
 * `logstore bench`: runs the benchmark harness (bench/run.ts, built to dist/bench/run.js), which
 * parses its own arguments. It is loaded only here, and only if present: the harness ships with
 * the repository, not with the npm package, so the rest of the CLI works without it.
 */
import { CliError } from './args.js';
import type { Command } from './main.js';

const USAGE = `usage: logstore bench [--quick] [--runs N] [--case NAME] [--json FILE] [--markdown FILE]
                      [--charts DIR] [--merge FILE] [--compare FILE] [--from FILE]
       logstore bench --by-node FILE... [--markdown FILE]

Runs the benchmark harness, logstore side by side with its peers (better-sqlite3, lmdb,
classic-level, plain fs framing): a table, and on request JSON, Markdown, one SVG chart per
case, a comparison with an earlier run's JSON, or runs on several Node versions side by side.
It needs a clone of the repository with its dev dependencies installed (npm install); there,
\`logstore bench --help\` describes every option.
`;

type RunBench = (argv: string[]) => Promise<number>;

export const command: Command = {
  usage: USAGE,
  async run(argv) {
    const args = argv.filter((a) => a !== '--debug');
    const url = new URL('../../bench/run.js', import.meta.url);
    let runBench: RunBench | undefined;
    try {
      runBench = ((await import(url.href)) as { runBench?: RunBench }).runBench;
    } catch (err) {
      if (args.includes('--help') || args.includes('-h')) {
        process.stdout.write(USAGE);
        return 0;
      }
      const e = err as NodeJS.ErrnoException;
      const missing = e.code === 'ERR_MODULE_NOT_FOUND' && e.message.includes(url.pathname);
      throw new CliError(
        missing
          ? 'the benchmark harness is not here (dist/bench/run.js): it runs from a clone of the repository ' +
              'after `npm install`, not from an installed package.'
          : `the benchmark harness cannot load: ${e.message}. Did \`npm install\` install the dev dependencies?`,
      );
    }
    if (typeof runBench !== 'function')
      throw new CliError('dist/bench/run.js does not export runBench(argv)');
    return runBench(args);
  },
};
