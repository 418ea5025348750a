#!/usr/bin/env node
// Validates rendered Kubernetes manifests offline, in three layers:
//   1. schema: each document against the OpenAPI schema of its kind, through
//      the validators `kubernetes-models` (and its prometheus-operator models)
//      ship — types, required fields, enums, formats;
//   2. unknown fields: every document is written into a TypeScript file typed
//      with the same models and checked by `tsc` (object-literal excess
//      property checks catch misspelt or misplaced fields, like kubeconform
//      -strict);
//   3. policy: what this project requires of its own workloads — locked-down
//      security contexts, resources, probes, labels, selectors that select,
//      autoscalers that target a Deployment which leaves them the replicas.
// Usage: node scripts/validate-manifests.mjs [--no-types] FILE.yaml...
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const typecheck = !args.includes('--no-types');
const files = args.filter((a) => !a.startsWith('--'));
if (files.length === 0) {
  console.error('usage: validate-manifests.mjs [--no-types] FILE.yaml...');
  process.exit(2);
}

/** Module of the kubernetes-models class for an apiVersion/kind. */
function modelModule(apiVersion, kind) {
  if (apiVersion.startsWith('monitoring.coreos.com/')) {
    return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`;
  }
  return `kubernetes-models/${apiVersion}/${kind}`;
}

const errors = [];
const docs = [];
for (const file of files) {
  for (const d of parseAllDocuments(readFileSync(file, 'utf8'))) {
    if (d.errors.length > 0) {
      errors.push(`${file}: YAML: ${d.errors.map((e) => e.message).join('; ')}`);
      continue;
    }
    const obj = d.toJS();
    if (obj === null || obj === undefined) continue;
    docs.push({ file, obj, id: `${file}: ${obj.kind ?? '?'}/${obj.metadata?.name ?? '?'}` });
  }
}

// 1. schema
for (const { obj, id } of docs) {
  if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') {
    errors.push(`${id}: apiVersion and kind are required`);
    continue;
  }
  let Model;
  try {
    Model = (await import(modelModule(obj.apiVersion, obj.kind)))[obj.kind];
  } catch {
    errors.push(`${id}: no schema for ${obj.apiVersion} ${obj.kind}`);
    continue;
  }
  try {
    new Model(obj).validate();
  } catch (e) {
    errors.push(`${id}: ${e.message}`);
  }
}

// 3. policy
const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123Subdomain = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
// A bare Pod (the `helm test` hook) is held to the same rules as a Job's pod.
const podSpecOf = (o) =>
  o.kind === 'Pod'
    ? o.spec
    : ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(o.kind)
      ? o.spec?.template?.spec
      : undefined;
const podLabelsOf = (o) => (o.kind === 'Pod' ? o.metadata?.labels : o.spec?.template?.metadata?.labels);
const runsToCompletion = (o) => o.kind === 'Job' || o.kind === 'Pod';
const matches = (selector, labels) => Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);

for (const { obj, id } of docs) {
  const name = obj.metadata?.name ?? '';
  const nameOk = obj.kind === 'Service' ? dns1123Label.test(name) : dns1123Subdomain.test(name);
  if (!nameOk || name.length > (obj.kind === 'Service' ? 63 : 253)) errors.push(`${id}: invalid name`);
  const labels = obj.metadata?.labels ?? {};
  for (const l of ['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/managed-by']) {
    if (!labels[l]) errors.push(`${id}: label ${l} missing`);
  }
  const pod = podSpecOf(obj);
  if (!pod) continue;
  const podLabels = podLabelsOf(obj);
  if (!runsToCompletion(obj) && !matches(obj.spec.selector?.matchLabels, podLabels)) {
    errors.push(`${id}: selector does not match the pod template labels`);
  }
  const psc = pod.securityContext ?? {};
  if (psc.runAsNonRoot !== true) errors.push(`${id}: pod securityContext.runAsNonRoot must be true`);
  if (psc.seccompProfile?.type !== 'RuntimeDefault')
    errors.push(`${id}: pod seccompProfile must be RuntimeDefault`);
  if (pod.automountServiceAccountToken !== false)
    errors.push(`${id}: automountServiceAccountToken must be false`);
  for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
    const cid = `${id} container ${c.name}`;
    const sc = c.securityContext ?? {};
    if (sc.allowPrivilegeEscalation !== false) errors.push(`${cid}: allowPrivilegeEscalation must be false`);
    if (sc.readOnlyRootFilesystem !== true) errors.push(`${cid}: readOnlyRootFilesystem must be true`);
    if (sc.privileged === true) errors.push(`${cid}: privileged`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) errors.push(`${cid}: capabilities must drop ALL`);
    if (!c.resources?.requests || !c.resources?.limits?.memory) {
      errors.push(`${cid}: resources.requests and limits.memory are required`);
    }
    if (!/[:@]/.test(c.image ?? '')) errors.push(`${cid}: image without tag`);
  }
  if (obj.kind === 'Pod' && !['Never', 'OnFailure'].includes(pod.restartPolicy)) {
    errors.push(`${id}: a bare Pod must not restart forever (restartPolicy Never or OnFailure)`);
  }
  if (!runsToCompletion(obj)) {
    for (const c of pod.containers ?? []) {
      if (!c.readinessProbe || !c.livenessProbe) errors.push(`${id} container ${c.name}: probes required`);
    }
  }
}
const workloads = docs.filter(({ obj }) => podSpecOf(obj));
for (const { obj, id } of docs) {
  const selector =
    obj.kind === 'Service'
      ? obj.spec?.selector
      : obj.kind === 'PodDisruptionBudget'
        ? obj.spec?.selector?.matchLabels
        : undefined;
  if (!selector) continue;
  if (!workloads.some((w) => !runsToCompletion(w.obj) && matches(selector, podLabelsOf(w.obj)))) {
    errors.push(`${id}: selector matches no workload in the same render`);
  }
}
// Autoscalers: each scales a Deployment of the same render (and file), which
// then must not set spec.replicas (every apply would reset the HPA's count);
// a Deployment without replicas must have an autoscaler.
const scaled = new Set();
for (const { obj, id, file } of docs) {
  if (obj.kind !== 'HorizontalPodAutoscaler') continue;
  const ref = obj.spec?.scaleTargetRef ?? {};
  const target = docs.find(
    (d) => d.file === file && d.obj.kind === ref.kind && d.obj.metadata?.name === ref.name,
  );
  if (ref.kind !== 'Deployment' || ref.apiVersion !== 'apps/v1' || !target) {
    errors.push(`${id}: scaleTargetRef is no apps/v1 Deployment of the same render`);
    continue;
  }
  scaled.add(target.id);
  if (target.obj.spec?.replicas !== undefined)
    errors.push(`${target.id}: sets replicas but HorizontalPodAutoscaler/${obj.metadata?.name} scales it`);
  if ((obj.spec.minReplicas ?? 1) > obj.spec.maxReplicas) errors.push(`${id}: minReplicas > maxReplicas`);
  if (!(obj.spec.metrics ?? []).length) errors.push(`${id}: no metrics`);
}
for (const { obj, id } of docs) {
  if (obj.kind === 'Deployment' && obj.spec?.replicas === undefined && !scaled.has(id)) {
    errors.push(`${id}: no replicas and no HorizontalPodAutoscaler`);
  }
}

// 2. unknown fields, through tsc
if (typecheck && docs.length > 0) {
  const dir = join(root, 'node_modules/.cache/whitepay-helm/typecheck');
  mkdirSync(dir, { recursive: true });
  const imports = new Map();
  const body = [];
  docs.forEach(({ obj, id }, i) => {
    if (typeof obj.kind !== 'string' || typeof obj.apiVersion !== 'string') return;
    const mod = modelModule(obj.apiVersion, obj.kind);
    if (!imports.has(mod)) imports.set(mod, `T${imports.size}`);
    body.push({ id, line: `export const d${i}: ${imports.get(mod)} = ${JSON.stringify(obj)};` });
  });
  const header = [...imports].map(([mod, alias]) => {
    const kind = mod.slice(mod.lastIndexOf('/') + 1);
    return `import type { I${kind} as ${alias} } from '${mod}';`;
  });
  writeFileSync(join(dir, 'manifests.ts'), `${[...header, ...body.map((b) => b.line)].join('\n')}\n`);
  // tsc reports `manifests.ts(LINE,COL): ...`; one document per line after the imports.
  const idOfLine = (n) => body[n - header.length - 1]?.id ?? `line ${n}`;
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: [],
      },
      files: ['manifests.ts'],
    }),
  );
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', dir], { stdio: 'pipe' });
  } catch (e) {
    const out = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim().split('\n');
    for (const l of out) {
      const m = /manifests\.ts\((\d+),\d+\): error TS\d+: (.*)$/.exec(l);
      errors.push(m ? `${idOfLine(Number(m[1]))}: ${m[2]}` : `tsc: ${l}`);
    }
  }
}

if (errors.length > 0) {
  for (const e of errors) console.error(`  ✗ ${e}`);
  console.error(`${errors.length} problem(s) in ${docs.length} manifests`);
  process.exit(1);
}
console.log(`  ✓ ${docs.length} manifests valid (${files.join(', ')})`);
