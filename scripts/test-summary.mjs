// Prints the suite's closing line ("N passed, N failed, N skipped") from
// vitest's JSON reports, and enforces the per-package coverage floors.
// Usage: node scripts/test-summary.mjs [--coverage summary.json] report.json...
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';

const args = process.argv.slice(2);
let coveragePath;
const reports = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--coverage') coveragePath = args[++i];
  else reports.push(args[i]);
}
const floors = { 'packages/core': 95 };
let failed = false;

if (coveragePath && existsSync(coveragePath)) {
  const summary = JSON.parse(readFileSync(coveragePath, 'utf8'));
  for (const [dir, floor] of Object.entries(floors)) {
    let covered = 0;
    let total = 0;
    for (const [file, s] of Object.entries(summary)) {
      if (file === 'total') continue;
      if (!relative(process.cwd(), file).startsWith(`${dir}/`)) continue;
      covered += s.lines.covered;
      total += s.lines.total;
    }
    const pct = total === 0 ? 0 : (100 * covered) / total;
    const ok = pct >= floor;
    if (!ok) failed = true;
    console.log(`coverage ${dir}: ${pct.toFixed(2)}% lines (floor ${floor}%) ${ok ? 'ok' : 'BELOW FLOOR'}`);
  }
}

let passed = 0;
let failedTests = 0;
let skipped = 0;
for (const path of reports) {
  if (!existsSync(path)) {
    console.log(`missing test report ${path}`);
    failedTests += 1;
    continue;
  }
  const report = JSON.parse(readFileSync(path, 'utf8'));
  passed += report.numPassedTests;
  // A file that fails to load has no failed test of its own: count it as one.
  failedTests +=
    report.numFailedTests + (report.numFailedTestSuites > 0 && report.numFailedTests === 0 ? 1 : 0);
  skipped += report.numPendingTests + report.numTodoTests;
}
console.log(`\n${passed} passed, ${failedTests} failed, ${skipped} skipped`);
if (failed || failedTests > 0 || passed === 0) process.exit(1);
