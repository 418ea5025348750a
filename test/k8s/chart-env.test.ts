// One source of truth between the chart and the services: the environment the
// chart renders for every container is loaded through that service's own
// config schema (`loadConfig`), for every shipped values file and the README
// quick start. A variable the service does not read, a required one the chart
// does not give, or a value the schema refuses fails here, naming it — as the
// service itself would at start.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, type ConfigShape, parseConfig, unknownVariables } from '@whitepay/base';
import * as submitter from '@whitepay/chain-submitter/config';
import * as store from '@whitepay/challenge-store/config';
import * as challenger from '@whitepay/challenger/config';
import * as coordinator from '@whitepay/consensus-coordinator/config';
import * as st from '@whitepay/st-calculator/config';
import { CLI_PREFIX, cliConfigShape } from '@whitepay/store/cli-config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { CHART, ensureHelm, followQuickStart, helmTemplate, quickStart, REPO_ROOT } from './chart.js';
import { containerEnv, type K8sObject } from './loopback-cluster.js';

interface Schema {
  prefix: string;
  shape: ConfigShape;
  load(env: NodeJS.ProcessEnv): unknown;
}

/** Each container the chart renders, by the component label of its pod, and the schema it is read with. */
const SCHEMAS: Record<string, Schema> = {
  challenger: { prefix: challenger.PREFIX, shape: challenger.configShape, load: challenger.loadConfig },
  'challenge-store': { prefix: store.CONFIG_PREFIX, shape: store.configShape, load: store.loadConfig },
  'st-calculator': { prefix: st.CONFIG_PREFIX, shape: st.configShape, load: st.loadConfig },
  'consensus-coordinator': {
    prefix: coordinator.PREFIX,
    shape: coordinator.configShape,
    load: coordinator.loadConfig,
  },
  'chain-submitter': {
    prefix: submitter.CONFIG_PREFIX,
    shape: submitter.configShape,
    load: submitter.loadConfig,
  },
  migrate: {
    prefix: CLI_PREFIX,
    shape: cliConfigShape,
    load: (env) => parseConfig(cliConfigShape, CLI_PREFIX, env),
  },
};

/** What an operator's own Secrets hold (`existingSecret`s), by key: valid values of each kind. */
function operatorSecret(_name: string, key: string): string | undefined {
  if (key === 'account-key' || key === 'bls-secret-key') return `0x${'11'.repeat(32)}`;
  if (key === 'admin-token') return 'operator-admin-token-0123456789';
  if (/url/.test(key))
    return _name.includes('redis') ? 'redis://redis.cache:6379/0' : 'postgres://wp:pw@pg:5432/wp';
  return undefined;
}

const GROUP = {
  chain: {
    chainId: 31337,
    factoryAddress: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    factoryFromBlock: 0,
  },
  group: {
    keepers: [1, 2, 3, 4].map((id) => ({
      id,
      account: `0x${String(id).repeat(40)}`,
      peerAddress: `keeper-${id}-whitepay-keeper-consensus-coordinator:50051`,
    })),
  },
  providers: [{ pid: '*', address: 'whitepay-provider:7000' }],
};

/** What the default values leave to the operator (see the chart's "whitepay-keeper.validate"). */
const REQUIRED = [
  '--set',
  'nats.url=nats://nats:4222,redis.url=redis://redis:6379,postgres.existingSecret=db,chain.rpcUrl=http://rpc:8545,keys.existingSecret=keys,peer.tls.existingSecret=peer-tls',
];

interface Checked {
  pod: string;
  component: string;
  problems: string[];
}

/** Loads every rendered container's environment through its schema; `full`: the whole config must load. */
function check(objects: K8sObject[], external: typeof operatorSecret, full: boolean): Checked[] {
  const out: Checked[] = [];
  for (const o of objects) {
    if (o.kind !== 'Deployment' && o.kind !== 'Job') continue;
    const pod = o.spec.template;
    const component = pod.metadata?.labels?.['app.kubernetes.io/component'] as string;
    const schema = SCHEMAS[component];
    if (!schema) throw new Error(`${o.kind}/${o.metadata.name}: no schema for component ${component}`);
    for (const c of pod.spec.containers) {
      const env = containerEnv(objects, external, o.metadata.name, c);
      const problems = unknownVariables(schema.shape, schema.prefix, env).map(
        (u) => `${u.name}: unknown variable`,
      );
      if (full) {
        try {
          schema.load(env);
        } catch (err) {
          if (!(err instanceof ConfigError)) throw err;
          problems.push(...(err.details.problems as string[]));
        }
      }
      out.push({ pod: `${o.kind}/${o.metadata.name}`, component, problems: [...new Set(problems)] });
    }
  }
  return out;
}

