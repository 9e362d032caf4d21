// Mocha's spec reporter, plus the closing line CI reads: `N passed, N failed`.
// With LOGSTORE_SPEC_TIMES=<file>, it also writes each spec file's time there as JSON lines
// (wall ms, this process's CPU ms, its children's CPU ms), so CI can name the slowest files.
const fs = require('node:fs');
const Mocha = require('mocha');

// CPU ms of this process and of its waited-for children (utime+stime, cutime+cstime), from
// /proc/self/stat; null where there is no /proc.
function cpuMs() {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const tick = 10; // USER_HZ is 100 on Linux: one clock tick is 10 ms
    return {
      self: (Number(fields[11]) + Number(fields[12])) * tick,
      children: (Number(fields[13]) + Number(fields[14])) * tick,
    };
  } catch {
    return null;
  }
}

class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const timesFile = process.env.LOGSTORE_SPEC_TIMES;
    if (timesFile) {
      const { EVENT_SUITE_BEGIN, EVENT_SUITE_END } = Mocha.Runner.constants;
      const started = new Map();
      runner.on(EVENT_SUITE_BEGIN, (suite) => {
        if (suite.file && suite.parent?.root) {
          started.set(suite, { at: process.hrtime.bigint(), cpu: cpuMs() });
        }
      });
      runner.on(EVENT_SUITE_END, (suite) => {
        const start = started.get(suite);
        if (!start) return;
        const cpu = cpuMs();
        const line = {
          file: suite.file,
          suite: suite.title,
          tests: suite.total(),
          wallMs: Number((process.hrtime.bigint() - start.at) / 1_000_000n),
          cpuMs: cpu && start.cpu ? cpu.self - start.cpu.self : null,
          childCpuMs: cpu && start.cpu ? cpu.children - start.cpu.children : null,
        };
        fs.appendFileSync(timesFile, JSON.stringify(line) + '\n');
      });
    }
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const { passes, failures } = runner.stats;
      process.stdout.write(`\n${passes} passed, ${failures} failed\n`);
    });
  }
}

module.exports = SummaryReporter;
