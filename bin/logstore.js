#!/usr/bin/env node
// The `logstore` command: runs the compiled CLI (lib/cli/main.ts -> dist/lib/cli/main.js).
let main;
try {
  ({ main } = await import('../dist/lib/cli/main.js'));
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/lib/cli/main.js')) {
    process.stderr.write(
      'error: logstore is not built yet (no dist/lib/cli/main.js); run `npm run build`.\n',
    );
    process.exit(1);
  }
  throw err;
}
const code = await main(process.argv.slice(2));
// Let stdout drain before exiting, so piped output is never cut short.
if (process.stdout.writableLength > 0 && !process.stdout.destroyed) {
  await new Promise((resolve) => {
    process.stdout.once('drain', resolve);
    process.stdout.once('error', resolve);
    setTimeout(resolve, 2000).unref();
  });
}
process.exit(code);
