// Prints the suite's closing line ("N passed, N failed, N skipped") from
// vitest's JSON report, and enforces the per-package coverage floors.
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';

const [reportPath, coveragePath] = process.argv.slice(2);
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
    if (total === 0) continue;
    const pct = (100 * covered) / total;
    const ok = pct >= floor;
    if (!ok) failed = true;
    console.log(`coverage ${dir}: ${pct.toFixed(2)}% lines (floor ${floor}%) ${ok ? 'ok' : 'BELOW FLOOR'}`);
  }
}

const report = JSON.parse(readFileSync(reportPath, 'utf8'));
const passed = report.numPassedTests;
const failedTests =
  report.numFailedTests + (report.numFailedTestSuites > 0 && report.numFailedTests === 0 ? 1 : 0);
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`\n${passed} passed, ${failedTests} failed, ${skipped} skipped`);
if (failed || failedTests > 0 || passed === 0) process.exit(1);
