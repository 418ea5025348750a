// What of the kind staging cluster can be tested without Docker: the script
// parses, the kind config has the expected nodes, the chart renders for four
// keepers with exactly the arguments k8s/staging.sh passes to helm, the
// rendered keepers use the images the script builds, and the Dockerfile has
// a non-root user and a target per service.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMap, isScalar, parse, parseAllDocuments, parseDocument, stringify } from 'yaml';
import { groupValues, newPlan } from '../devnet/plan.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const script = join(root, 'k8s', 'staging.sh');
const chart = join(root, 'deploy', 'helm', 'whitepay-keeper');
const helm = join(root, 'node_modules', '.cache', 'whitepay-helm', 'helm', 'helm');
const KEEPERS = 4;

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  data?: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: rendered manifests are checked field by field
  spec?: any;
}

/** The plan directory the script's helm arguments name: a group file as `plan-cli.ts group` writes it. */
const planDir = mkdtempSync(join(tmpdir(), 'whitepay-staging-plan-'));
afterAll(() => rmSync(planDir, { recursive: true, force: true }));

/** Runs a function of k8s/staging.sh (sourced: its main does not run). */
function fromScript(call: string): string[] {
  const out = execFileSync('bash', ['-c', `source "$1"; ${call}`, 'bash', script], {
    encoding: 'utf8',
    env: { ...process.env, TAG: '', NAMESPACE: '', CLUSTER: '', KEEPERS: '', PLAN_DIR: planDir },
  });
  return out.split('\n').filter((l) => l !== '');
}

