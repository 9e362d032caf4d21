// Tests are compiled by `tsc` into build/ first; mocha runs the JavaScript.
module.exports = {
  spec: ['dist/spec/**/*.spec.js'],
  reporter: './spec/helpers/summary-reporter.cjs',
  timeout: 20000,
  exit: true,
};
