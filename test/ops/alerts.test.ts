import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { CHART, ensureHelm, helmTemplate } from '../k8s/chart.js';

// The chart's PrometheusRule (docs/alerts.md) checked by Prometheus's own
// tools: `promtool check rules` on the rendered rule file, and `promtool test
// rules` (alerts/alerts.promtool.yaml) on the same rules for every alert's
// firing and quiet cases. promtool is Debian's `prometheus` package.

interface Rule {
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleGroup {
  name: string;
  interval?: string;
  rules: Rule[];
}

const ALERTS = [
  'WhitePayServiceDown',
  'WhitePayProviderUnpaid',
  'WhitePayRoundsWithoutQuorum',
  'WhitePayWalletRunwayLow',
  'WhitePayIngestLag',
  'WhitePayFailedChallengesJump',
  'WhitePaySenderLockLost',
  'WhitePaySenderLockFlapping',
  'WhitePayPeersUnreachable',
  'WhitePayBroadcastLagging',
  'WhitePayKeeperCountedIdle',
];

function render(extra: readonly string[] = []): RuleGroup[] {
  const objects = helmTemplate([
    'k',
    CHART,
    '--namespace',
    'whitepay',
    '-f',
    join(CHART, 'ci', 'production-values.yaml'),
    '--set',
    'keeperId=3',
    // Keeper 3 is not in the production example's group: its bus key is named directly.
    '--set',
    'nats.signer=0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    '--set',
    'metrics.alerts.enabled=true',
    ...extra,
  ]);
  const rule = objects.find((o) => o.kind === 'PrometheusRule');
  if (!rule) throw new Error('no PrometheusRule rendered');
  return (rule.spec as { groups: RuleGroup[] }).groups;
}

function promtool(args: readonly string[], cwd: string): string {
  try {
    return execFileSync('promtool', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

describe('the chart alert rules, by promtool', () => {
  let dir: string;
  beforeAll(() => {
    ensureHelm();
    dir = mkdtempSync(join(tmpdir(), 'whitepay-alerts-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('renders nothing unless enabled', () => {
    const objects = helmTemplate([
      'k',
      CHART,
      '-f',
      join(CHART, 'ci', 'production-values.yaml'),
      '--set',
      'metrics.alerts.enabled=false',
    ]);
    expect(objects.filter((o) => o.kind === 'PrometheusRule')).toEqual([]);
  });

  it('renders every alert with a summary and a description, and promtool accepts the file', () => {
    const groups = render();
    const rules = groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual(ALERTS);
    for (const r of rules) {
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      expect(r.annotations?.description, r.alert).toBeTruthy();
      expect(r.labels?.severity, r.alert).toMatch(/^(warning|critical)$/);
      // Scoped to this release's series.
      expect(r.expr, r.alert).toContain('namespace="whitepay",keeper="3"');
    }
    writeFileSync(join(dir, 'full.yaml'), stringify({ groups }));
    expect(promtool(['check', 'rules', 'full.yaml'], dir)).toMatch(/SUCCESS: 11 rules found/);
  });

  it('fires each alert on its fault and stays quiet otherwise (promtool test rules)', () => {
    const groups = render().map((g) => ({
      ...g,
      // Annotations are checked above; the unit tests compare labels only.
      rules: g.rules.map(({ annotations: _annotations, ...rule }) => rule),
    }));
    writeFileSync(join(dir, 'rules.yaml'), stringify({ groups }));
    copyFileSync(
      join(import.meta.dirname, 'alerts', 'alerts.promtool.yaml'),
      join(dir, 'alerts.promtool.yaml'),
    );
    expect(promtool(['test', 'rules', 'alerts.promtool.yaml'], dir)).toMatch(/SUCCESS/);
  });

  it('takes an absolute balance floor and extra alert labels from values', () => {
    const groups = render([
      '--set-string',
      'metrics.alerts.walletMinBalanceWei=1000000000000000000',
      '--set',
      'metrics.alerts.alertLabels.team=storage',
    ]);
    const rules = groups.flatMap((g) => g.rules);
    const floor = rules.find((r) => r.alert === 'WhitePayWalletBalanceLow');
    expect(floor?.expr).toContain('< 1000000000000000000');
    for (const r of rules) expect(r.labels?.team, r.alert).toBe('storage');
    writeFileSync(join(dir, 'floor.yaml'), stringify({ groups }));
    expect(promtool(['check', 'rules', 'floor.yaml'], dir)).toMatch(/SUCCESS: 12 rules found/);
  });
});
