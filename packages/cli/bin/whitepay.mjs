#!/usr/bin/env node
// `whitepay`: runs dist/main.js when the package is built and no source changed since the build (the
// build info of `tsc -b` is newer than every file in src/), else src/main.ts through tsx with the
// `development` condition (workspace packages then resolve to their sources too).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const built = join(root, 'dist', 'main.js');
const source = join(root, 'src', 'main.ts');
const buildInfo = join(root, 'tsconfig.tsbuildinfo');

function newestSource() {
  let newest = 0;
  for (const f of readdirSync(join(root, 'src'), { recursive: true })) {
    const name = String(f);
    if (name.endsWith('.ts')) newest = Math.max(newest, statSync(join(root, 'src', name)).mtimeMs);
  }
  return newest;
}

const useBuilt =
  existsSync(built) &&
  (!existsSync(source) || (existsSync(buildInfo) && statSync(buildInfo).mtimeMs >= newestSource()));

if (useBuilt) {
  await import(pathToFileURL(built).href);
} else {
  const tsx = import.meta.resolve('tsx');
  const child = spawn(
    process.execPath,
    ['--conditions=development', '--import', tsx, source, ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => child.kill(signal));
  }
  child.on('exit', (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exitCode = code ?? 1;
  });
}
