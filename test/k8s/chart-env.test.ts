// One source of truth between the chart and the services: the environment the
// chart renders for every container is loaded through that service's own
// config schema (`loadConfig`), for every shipped values file and the README
// quick start. A variable the service does not read, a required one the chart
// does not give, or a value the schema refuses fails here, naming it — as the
// service itself would at start.
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
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
import { containerEnv, type K8sObject, mountedPath, podVolumes } from './loopback-cluster.js';

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
  if (key === 'internal-token') return 'operator-internal-token-0123456789';
  if (key.endsWith('-keystore.json')) return '{"version":3}';
  if (key.endsWith('-keystore-password')) return 'a passphrase\n';
  if (/^(ca|tls)\.(crt|key)$/.test(key)) return '-----BEGIN PEM-----\n';
  if (key === 'password') return 'nats-password-of-keeper\n';
  if (/url/.test(key))
    return _name.includes('redis') ? 'redis://redis.cache:6379/0' : 'postgres://wp:pw@pg:5432/wp';
  return undefined;
}

/** Every key an operator's Secret of that name may hold (a secret volume without `items` gets them all). */
const OPERATOR_KEYS = [
  'account-key',
  'bls-secret-key',
  'admin-token',
  'internal-token',
  'account-keystore.json',
  'account-keystore-password',
  'bls-keystore.json',
  'bls-keystore-password',
  'ca.crt',
  'tls.crt',
  'tls.key',
  'password',
  'url',
];
const secretOf = (external: typeof operatorSecret) => (name: string) =>
  Object.fromEntries(
    OPERATOR_KEYS.map((k) => [k, external(name, k)]).filter((e): e is [string, string] => e[1] !== undefined),
  );

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
  'nats.url=nats://nats:4222,redis.url=redis://redis:6379,postgres.existingSecret=db,chain.rpcUrl=http://rpc:8545,keys.existingSecret=keys,peer.tls.existingSecret=peer-tls,nats.signer=0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A',
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
      // The pod's volumes laid out as a kubelet would, so that a `*_FILE` names a file that is there.
      const mounts = podVolumes(
        objects,
        secretOf(external),
        o.metadata.name,
        pod.spec,
        c,
        mkdtempSync(join(work, 'volumes-')),
      );
      const env = Object.fromEntries(
        Object.entries(containerEnv(objects, external, o.metadata.name, c)).map(([k, v]) => [
          k,
          mountedPath(v, mounts),
        ]),
      );
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
/** The files the quick start's operator holds (`--from-file`): keystores, passphrase, peer certificate. */
let quickStartDir: string;
beforeAll(() => {
  ensureHelm();
  work = mkdtempSync(join(tmpdir(), 'whitepay-chart-env-'));
  writeFileSync(join(work, 'group.yaml'), stringify(GROUP));
  symlinkSync(join(REPO_ROOT, 'deploy'), join(work, 'deploy'));
  quickStartDir = join(work, 'operator');
  mkdirSync(quickStartDir);
  for (const f of ['account-keystore.json', 'bls-keystore.json'])
    writeFileSync(join(quickStartDir, f), '{"version":3}');
  for (const f of ['passphrase', 'group-cas.pem', 'keeper.crt', 'keeper.key'])
    writeFileSync(join(quickStartDir, f), `${f}\n`);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the environment the chart renders is what each service reads', () => {
  it('refuses to render the default values alone, naming what a keeper cannot start without', () => {
    expect(() => helmTemplate(['k', CHART])).toThrow(
      /set nats\.url, redis\.url \(or redis\.existingSecret\), postgres\.url \(or postgres\.existingSecret\), chain\.rpcUrl, group\.keepers with this keeper's entry \(or nats\.signer\)[^,]*, keys\.existingSecret/,
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
          DATABASE_URL: 'postgres://wp:pw@pg:5432/wp',
          NATS_URL: 'nats://nats:4222',
          REDIS_URL: 'redis://redis:6379',
          RPC_URL: 'http://anvil:8545',
        },
        'whitepay',
        quickStartDir,
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
    expect(tpl).toContain('KEEPER_PRIVATE_KEY_FILE: account-key');
    writeFileSync(
      helpers,
      tpl.replace('KEEPER_PRIVATE_KEY_FILE: account-key', 'ACCOUNT_KEY_FILE: account-key'),
    );
    const problems = clean(
      check(helmTemplate(['k', broken, '-f', join(work, 'group.yaml'), ...REQUIRED]), operatorSecret, true),
    );
    expect(problems.map((p) => p.component)).toEqual(['challenger']);
    expect(problems[0]?.problems).toContain('CHALLENGER_ACCOUNT_KEY_FILE: unknown variable');
  });
});

