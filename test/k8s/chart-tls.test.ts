// TLS of the connections to NATS, Redis and PostgreSQL in the chart (`nats.tls`,
// `redis.tls`, `postgres.tls`): off by default; when set, each Secret is mounted
// read-only (0400) at /etc/whitepay/<dep>-tls in exactly the pods that use the
// dependency (and the migration Job for PostgreSQL), with the variables pointing there.
import { execFileSync, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const chart = join(root, 'deploy', 'helm', 'whitepay-keeper');
const helm = join(root, 'node_modules', '.cache', 'whitepay-helm', 'helm', 'helm');
const RELEASE = 'keeper-9';
const FULLNAME = `${RELEASE}-whitepay-keeper`;
const env = { ...process.env, KUBECONFIG: '/dev/null' };
const REQUIRED = [
  '--set',
  `nats.url=tls://nats:4222,redis.url=rediss://redis:6379,postgres.url=postgres://wp@pg/wp,chain.rpcUrl=http://rpc:8545,keys.accountKey=0x${'11'.repeat(32)},keys.blsSecretKey=0x${'22'.repeat(32)},peer.tls.existingSecret=peer-tls,nats.signer=0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A`,
];
const TLS = [
  '--set',
  'nats.tls.existingSecret=nats-tls-s,nats.tls.clientCert=true,redis.tls.existingSecret=redis-tls-s,postgres.tls.existingSecret=pg-tls-s,postgres.tls.clientCert=true',
];

interface K8sObject {
  kind: string;
  metadata: { name: string };
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are checked field by field
  spec?: any;
  data?: Record<string, string>;
}

function render(...args: string[]): K8sObject[] {
  const out = execFileSync(helm, ['template', RELEASE, chart, ...REQUIRED, ...args], {
    encoding: 'utf8',
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
  // YAML 1.1, as Kubernetes reads it: `defaultMode: 0400` is octal.
  return parseAllDocuments(out, { version: '1.1' })
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

const USES = {
  challenger: ['nats'],
  'challenge-store': ['nats', 'postgres'],
  'st-calculator': ['postgres'],
  'consensus-coordinator': ['nats', 'redis'],
  'chain-submitter': ['nats', 'redis'],
} as const;
const PREFIX = {
  challenger: 'CHALLENGER',
  'challenge-store': 'CHALLENGE_STORE',
  'st-calculator': 'ST_CALCULATOR',
  'consensus-coordinator': 'CONSENSUS_COORDINATOR',
  'chain-submitter': 'CHAIN_SUBMITTER',
} as const;
const ENV = { nats: 'NATS', redis: 'REDIS', postgres: 'DATABASE' } as const;
const SECRET = { nats: 'nats-tls-s', redis: 'redis-tls-s', postgres: 'pg-tls-s' } as const;

// biome-ignore lint/suspicious/noExplicitAny: a pod spec
const tlsVolumes = (pod: any) =>
  // biome-ignore lint/suspicious/noExplicitAny: a volume
  (pod.volumes as any[]).filter((v) => /^(nats|redis|postgres)-tls$/.test(v.name));

beforeAll(() => {
  execFileSync('bash', [join(root, 'scripts', 'check-helm.sh'), '--tools-only'], { stdio: 'inherit' });
});

describe('dependency TLS in the chart', () => {
  it('is off by default: no TLS volume, no TLS variable', () => {
    const objs = render();
    for (const d of objs.filter((o) => o.kind === 'Deployment' || o.kind === 'Job'))
      expect(tlsVolumes(d.spec.template.spec), d.metadata.name).toEqual([]);
    const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === `${FULLNAME}-config`);
    expect(Object.keys(cm?.data ?? {}).filter((k) => /_(NATS|REDIS|DATABASE)_TLS_/.test(k))).toEqual([]);
  });

  it('mounts each Secret read-only, mode 0400, in the pods that use the dependency, with the variables pointing at its files', () => {
    const objs = render(...TLS);
    const cm = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === `${FULLNAME}-config`)!.data!;
    for (const [name, uses] of Object.entries(USES) as [keyof typeof USES, readonly (keyof typeof ENV)[]][]) {
      const d = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === `${FULLNAME}-${name}`)!;
      const pod = d.spec.template.spec;
      expect(
        tlsVolumes(pod)
          .map((v) => v.name)
          .sort(),
        name,
      ).toEqual(uses.map((u) => `${u}-tls`).sort());
      for (const dep of ['nats', 'redis', 'postgres'] as const) {
        const dir = `/etc/whitepay/${dep}-tls`;
        const p = `${PREFIX[name]}_${ENV[dep]}_TLS`;
        if (!(uses as readonly string[]).includes(dep)) {
          expect(cm[`${p}_CA_FILE`], `${name} ${dep}`).toBeUndefined();
          continue;
        }
        const vol = tlsVolumes(pod).find((v) => v.name === `${dep}-tls`);
        expect(vol.secret.secretName).toBe(SECRET[dep]);
        expect(vol.secret.defaultMode).toBe(0o400);
        const client = dep !== 'redis';
        expect(vol.secret.items.map((i: { key: string }) => i.key)).toEqual(
          client ? ['ca.crt', 'tls.crt', 'tls.key'] : ['ca.crt'],
        );
        const mount = pod.containers[0].volumeMounts.find((m: { name: string }) => m.name === `${dep}-tls`);
        expect(mount).toEqual({ name: `${dep}-tls`, mountPath: dir, readOnly: true });
        expect(cm[`${p}_CA_FILE`]).toBe(`${dir}/ca.crt`);
        expect(cm[`${p}_CERT_FILE`]).toBe(client ? `${dir}/tls.crt` : undefined);
        expect(cm[`${p}_KEY_FILE`]).toBe(client ? `${dir}/tls.key` : undefined);
      }
    }
    const job = objs.find((o) => o.kind === 'Job' && o.metadata.name === `${FULLNAME}-migrate`)!;
    const jpod = job.spec.template.spec;
    expect(tlsVolumes(jpod).map((v) => v.name)).toEqual(['postgres-tls']);
    const jenv = Object.fromEntries(
      (jpod.containers[0].env as { name: string; value?: string }[]).map((e) => [e.name, e.value]),
    );
    expect(jenv.STORE_DATABASE_TLS_CA_FILE).toBe('/etc/whitepay/postgres-tls/ca.crt');
    expect(jenv.STORE_DATABASE_TLS_KEY_FILE).toBe('/etc/whitepay/postgres-tls/tls.key');
  });

  it('NATS credentials from a mounted Secret: password with user, token or creds file, only where NATS is used', () => {
    const cmOf = (objs: K8sObject[]) =>
      objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === `${FULLNAME}-config`)!.data!;
    const objs = render('--set', 'nats.auth.existingSecret=nats-auth-s,nats.auth.user=keeper-9');
    const cm = cmOf(objs);
    for (const [name, uses] of Object.entries(USES) as [keyof typeof USES, readonly string[]][]) {
      const pod = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === `${FULLNAME}-${name}`)!.spec
        .template.spec;
      // biome-ignore lint/suspicious/noExplicitAny: a volume
      const vol = (pod.volumes as any[]).find((v) => v.name === 'nats-auth');
      if (!uses.includes('nats')) {
        expect(vol, name).toBeUndefined();
        expect(cm[`${PREFIX[name]}_NATS_PASSWORD_FILE`]).toBeUndefined();
        continue;
      }
      expect(vol.secret).toEqual({
        secretName: 'nats-auth-s',
        defaultMode: 0o400,
        items: [{ key: 'password', path: 'password' }],
      });
      expect(pod.containers[0].volumeMounts).toContainEqual({
        name: 'nats-auth',
        mountPath: '/etc/whitepay/nats-auth',
        readOnly: true,
      });
      expect(cm[`${PREFIX[name]}_NATS_USER`]).toBe('keeper-9');
      expect(cm[`${PREFIX[name]}_NATS_PASSWORD_FILE`]).toBe('/etc/whitepay/nats-auth/password');
    }
    const creds = cmOf(render('--set', 'nats.auth.existingSecret=s,nats.auth.kind=creds'));
    expect(creds.CHALLENGER_NATS_CREDS_FILE).toBe('/etc/whitepay/nats-auth/user.creds');
    expect(creds.CHALLENGER_NATS_USER).toBeUndefined();
    const token = cmOf(render('--set', 'nats.auth.existingSecret=s,nats.auth.kind=token'));
    expect(token.CHAIN_SUBMITTER_NATS_TOKEN_FILE).toBe('/etc/whitepay/nats-auth/token');
    const noUser = spawnSync(
      helm,
      ['template', RELEASE, chart, ...REQUIRED, '--set', 'nats.auth.existingSecret=s'],
      {
        encoding: 'utf8',
        env,
      },
    );
    expect(noUser.status).not.toBe(0);
    expect(noUser.stderr).toMatch(/nats.auth.kind password needs nats.auth.user/);
  });

  it('refuses a Redis TLS Secret with a redis:// URL, and is ignored with the staging servers', () => {
    const r = spawnSync(
      helm,
      ['template', RELEASE, chart, ...REQUIRED, ...TLS, '--set', 'redis.url=redis://redis:6379'],
      { encoding: 'utf8', env },
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/redis.tls.existingSecret needs a rediss:\/\/ redis.url/);
    const staging = render(...TLS, '-f', join(chart, 'ci', 'staging-values.yaml'));
    for (const d of staging.filter((o) => o.kind === 'Deployment' && o.metadata.name.startsWith(FULLNAME)))
      expect(tlsVolumes(d.spec.template.spec), d.metadata.name).toEqual([]);
  });
});