function render(args: string[]): K8sObject[] {
  const out = execFileSync(helm, ['template', ...args], {
    encoding: 'utf8',
    env: { ...process.env, KUBECONFIG: '/dev/null' },
    maxBuffer: 64 * 1024 * 1024,
  });
  return parseAllDocuments(out)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

const byKind = (objs: K8sObject[], kind: string) => objs.filter((o) => o.kind === kind);
const KEEPER_SERVICES = [
  'challenger',
  'challenge-store',
  'st-calculator',
  'consensus-coordinator',
  'chain-submitter',
];
const prefixOf = (svc: string) => svc.toUpperCase().replaceAll('-', '_');

beforeAll(() => {
  execFileSync('bash', [join(root, 'scripts', 'check-helm.sh'), '--tools-only'], { stdio: 'inherit' });
  const plan = newPlan({ keepers: KEEPERS, providers: 1, blockTime: 1, period: 20n, window: 10n, price: 1n });
  plan.chain.factory = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
  const [peer] = fromScript('peer_template');
  writeFileSync(
    join(planDir, 'group.yaml'),
    stringify(
      groupValues(plan, {
        peer: (k) => peer!.replace('{id}', String(k.id)),
        providers: [{ pid: '*', address: 'whitepay-provider:7000' }],
      }),
    ),
  );
});

describe('k8s/staging.sh', () => {
  it('is valid bash (and shellcheck-clean when shellcheck is installed)', () => {
    expect(spawnSync('bash', ['-n', script]).status).toBe(0);
    const sc = spawnSync('shellcheck', [script, join(root, 'scripts', 'check-helm.sh')], {
      encoding: 'utf8',
    });
    if (sc.error === undefined) expect(sc.stdout).toBe('');
  });

  it('uses a kind config with one control plane and two workers', () => {
    const cfg = parse(readFileSync(join(root, 'k8s', 'kind-config.yaml'), 'utf8'));
    expect(cfg.kind).toBe('Cluster');
    expect(cfg.apiVersion).toBe('kind.x-k8s.io/v1alpha4');
    expect(cfg.nodes.map((n: { role: string }) => n.role)).toEqual(['control-plane', 'worker', 'worker']);
  });

  it('builds one image per Dockerfile target, and the Dockerfile runs as the chart user', () => {
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    const built = fromScript('built_images').map((image) => image.replace(/^whitepay\/(.*):.*$/, '$1'));
    expect(built).toEqual(expect.arrayContaining(KEEPER_SERVICES));
    for (const svc of built) {
      expect(dockerfile).toMatch(
        new RegExp(`^FROM runtime AS ${svc}\\n(?:.*\\n)*?COPY --from=build /deploy/${svc} /app$`, 'm'),
      );
    }
    const users = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
    expect(users.length).toBeGreaterThan(0);
    for (const u of users) expect(u).not.toMatch(/^(root|0)(:|$)/);
    const values = parse(readFileSync(join(chart, 'values.yaml'), 'utf8'));
    expect(users.at(-1)).toBe(
      `${values.podSecurityContext.runAsUser}:${values.podSecurityContext.runAsGroup}`,
    );
  });

  describe('renders a group of four keepers as the script installs them', () => {
    const keepers: { args: string[]; objs: K8sObject[] }[] = [];
    beforeAll(() => {
      const ids = fromScript('keeper_ids').map(Number);
      expect(ids).toEqual([1, 2, 3, 4]);
      for (const i of ids) {
        const args = fromScript(`keeper_helm_args ${i}`);
        keepers.push({ args, objs: render(args) });
      }
    });

    it("passes each keeper its own id, namespace and key Secret, and the plan's group", () => {
      const ids = new Set<string>();
      keepers.forEach(({ args, objs }, index) => {
        const i = index + 1;
        expect(args.slice(0, 2)).toEqual([`keeper-${i}`, chart]);
        const [cm] = byKind(objs, 'ConfigMap');
        for (const svc of KEEPER_SERVICES) {
          expect(cm?.data?.[`${prefixOf(svc)}_KEEPER_ID`]).toBe(String(i));
          if (svc === 'st-calculator') continue; // reads PostgreSQL only
          expect(cm?.data?.[`${prefixOf(svc)}_NATS_NAMESPACE`]).toBe(`k${i}`);
          expect(cm?.data?.[`${prefixOf(svc)}_NATS_URL`]).toBe(
            `nats://keeper-${i}-whitepay-keeper-nats:4222`,
          );
        }
        ids.add(cm?.data?.CHALLENGER_KEEPER_ID ?? '');
        expect(cm?.data?.CONSENSUS_COORDINATOR_PEERS?.split(',')).toEqual(
          [1, 2, 3, 4]
            .filter((id) => id !== i)
            .map((id) => `${id}=keeper-${id}-whitepay-keeper-consensus-coordinator:50051`),
        );
        expect(cm?.data?.CHALLENGER_PROVIDERS).toBe('*=whitepay-provider:7000');
        expect(cm?.data?.CONSENSUS_COORDINATOR_FACTORY_ADDRESS).toBe(
          '0x5FbDB2315678afecb367f032d93F642f64180aa3',
        );
        for (const d of byKind(objs, 'Deployment')) {
          const refs = d.spec.template.spec.containers[0].env
            .filter((e: { valueFrom?: { secretKeyRef?: { key: string } } }) =>
              ['account-key', 'bls-secret-key'].includes(e.valueFrom?.secretKeyRef?.key ?? ''),
            )
            .map((e: { valueFrom: { secretKeyRef: { name: string } } }) => e.valueFrom.secretKeyRef.name);
          for (const name of refs) expect(name).toBe(`keeper-${i}-keys`);
        }
        // keys come from the Secret the script creates; the chart makes none
        expect(byKind(objs, 'Secret').map((s) => s.metadata.name)).toEqual([
          `keeper-${i}-whitepay-keeper-postgres`,
        ]);
      });
      expect(ids.size).toBe(KEEPERS);
      const names = keepers.flatMap(({ objs }) => objs.map((o) => `${o.kind}/${o.metadata.name}`));
      expect(new Set(names).size).toBe(names.length);
    });

    it('runs the images the script builds, and the official staging images', () => {
      const built = new Set(fromScript('built_images'));
      for (const { objs } of keepers) {
        const deployments = byKind(objs, 'Deployment');
        expect(deployments.map((d) => d.metadata.labels?.['app.kubernetes.io/component']).sort()).toEqual(
          [...KEEPER_SERVICES].sort(),
        );
        for (const d of deployments) {
          const [c] = d.spec.template.spec.containers;
          expect(built.has(c.image)).toBe(true);
          expect(c.image).toBe(
            fromScript(`image_of ${d.metadata.labels?.['app.kubernetes.io/component']}`)[0],
          );
          expect(c.imagePullPolicy).toBe('Never');
        }
        const provider = parseAllDocuments(readFileSync(join(root, 'k8s', 'provider.yaml'), 'utf8'))
          .map((d) => d.toJS() as K8sObject)
          .find((o) => o.kind === 'Deployment');
        expect(provider?.spec.template.spec.containers[0].image).toBe(fromScript('image_of provider')[0]);
        const [job] = byKind(objs, 'Job');
        expect(job?.spec.template.spec.containers[0].image).toBe(fromScript('image_of challenge-store')[0]);
        expect(
          byKind(objs, 'StatefulSet')
            .map((s) => s.spec.template.spec.containers[0].image)
            .sort(),
        ).toEqual(['nats:2.10-alpine', 'postgres:16-alpine', 'redis:7-alpine']);
      }
    });

    it('points the chain-submitter at the anvil Service the script starts', () => {
      const anvil = parseAllDocuments(readFileSync(join(root, 'k8s', 'anvil.yaml'), 'utf8')).map(
        (d) => d.toJS() as K8sObject,
      );
      const svc = anvil.find((o) => o.kind === 'Service');
      const deploy = anvil.find((o) => o.kind === 'Deployment');
      expect(deploy?.spec.template.spec.containers[0].args).toEqual(
        expect.arrayContaining(['--hardfork', 'prague', '--host', '0.0.0.0']),
      );
      for (const { objs } of keepers) {
        const [cm] = byKind(objs, 'ConfigMap');
        expect(cm?.data?.CHAIN_SUBMITTER_RPC_URL).toBe(
          `http://${svc?.metadata.name}:${svc?.spec.ports[0].port}`,
        );
      }
    });
  });
});

describe('whitepay-keeper values', () => {
  const doc = parseDocument(readFileSync(join(chart, 'values.yaml'), 'utf8'));
  const schema = JSON.parse(readFileSync(join(chart, 'values.schema.json'), 'utf8'));

  // biome-ignore lint/suspicious/noExplicitAny: walking a JSON schema
  function resolveRef(s: any): any {
    return s?.$ref ? schema.$defs[s.$ref.replace('#/$defs/', '')] : s;
  }

  const DOC = /(^|\n)\s*-- /;

  it('documents every value with a comment and covers it in values.schema.json', () => {
    const problems: string[] = [];
    // biome-ignore lint/suspicious/noExplicitAny: yaml nodes and schema nodes
    const walk = (node: any, s: any, path: string, inheritedDoc: boolean) => {
      if (!isMap(node)) return;
      node.items.forEach((pair, idx) => {
        const key = isScalar(pair.key) ? String(pair.key.value) : '?';
        const p = path ? `${path}.${key}` : key;
        // helm-docs convention: a value is documented by a comment starting with `-- `;
        // a map without one is a group whose values are documented one by one.
        // The comment above the first value of a map is attached to the map itself.
        const { key: k, value: v } = pair as {
          key?: { commentBefore?: string };
          value?: { commentBefore?: string };
        };
        const own = isMap(v)
          ? (k?.commentBefore ?? '')
          : `${k?.commentBefore ?? ''}\n${v?.commentBefore ?? ''}`;
        const documented = DOC.test(own) || (idx === 0 && inheritedDoc);
        const sub = resolveRef(s?.properties?.[key]);
        if (!sub) problems.push(`${p}: not in values.schema.json`);
        if (!documented && isMap(pair.value) && pair.value.items.length > 0) {
          walk(pair.value, sub, p, DOC.test(pair.value.commentBefore ?? ''));
        } else if (!documented) {
          problems.push(`${p}: no comment`);
        }
      });
    };
    walk(
      doc.contents,
      schema,
      '',
      DOC.test(
        `${doc.commentBefore ?? ''}\n${(doc.contents as { commentBefore?: string } | null)?.commentBefore ?? ''}`,
      ),
    );
    expect(problems).toEqual([]);
  });
});
