// The chart conventions (prometheus-community / bitnami style) render as
// intended: image digests and global.imageRegistry, HorizontalPodAutoscalers,
// the `helm test` hook, topology spread and priority classes, and the ways a
// rotated existing Secret rolls the pods (keys.revision, the Reloader annotation).
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const chart = join(root, 'deploy', 'helm', 'whitepay-keeper');
const helm = join(root, 'node_modules', '.cache', 'whitepay-helm', 'helm', 'helm');
const RELEASE = 'keeper-9';
const FULLNAME = `${RELEASE}-whitepay-keeper`;
const DIGEST = `sha256:${'ab'.repeat(32)}`;

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are checked field by field
  spec?: any;
}

const env = { ...process.env, KUBECONFIG: '/dev/null' };

/** What the default values leave to the operator (the chart refuses to render without it). */
const REQUIRED = [
  '--set',
  `nats.url=nats://nats:4222,redis.url=redis://redis:6379,postgres.url=postgres://wp@pg/wp,chain.rpcUrl=http://rpc:8545,keys.accountKey=0x${'11'.repeat(32)},keys.blsSecretKey=0x${'22'.repeat(32)},peer.tls.existingSecret=peer-tls,nats.signer=0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A`,
];

function render(...args: string[]): K8sObject[] {
  const out = execFileSync(
    helm,
    ['template', RELEASE, chart, '--namespace', 'whitepay', ...REQUIRED, ...args],
    {
      encoding: 'utf8',
      env,
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  // YAML 1.1, as Kubernetes reads manifests: `defaultMode: 0400` is octal.
  return parseAllDocuments(out, { version: '1.1' })
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

/** stderr of a render that must fail. */
function renderError(...args: string[]): string {
  const r = spawnSync(helm, ['template', RELEASE, chart, ...REQUIRED, ...args], { encoding: 'utf8', env });
  expect(r.status).not.toBe(0);
  return r.stderr;
}

const byKind = (objs: K8sObject[], kind: string) => objs.filter((o) => o.kind === kind);
const named = (objs: K8sObject[], kind: string, component: string) =>
  objs.find((o) => o.kind === kind && o.metadata.name === `${FULLNAME}-${component}`);
const imageOf = (objs: K8sObject[], component: string) =>
  named(objs, 'Deployment', component)?.spec.template.spec.containers[0].image as string;
const testPod = (objs: K8sObject[]) =>
  objs.find((o) => o.kind === 'Pod' && o.metadata.annotations?.['helm.sh/hook'] === 'test');
const reloadOf = (d: K8sObject | undefined) =>
  d?.metadata.annotations?.['secret.reloader.stakater.com/reload'];
const checksumOf = (objs: K8sObject[]) =>
  new Set(
    byKind(objs, 'Deployment').map((d) => d.spec.template.metadata.annotations['checksum/config'] as string),
  );

const SERVICES = {
  challenger: 'challenger',
  challengeStore: 'challenge-store',
  stCalculator: 'st-calculator',
  consensusCoordinator: 'consensus-coordinator',
  chainSubmitter: 'chain-submitter',
} as const;
const SCALABLE = ['challenger', 'challengeStore', 'stCalculator'] as const;

beforeAll(() => {
  execFileSync('bash', [join(root, 'scripts', 'check-helm.sh'), '--tools-only'], { stdio: 'inherit' });
});

describe('images', () => {
  it('are repo:tag by default and repo@digest when a digest is set (the tag ignored)', () => {
    const plain = render('--set', 'image.tag=1.2.3');
    for (const name of Object.values(SERVICES)) expect(imageOf(plain, name)).toBe(`whitepay/${name}:1.2.3`);
    const pinned = render(
      '--set',
      'image.tag=1.2.3',
      '--set',
      `services.stCalculator.image.digest=${DIGEST}`,
    );
    expect(imageOf(pinned, 'st-calculator')).toBe(`whitepay/st-calculator@${DIGEST}`);
    expect(imageOf(pinned, 'challenger')).toBe('whitepay/challenger:1.2.3');
  });

  it('rejects a digest that is not sha256 + 64 hex in the schema', () => {
    for (const bad of ['sha256:abc', `sha512:${'ab'.repeat(32)}`, `${'ab'.repeat(32)}`]) {
      expect(renderError('--set', `services.challenger.image.digest=${bad}`)).toMatch(/digest/);
    }
  });

  it('takes global.imageRegistry over image.registry, for derived repositories only', () => {
    const args = ['--set', 'image.registry=ghcr.io', '--set', 'image.tag=1.0.0'];
    expect(imageOf(render(...args), 'challenger')).toBe('ghcr.io/whitepay/challenger:1.0.0');
    const mirrored = render(
      ...args,
      '--set',
      'global.imageRegistry=mirror.example/',
      '--set',
      'services.chainSubmitter.image.repository=other.example/sender',
    );
    expect(imageOf(mirrored, 'challenger')).toBe('mirror.example/whitepay/challenger:1.0.0');
    expect(
      imageOf(
        render('--set', 'global.imageRegistry=mirror.example', '--set', 'image.tag=2.0.0'),
        'st-calculator',
      ),
    ).toBe('mirror.example/whitepay/st-calculator:2.0.0');
    expect(imageOf(mirrored, 'chain-submitter')).toBe('other.example/sender:1.0.0');
    expect(byKind(mirrored, 'Job')[0]?.spec.template.spec.containers[0].image).toBe(
      'mirror.example/whitepay/challenge-store:1.0.0',
    );
    expect(testPod(mirrored)?.spec.containers[0].image).toBe('mirror.example/whitepay/challenge-store:1.0.0');
  });

  it('pins the migration and test images to the challenge-store digest, unless the migration sets a tag', () => {
    const objs = render('--set', `services.challengeStore.image.digest=${DIGEST}`);
    const migrate = () => byKind(objs, 'Job')[0]?.spec.template.spec.containers[0].image;
    expect(migrate()).toBe(`whitepay/challenge-store@${DIGEST}`);
    expect(testPod(objs)?.spec.containers[0].image).toBe(`whitepay/challenge-store@${DIGEST}`);
    const tagged = render(
      '--set',
      `services.challengeStore.image.digest=${DIGEST}`,
      '--set',
      'migrations.image.tag=9.9.9',
    );
    expect(byKind(tagged, 'Job')[0]?.spec.template.spec.containers[0].image).toBe(
      'whitepay/challenge-store:9.9.9',
    );
  });
});

describe('HorizontalPodAutoscalers', () => {
  it('are off by default, every Deployment setting its replicas', () => {
    const objs = render();
    expect(byKind(objs, 'HorizontalPodAutoscaler')).toEqual([]);
    for (const d of byKind(objs, 'Deployment')) expect(d.spec.replicas).toBe(1);
  });

  it('scale a service when enabled, its Deployment leaving replicas to the HPA', () => {
    const objs = render(
      '--set',
      'services.stCalculator.autoscaling.enabled=true',
      '--set',
      'services.stCalculator.autoscaling.maxReplicas=8',
      '--set',
      'services.stCalculator.autoscaling.targetMemoryUtilizationPercentage=70',
    );
    const hpas = byKind(objs, 'HorizontalPodAutoscaler');
    expect(hpas.map((h) => h.metadata.name)).toEqual([`${FULLNAME}-st-calculator`]);
    const [hpa] = hpas;
    expect(hpa?.apiVersion).toBe('autoscaling/v2');
    expect(hpa?.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: `${FULLNAME}-st-calculator`,
    });
    expect([hpa?.spec.minReplicas, hpa?.spec.maxReplicas]).toEqual([2, 8]);
    expect(
      hpa?.spec.metrics.map(
        (m: { resource: { name: string; target: { averageUtilization: number } } }) =>
          `${m.resource.name}=${m.resource.target.averageUtilization}`,
      ),
    ).toEqual(['cpu=75', 'memory=70']);
    expect(named(objs, 'Deployment', 'st-calculator')?.spec).not.toHaveProperty('replicas');
    expect(named(objs, 'Deployment', 'challenger')?.spec.replicas).toBe(1);
  });

  it('exist for challenger, challenge-store and st-calculator only', () => {
    const objs = render(...SCALABLE.flatMap((k) => ['--set', `services.${k}.autoscaling.enabled=true`]));
    expect(
      byKind(objs, 'HorizontalPodAutoscaler')
        .map((h) => h.metadata.name)
        .sort(),
    ).toEqual(SCALABLE.map((k) => `${FULLNAME}-${SERVICES[k]}`).sort());
    for (const k of ['consensusCoordinator', 'chainSubmitter']) {
      expect(renderError('--set', `services.${k}.autoscaling.enabled=true`)).toMatch(/autoscaling/);
    }
    // a disabled service gets no HPA
    const off = render(
      '--set',
      'services.challenger.autoscaling.enabled=true',
      '--set',
      'services.challenger.enabled=false',
    );
    expect(byKind(off, 'HorizontalPodAutoscaler')).toEqual([]);
  });

  it('refuse minReplicas > maxReplicas and no target', () => {
    const on = ['--set', 'services.challenger.autoscaling.enabled=true'];
    expect(renderError(...on, '--set', 'services.challenger.autoscaling.minReplicas=9')).toMatch(
      /minReplicas \(9\) > maxReplicas \(5\)/,
    );
    expect(
      renderError(...on, '--set', 'services.challenger.autoscaling.targetCPUUtilizationPercentage=0'),
    ).toMatch(/set targetCPUUtilizationPercentage or targetMemoryUtilizationPercentage/);
  });
});

describe('helm test', () => {
  it('is a test hook Pod that GETs /readyz of every enabled service through its Service', () => {
    const objs = render();
    const pod = testPod(objs);
    expect(pod?.metadata.name).toBe(`${FULLNAME}-test-readyz`);
    expect(pod?.spec.restartPolicy).toBe('Never');
    const [c] = pod?.spec.containers ?? [];
    expect(c.command.slice(0, 3)).toEqual(['node', '--input-type=module', '-e']);
    expect(c.command[3]).toContain('process.exit(failed === 0 ? 0 : 1)');
    const services = byKind(objs, 'Service').filter((s) =>
      (Object.values(SERVICES) as string[]).includes(
        s.metadata.labels?.['app.kubernetes.io/component'] ?? '',
      ),
    );
    expect(services).toHaveLength(5);
    expect([...c.args].sort()).toEqual(
      services
        .map((s) => {
          const http = s.spec.ports.find((p: { name: string }) => p.name === 'http');
          return `http://${s.metadata.name}:${http.port}/readyz`;
        })
        .sort(),
    );
  });

  it('follows the enabled services and ports.http, and is locked down like the service pods', () => {
    const objs = render(
      '--set',
      'services.challenger.enabled=false',
      '--set',
      'services.chainSubmitter.enabled=false',
      '--set',
      'ports.http=9090',
    );
    const pod = testPod(objs);
    expect(pod?.spec.containers[0].args).toEqual(
      ['challenge-store', 'consensus-coordinator', 'st-calculator'].map(
        (n) => `http://${FULLNAME}-${n}:9090/readyz`,
      ),
    );
    const deployment = byKind(objs, 'Deployment')[0];
    expect(pod?.spec.securityContext).toEqual(deployment?.spec.template.spec.securityContext);
    expect(pod?.spec.containers[0].securityContext).toEqual(
      deployment?.spec.template.spec.containers[0].securityContext,
    );
    expect(pod?.spec.automountServiceAccountToken).toBe(false);
  });

  it('runs: exits 0 when every /readyz answers 200, 1 when one does not', async () => {
    const [c] = testPod(render())?.spec.containers ?? [];
    const server = createServer((req, res) => {
      res.statusCode = req.url === '/ok/readyz' ? 200 : 503;
      res.end('{"status":"not_ready"}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const run = (...urls: string[]) =>
      promisify(execFile)(process.execPath, [...c.command.slice(1), ...urls], { encoding: 'utf8' }).then(
        (r) => ({ code: 0, out: r.stdout }),
        (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
      );
    try {
      expect(await run(`${base}/ok/readyz`, `${base}/ok/readyz`)).toEqual({
        code: 0,
        out: expect.stringMatching(/^ok .*\nok .*\n$/),
      });
      const failed = await run(`${base}/ok/readyz`, `${base}/down/readyz`);
      expect(failed.code).toBe(1);
      expect(failed.out).toContain(`FAIL ${base}/down/readyz 503 {"status":"not_ready"}`);
    } finally {
      server.close();
    }
  }, 20_000);

  it('is not rendered with tests.enabled=false', () => {
    expect(testPod(render('--set', 'tests.enabled=false'))).toBeUndefined();
  });
});

describe('scheduling', () => {
  it('spreads each service over zones by default, and renders the list given', () => {
    const objs = render();
    const d = named(objs, 'Deployment', 'challenge-store');
    expect(d?.spec.template.spec.topologySpreadConstraints).toEqual([
      {
        maxSkew: 1,
        topologyKey: 'topology.kubernetes.io/zone',
        whenUnsatisfiable: 'ScheduleAnyway',
        labelSelector: { matchLabels: d?.spec.selector.matchLabels },
      },
    ]);
    const none = render('--set-json', 'topologySpreadConstraints=[]');
    for (const dep of byKind(none, 'Deployment')) {
      expect(dep.spec.template.spec).not.toHaveProperty('topologySpreadConstraints');
    }
    const own = { app: 'x' };
    const custom = render(
      '--set-json',
      `topologySpreadConstraints=[{"maxSkew":2,"topologyKey":"kubernetes.io/hostname","whenUnsatisfiable":"DoNotSchedule","labelSelector":{"matchLabels":${JSON.stringify(own)}}}]`,
    );
    expect(
      named(custom, 'Deployment', 'challenger')?.spec.template.spec.topologySpreadConstraints[0]
        .labelSelector,
    ).toEqual({ matchLabels: own });
  });

  it('sets priorityClassName globally, overridden per service', () => {
    expect(byKind(render(), 'Deployment').some((d) => 'priorityClassName' in d.spec.template.spec)).toBe(
      false,
    );
    const objs = render(
      '--set',
      'priorityClassName=keeper',
      '--set',
      'services.chainSubmitter.priorityClassName=keeper-sender',
    );
    for (const [, name] of Object.entries(SERVICES)) {
      expect(named(objs, 'Deployment', name)?.spec.template.spec.priorityClassName).toBe(
        name === 'chain-submitter' ? 'keeper-sender' : 'keeper',
      );
    }
  });
});

describe('existing Secrets roll the pods', () => {
  const existing = [
    '--set',
    'keys.existingSecret=k-keys',
    '--set',
    'postgres.existingSecret=k-pg',
    '--set',
    'redis.existingSecret=k-redis',
  ];

  it('when keys.revision is bumped: it changes the checksum annotation (an empty one leaves it as it was)', () => {
    const [before] = checksumOf(render(...existing));
    const same = checksumOf(render(...existing, '--set', 'keys.revision='));
    const after = checksumOf(render(...existing, '--set', 'keys.revision=2'));
    const again = checksumOf(render(...existing, '--set-string', 'keys.revision=3'));
    expect(same).toEqual(new Set([before]));
    expect(after.size).toBe(1);
    expect(after.has(before!)).toBe(false);
    expect(again.has([...after][0]!)).toBe(false);
  });

  it('through Reloader: each Deployment names the existing Secrets it reads', () => {
    expect(byKind(render(...existing), 'Deployment').map(reloadOf)).toEqual(Array(5).fill(undefined));
    const objs = render(...existing, '--set', 'reloader.enabled=true');
    expect(
      Object.fromEntries(Object.values(SERVICES).map((n) => [n, reloadOf(named(objs, 'Deployment', n))])),
    ).toEqual({
      challenger: 'k-keys',
      // they read no file of the key Secret unless it holds a token (keys.existingSecretTokens)
      'challenge-store': 'k-pg',
      'st-calculator': 'k-pg',
      'consensus-coordinator': 'k-keys,k-redis',
      'chain-submitter': 'k-keys,k-redis',
    });
    const tokens = render(
      ...existing,
      '--set',
      'reloader.enabled=true',
      '--set',
      'keys.existingSecretTokens.adminToken=true',
    );
    expect(reloadOf(named(tokens, 'Deployment', 'st-calculator'))).toBe('k-keys,k-pg');
    // the chart's own Secrets roll through the checksum: no annotation without existing Secrets
    const own = render('--set', 'reloader.enabled=true', '--set', `keys.accountKey=0x${'11'.repeat(32)}`);
    expect(byKind(own, 'Deployment').map(reloadOf)).toEqual(Array(5).fill(undefined));
  });
});

describe('ServiceMonitor', () => {
  it('copies the pod label whitepay.io/keeper-id to the target label keeper (the dashboard variable)', () => {
    const [sm] = byKind(render('--set', 'metrics.serviceMonitor.enabled=true'), 'ServiceMonitor');
    const [endpoint] = sm?.spec.endpoints ?? [];
    expect(endpoint.relabelings).toContainEqual({
      sourceLabels: ['__meta_kubernetes_pod_label_whitepay_io_keeper_id'],
      targetLabel: 'keeper',
      action: 'replace',
    });
    expect(
      named(render(), 'Deployment', 'challenger')?.spec.template.metadata.labels['whitepay.io/keeper-id'],
    ).toBe('0');
  });
});

describe('ci/conventions-values.yaml', () => {
  it('renders every convention at once', () => {
    const objs = render('-f', join(chart, 'ci', 'conventions-values.yaml'));
    expect(byKind(objs, 'HorizontalPodAutoscaler')).toHaveLength(3);
    expect(imageOf(objs, 'st-calculator')).toMatch(/^registry\.mirror\.example\/.*@sha256:[a-f0-9]{64}$/);
    expect(testPod(objs)).toBeDefined();
    for (const d of byKind(objs, 'Deployment')) {
      expect(d.spec.template.spec.priorityClassName).toMatch(/^whitepay-/);
      expect(reloadOf(d)).toMatch(/^keeper-3-keys/);
      expect(d.spec.template.spec.topologySpreadConstraints).toHaveLength(2);
    }
  });

  it('mounts every Secret of a service pod read-only, mode 0400, and puts none of the key Secret in env', () => {
    const objs = render('-f', join(chart, 'ci', 'conventions-values.yaml'));
    for (const d of byKind(objs, 'Deployment')) {
      const pod = d.spec.template.spec;
      const c = pod.containers[0];
      for (const v of pod.volumes.filter((x: { secret?: unknown }) => x.secret)) {
        expect(v.secret.defaultMode, `${d.metadata.name} ${v.name}`).toBe(0o400);
        expect(c.volumeMounts.find((m: { name: string }) => m.name === v.name)?.readOnly).toBe(true);
      }
      expect(JSON.stringify(c.env ?? [])).not.toContain('keeper-3-keys');
      expect(
        (c.env ?? []).filter((e: { name: string }) => e.name.endsWith('_FILE')).length,
        d.metadata.name,
      ).toBeGreaterThan(0);
    }
  });
});