const clean = (checked: Checked[]) => checked.filter((c) => c.problems.length > 0);

let work: string;
beforeAll(() => {
  ensureHelm();
  work = mkdtempSync(join(tmpdir(), 'whitepay-chart-env-'));
  writeFileSync(join(work, 'group.yaml'), stringify(GROUP));
  symlinkSync(join(REPO_ROOT, 'deploy'), join(work, 'deploy'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the environment the chart renders is what each service reads', () => {
  it('refuses to render the default values alone, naming what a keeper cannot start without', () => {
    expect(() => helmTemplate(['k', CHART])).toThrow(
      /set nats\.url, redis\.url \(or redis\.existingSecret\), postgres\.url \(or postgres\.existingSecret\), chain\.rpcUrl, keys\.existingSecret/,
    );
  });

  it('with the default values and the required ones: no variable a service does not read', () => {
    const checked = check(helmTemplate(['k', CHART, ...REQUIRED]), operatorSecret, false);
    expect(checked.map((c) => c.component).sort()).toEqual([
      'chain-submitter',
      'challenge-store',
      'challenger',
      'consensus-coordinator',
      'migrate',
      'st-calculator',
    ]);
    expect(clean(checked)).toEqual([]);
  });

  for (const file of readdirSync(join(CHART, 'ci')).filter((f) => f.endsWith('.yaml'))) {
    it(`with ci/${file}: every container's config loads`, () => {
      const args = ['k', CHART, '-f', join(CHART, 'ci', file)];
      if (file === 'staging-values.yaml')
        args.push('-f', join(work, 'group.yaml'), '--set', 'keys.existingSecret=keeper-1-keys');
      expect(clean(check(helmTemplate(args), operatorSecret, true))).toEqual([]);
    });
  }

  it('with the README quick start: every container of every keeper loads', () => {
    for (const id of [1, 2]) {
      const run = followQuickStart(
        quickStart(),
        {
          KEEPER_ID: String(id),
          ACCOUNT_KEY: `0x${'22'.repeat(32)}`,
          BLS_SECRET_KEY: `0x${'33'.repeat(32)}`,
          DATABASE_URL: 'postgres://wp:pw@pg:5432/wp',
          NATS_URL: 'nats://nats:4222',
          REDIS_URL: 'redis://redis:6379',
          RPC_URL: 'http://anvil:8545',
        },
        'whitepay',
      );
      const external = (name: string, key: string) => run.secrets[name]?.[key];
      for (const install of run.installs) {
        const checked = check(helmTemplate(install.templateArgs, work), external, true);
        expect(checked).toHaveLength(6);
        expect(clean(checked)).toEqual([]);
      }
    }
  });

  it('fails, naming the variable, when the chart renders a name a service does not read', () => {
    // The defect this check exists for: the key Secret exported under a name the challenger never reads.
    const broken = join(work, 'broken-chart');
    cpSync(CHART, broken, { recursive: true });
    const helpers = join(broken, 'templates', '_helpers.tpl');
    const tpl = readFileSync(helpers, 'utf8');
    expect(tpl).toContain('KEEPER_PRIVATE_KEY: account-key');
    writeFileSync(helpers, tpl.replace('KEEPER_PRIVATE_KEY: account-key', 'ACCOUNT_KEY: account-key'));
    const problems = clean(
      check(helmTemplate(['k', broken, '-f', join(work, 'group.yaml'), ...REQUIRED]), operatorSecret, true),
    );
    expect(problems.map((p) => p.component)).toEqual(['challenger']);
    expect(problems[0]?.problems).toContain('CHALLENGER_ACCOUNT_KEY: unknown variable');
  });
});

describe('a service started with a variable it does not read', () => {
  const SERVICES = [
    'challenger',
    'challenge-store',
    'st-calculator',
    'consensus-coordinator',
    'chain-submitter',
    'provider',
  ];
  it.each(SERVICES)('%s exits 2 with one JSON line naming it and the closest known name', (svc) => {
    const prefix = svc.toUpperCase().replaceAll('-', '_');
    const res = spawnSync(process.execPath, ['--conditions=development', '--import', 'tsx', 'src/main.ts'], {
      cwd: join(REPO_ROOT, 'services', svc),
      env: { PATH: process.env.PATH, [`${prefix}_LOG_LEVL`]: 'debug' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(res.status).toBe(2);
    const lines = res.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ level: 'fatal', service: svc, code: 'CONFIG_INVALID' });
    expect(line.problems).toContain(
      `${prefix}_LOG_LEVL: unknown variable (did you mean ${prefix}_LOG_LEVEL?)`,
    );
    expect(res.stderr).toBe('');
  });
});
