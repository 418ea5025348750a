import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The Grafana dashboard shipped with the chart queries only metrics that the
// services really export (a renamed metric would silently empty a panel).

const root = join(import.meta.dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (f === 'node_modules' || f === 'dist') return [];
    if (statSync(p).isDirectory()) return sources(p);
    return p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

describe('Grafana dashboard', () => {
  it('every metric it queries is exported by a service', () => {
    const dashboard = readFileSync(
      join(root, 'deploy/helm/whitepay-keeper/dashboards/whitepay.json'),
      'utf8',
    );
    const exprs = [...dashboard.matchAll(/"expr":\s*"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
    expect(exprs.length).toBeGreaterThan(5);
    const code = [
      ...sources(join(root, 'services')),
      ...sources(join(root, 'packages/base/src')),
      // the chain client's RPC metrics, shared by the coordinator and the chain-submitter
      ...sources(join(root, 'packages/chain/src')),
    ]
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    const defined = new Set([...code.matchAll(/name: '(whitepay_[a-z0-9_]+)'/g)].map((m) => m[1]!));
    const queried = new Set<string>();
    for (const e of exprs) {
      for (const m of e.matchAll(/\b(whitepay_[a-z0-9_]+)\b(?!\s*!?=)/g)) // not the whitepay_service label
        queried.add(m[1]!.replace(/_(bucket|sum|count)$/, ''));
      // Name regexes such as {__name__=~"whitepay_store_ingest_(a|b)"} expand to their alternatives.
      for (const m of e.matchAll(/__name__=~\\"(whitepay_[a-z0-9_]+)\(([a-z0-9_|]+)\)\\"/g)) {
        queried.delete(m[1]!);
        for (const alt of m[2]!.split('|')) queried.add(`${m[1]}${alt}`);
      }
    }
    const missing = [...queried].filter((q) => !defined.has(q));
    expect(missing).toEqual([]);
  });

  it('has a keeper variable, and every query filters on it', () => {
    const dashboard = JSON.parse(
      readFileSync(join(root, 'deploy/helm/whitepay-keeper/dashboards/whitepay.json'), 'utf8'),
    ) as {
      templating: { list: { name: string; type: string; definition?: string }[] };
      panels: { title: string; targets?: { expr: string }[]; panels?: { targets?: { expr: string }[] }[] }[];
    };
    const vars = dashboard.templating.list;
    // `keeper` is the target label the ServiceMonitor sets from the pod label whitepay.io/keeper-id.
    const keeper = vars.find((v) => v.name === 'keeper');
    expect(keeper?.type).toBe('query');
    expect(keeper?.definition).toMatch(/, keeper\)$/);
    expect(vars.find((v) => v.name === 'service')?.definition).toContain('keeper=~"$keeper"');
    const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
    const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(5);
    // every selector of every query, and no metric without a selector
    const unfiltered = exprs.flatMap((e) => [
      ...[...e.matchAll(/\{[^}]*\}/g)].map((m) => m[0]).filter((sel) => !sel.includes('keeper=~"$keeper"')),
      ...[...e.matchAll(/\bwhitepay_[a-z0-9_]+\b(?![{(=!])/g)]
        .filter((m) => e[m.index - 1] !== '"' && e[m.index - 1] !== '~')
        .map((m) => m[0]),
    ]);
    expect(exprs.filter((e) => !e.includes('keeper=~"$keeper"'))).toEqual([]);
    expect(unfiltered).toEqual([]);
  });
});
