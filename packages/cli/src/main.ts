// The `whitepay` binary (bin/whitepay.mjs runs this file, or its build in dist/).
import { run } from './run.js';

process.exitCode = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
});