describe('the keys are files of the key Secret, never values in the environment', () => {
  /** Each service's container, its `keys` volume and the variables naming files under /etc/whitepay/keys. */
  const keyed = (objects: K8sObject[]) =>
    Object.fromEntries(
      objects
        .filter((o) => o.kind === 'Deployment')
        .map((o) => {
          const pod = o.spec.template.spec;
          const c = pod.containers[0];
          const files = Object.fromEntries(
            (c.env ?? [])
              .filter((e: { value?: string }) => e.value?.startsWith('/etc/whitepay/keys/'))
              .map((e: { name: string; value: string }) => [
                e.name,
                e.value.slice('/etc/whitepay/keys/'.length),
              ]),
          );
          return [
            o.spec.template.metadata.labels['app.kubernetes.io/component'] as string,
            {
              env: (c.env ?? []) as { name: string; value?: string; valueFrom?: unknown }[],
              files,
              mount: c.volumeMounts.find((m: { name: string }) => m.name === 'keys'),
              volume: pod.volumes.find((v: { name: string }) => v.name === 'keys'),
            },
          ];
        }),
    );
  const render = (...set: string[]) =>
    helmTemplate([
      'k',
      CHART,
      '-f',
      join(work, 'group.yaml'),
      ...REQUIRED,
      ...set.flatMap((x) => ['--set', x]),
    ]);

  it('hex: the two keys mounted 0400 read-only, named by *_FILE; no key, token or secretKeyRef of them in env', () => {
    const k = keyed(render());
    expect(k.challenger?.files).toEqual({ CHALLENGER_KEEPER_PRIVATE_KEY_FILE: 'account-key' });
    expect(k['consensus-coordinator']?.files).toEqual({
      CONSENSUS_COORDINATOR_PRIVATE_KEY_FILE: 'account-key',
      CONSENSUS_COORDINATOR_BLS_SECRET_KEY_FILE: 'bls-secret-key',
    });
    expect(k['chain-submitter']?.files).toEqual({ CHAIN_SUBMITTER_PRIVATE_KEY_FILE: 'account-key' });
    expect(k['consensus-coordinator']?.volume).toEqual({
      name: 'keys',
      secret: {
        secretName: 'keys',
        defaultMode: 0o400,
        items: [
          { key: 'account-key', path: 'account-key' },
          { key: 'bls-secret-key', path: 'bls-secret-key' },
        ],
      },
    });
    expect(k['consensus-coordinator']?.mount).toEqual({
      name: 'keys',
      mountPath: '/etc/whitepay/keys',
      readOnly: true,
    });
    // No token in the Secret as far as the chart knows: the services that read no key mount nothing.
    for (const svc of ['challenge-store', 'st-calculator']) {
      expect(k[svc]?.files).toEqual({});
      expect(k[svc]?.volume).toBeUndefined();
    }
    for (const [svc, { env }] of Object.entries(k)) {
      const fromKeys = env.filter((e) => JSON.stringify(e.valueFrom ?? {}).includes('"name":"keys"'));
      expect(fromKeys, svc).toEqual([]);
      expect(
        env.filter((e) => /(PRIVATE_KEY|SECRET_KEY|TOKEN)$/.test(e.name)),
        svc,
      ).toEqual([]);
    }
  });

  it('keystore: the keystores and their passphrase files, and every container still loads', () => {
    const objects = render('keys.format=keystore');
    const k = keyed(objects);
    expect(k.challenger?.files).toEqual({
      CHALLENGER_KEEPER_KEYSTORE_FILE: 'account-keystore.json',
      CHALLENGER_KEEPER_KEYSTORE_PASSWORD_FILE: 'account-keystore-password',
    });
    expect(k['consensus-coordinator']?.files).toEqual({
      CONSENSUS_COORDINATOR_KEYSTORE_FILE: 'account-keystore.json',
      CONSENSUS_COORDINATOR_KEYSTORE_PASSWORD_FILE: 'account-keystore-password',
      CONSENSUS_COORDINATOR_BLS_KEYSTORE_FILE: 'bls-keystore.json',
      CONSENSUS_COORDINATOR_BLS_KEYSTORE_PASSWORD_FILE: 'bls-keystore-password',
    });
    expect(k['chain-submitter']?.files).toEqual({
      CHAIN_SUBMITTER_KEYSTORE_FILE: 'account-keystore.json',
      CHAIN_SUBMITTER_KEYSTORE_PASSWORD_FILE: 'account-keystore-password',
    });
    expect(k['chain-submitter']?.volume.secret.items.map((i: { key: string }) => i.key)).toEqual([
      'account-keystore-password',
      'account-keystore.json',
    ]);
    expect(clean(check(objects, operatorSecret, true))).toEqual([]);
  });

  it("an existing Secret's tokens are read only when keys.existingSecretTokens says it holds them", () => {
    const objects = render(
      'keys.existingSecretTokens.adminToken=true',
      'keys.existingSecretTokens.internalToken=true',
    );
    const k = keyed(objects);
    for (const [svc, { files }] of Object.entries(k)) {
      const prefix = svc.toUpperCase().replaceAll('-', '_');
      expect(files[`${prefix}_ADMIN_TOKEN_FILE`], svc).toBe('admin-token');
      expect(files[`${prefix}_INTERNAL_TOKEN_FILE`], svc).toBe(
        svc === 'chain-submitter' ? undefined : 'internal-token',
      );
    }
    expect(k['st-calculator']?.volume.secret.items).toEqual([
      { key: 'admin-token', path: 'admin-token' },
      { key: 'internal-token', path: 'internal-token' },
    ]);
    expect(clean(check(objects, operatorSecret, true))).toEqual([]);
    // A Secret without them: the default values read neither, and every container loads.
    const without = (name: string, key: string) =>
      /token/.test(key) ? undefined : operatorSecret(name, key);
    expect(clean(check(render(), without, true))).toEqual([]);
  });

  it("the chart's own Secret: exactly the inline values given, each mounted only where read", () => {
    const inline = [
      'keys.existingSecret=',
      `keys.accountKey=0x${'44'.repeat(32)}`,
      `keys.blsSecretKey=0x${'55'.repeat(32)}`,
    ];
    const bare = render(...inline);
    const secret = bare.find((o) => o.kind === 'Secret' && o.metadata.name === 'k-whitepay-keeper-keys');
    expect(Object.keys(secret?.data ?? {}).sort()).toEqual(['account-key', 'bls-secret-key']);
    expect(keyed(bare)['challenge-store']?.volume).toBeUndefined();
    expect(clean(check(bare, operatorSecret, true))).toEqual([]);

    const tokens = render(
      ...inline,
      'keys.adminToken=inline-admin-token-0123',
      'keys.internalToken=inline-internal-token-0123',
    );
    const data =
      tokens.find((o) => o.kind === 'Secret' && o.metadata.name === 'k-whitepay-keeper-keys')?.data ?? {};
    expect(Object.keys(data).sort()).toEqual([
      'account-key',
      'admin-token',
      'bls-secret-key',
      'internal-token',
    ]);
    expect(keyed(tokens)['challenge-store']?.files).toEqual({
      CHALLENGE_STORE_ADMIN_TOKEN_FILE: 'admin-token',
      CHALLENGE_STORE_INTERNAL_TOKEN_FILE: 'internal-token',
    });
    expect(
      clean(check(tokens, (name, key) => (/token/.test(key) ? undefined : operatorSecret(name, key)), true)),
    ).toEqual([]);

    const ksValues = join(work, 'inline-keystores.yaml');
    writeFileSync(
      ksValues,
      stringify({
        keys: {
          existingSecret: '',
          format: 'keystore',
          accountKeystore: '{"version":3}',
          accountKeystorePassword: 'pw',
          blsKeystore: '{"version":4}',
          blsKeystorePassword: 'pw',
        },
      }),
    );
    const ks = helmTemplate([
      'k',
      CHART,
      '-f',
      join(work, 'group.yaml'),
      ...REQUIRED,
      '-f',
      ksValues,
      '--set',
      'keys.existingSecret=',
    ]);
    const ksData =
      ks.find((o) => o.kind === 'Secret' && o.metadata.name === 'k-whitepay-keeper-keys')?.data ?? {};
    expect(Object.keys(ksData).sort()).toEqual([
      'account-keystore-password',
      'account-keystore.json',
      'bls-keystore-password',
      'bls-keystore.json',
    ]);
    expect(() =>
      render('keys.existingSecret=', 'keys.format=keystore', 'keys.accountKeystorePassword=pw'),
    ).toThrow(
      /keys\.existingSecret \(or keys\.accountKeystore, keys\.accountKeystorePassword, keys\.blsKeystore and keys\.blsKeystorePassword\)/,
    );
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
