// Tests are compiled by `tsc` into dist/ first (dist/spec; build/ holds the native addon);
// mocha runs the JavaScript. The reporter also writes each file's time to $LOGSTORE_SPEC_TIMES
// when it is set (scripts/spec-times.js prints the slowest).
module.exports = {
  spec: ['dist/spec/**/*.spec.js'],
  reporter: './spec/helpers/summary-reporter.cjs',
  timeout: 20000,
  exit: true,
};
